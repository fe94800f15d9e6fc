// Resident memory of a cnn2 training run at batch 32, in a fresh process so nothing else
// the bench did counts: `npx tsx bench/memory.ts [steps]` prints one JSON line.
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { cnn2Memory } from './train-steps.js'

export interface MemoryReport {
  steps: number
  samplesMb: number[]
  peakMb: number
  /** the wasm backend's WebAssembly.Memory, every 50 steps (empty on other backends) */
  wasmMemoryMb: number[]
  /** backendStats().liveBuffers after a step, every 50 steps (weights and optimizer state moved with model.to() count) */
  liveBuffers: number[]
}

/** Run the measurement in a child process and return its report. */
export function measureCnn2Memory(steps: number): MemoryReport {
  const script = fileURLToPath(import.meta.url)
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, String(steps)], { encoding: 'utf8', timeout: 1_800_000 })
  if (r.status !== 0) throw new Error(`bench/memory: child failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as MemoryReport
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const steps = Number(process.argv[2] ?? 1000)
  console.log(JSON.stringify({ steps, ...cnn2Memory(steps) }))
  process.exit(0)
}
