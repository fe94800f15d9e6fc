// Browser entry for the WebGL2 parity test, bundled by esbuild (test/browser/browser-parity.ts):
// builds the gpujs backend in the requested GPU.js mode and runs the shared parity cases.
// The result lands on `window.__result` for playwright to read.
import { GpujsBackend } from '../../src/tensor/backends/gpujs/gpujs-backend.js'
import type { GpujsMode } from '../../src/tensor/backends/gpujs/modes.js'
import { runParitySuite } from '../gl/parity-cases.js'

const w = globalThis as unknown as { __result?: unknown; __parityMode?: GpujsMode }
async function main(): Promise<void> {
  const mode = w.__parityMode ?? 'webgl2'
  try {
    const backend = new GpujsBackend({ mode })
    const info = backend.info()
    const t0 = performance.now()
    const results = runParitySuite(backend)
    const ms = Math.round(performance.now() - t0)
    const after = backend.info()
    await backend.disposeAsync()
    w.__result = { requested: mode, info, results, ms, stats: backend.stats(), kernelFallbacks: after.details?.['kernelFallbacks'] }
  } catch (e) {
    w.__result = { requested: mode, error: String((e as Error).stack ?? e) }
  }
}
// After 'load', so page.goto returns before the long synchronous run starts.
setTimeout(() => void main(), 0)
