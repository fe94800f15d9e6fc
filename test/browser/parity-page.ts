// Browser entry for the WebGL2 parity test, bundled by esbuild (test/browser/browser-parity.ts):
// builds the gpujs backend in the requested GPU.js mode, runs the shared parity cases, then
// trains cnn2 for 20 steps and resnet18 for 2 with the tensors on the GPU (and on the reference
// backend, for the losses). The result lands on `window.__result` for playwright to read.
import { GpujsBackend } from '../../src/tensor/backends/gpujs/gpujs-backend.js'
import type { GpujsMode } from '../../src/tensor/backends/gpujs/modes.js'
import { registerBackend, setBackend } from '../../src/tensor/backends/registry.js'
import { runParitySuite } from '../gl/parity-cases.js'
import { trainResidency } from '../gl/cnn2-training.js'

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
    registerBackend('under-test', () => backend)
    setBackend('under-test')
    const residency = trainResidency('cnn2', 20, 2)
    const resnetStart = performance.now()
    const resnetResidency = trainResidency('resnet18', 2, 2)
    const resnetMs = Math.round(performance.now() - resnetStart)
    setBackend('reference')
    const referenceLosses = trainResidency('cnn2', 20, 2).losses
    const resnetReferenceLosses = trainResidency('resnet18', 2, 2).losses
    await backend.disposeAsync()
    w.__result = { requested: mode, info, results, ms, stats: backend.stats(), kernelFallbacks: after.details?.['kernelFallbacks'], residency, referenceLosses, resnetResidency, resnetReferenceLosses, resnetMs }
  } catch (e) {
    w.__result = { requested: mode, error: String((e as Error).stack ?? e) }
  }
}
// After 'load', so page.goto returns before the long synchronous run starts.
setTimeout(() => void main(), 0)
