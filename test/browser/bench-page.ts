// Browser entry for bench/gpujs.ts: times GPU.js's webgl2 mode on the benchmark tasks in
// headless Chromium and puts the rows on `window.__result`.
import { benchGpujsModes } from '../../bench/gpujs-tasks.js'

const w = globalThis as unknown as { __result?: unknown }
// After 'load', so page.goto returns before the long synchronous run starts.
setTimeout(() => {
  try {
    w.__result = { rows: benchGpujsModes(['webgl2']) }
  } catch (e) {
    w.__result = { error: String((e as Error).stack ?? e) }
  }
}, 0)
