// Child process for the headless-GL parity test: it must run under an X display
// (`xvfb-run -a node --import tsx test/gl/parity-headlessgl.ts [mode]`), because without one
// GPU.js silently falls back to WebAssembly. Prints one JSON line: the mode GPU.js really
// used (from its kernel class), the backend's info(), stats and every parity result.
import { GPU } from 'gpu.js'
import { GpujsBackend } from '../../src/tensor/backends/gpujs/gpujs-backend.js'
import { modeOfKernelClass, type GpujsMode } from '../../src/tensor/backends/gpujs/modes.js'
import { compare, poolGeom, randF32, runParitySuite } from './parity-cases.js'
import { ReferenceBackend } from '../../src/tensor/backends/reference.js'
import { Generator } from '../../src/tensor/generator.js'
import { registerBackend, setBackend } from '../../src/tensor/backends/registry.js'
import { trainResidency } from './cnn2-training.js'

// An input of 4200^2 > 2^24 elements fits a 16384^2 texture but not float32-exact indexing:
// it must run on the reference kernel, with one warning naming the kernel and the limit.
function checkIndexLimit(backend: GpujsBackend): { warnings: string[]; ok: boolean; maxAbsErr: number } {
  const g = poolGeom(1, 1, 4200, 4200, 2, 2, 0)
  const x = randF32(4200 * 4200, new Generator('limit'))
  const got = new Float32Array(2100 * 2100)
  const want = new Float32Array(got.length)
  const warnings: string[] = []
  const warn = console.warn
  console.warn = (...a: unknown[]) => { warnings.push(a.map(String).join(' ')) }
  try {
    backend.avgPool2d(x, got, g)
    backend.avgPool2d(x, got, g)
  } finally {
    console.warn = warn
  }
  new ReferenceBackend().avgPool2d(x, want, g)
  const r = compare('avgPool2d past 2^24', got, want)
  return { warnings, ok: r.ok, maxAbsErr: r.maxAbsErr }
}

const mode = (process.argv[2] ?? 'headlessgl') as GpujsMode
const out: Record<string, unknown> = { requested: mode, display: process.env['DISPLAY'] ?? null }
try {
  // What GPU.js's own auto mode picks in this process, independent of the backend.
  const auto = new GPU()
  out['autoKernelClass'] = auto.Kernel?.name
  out['autoMode'] = modeOfKernelClass(auto.Kernel)
  await auto.destroy()

  const backend = new GpujsBackend({ mode })
  out['info'] = backend.info()
  const t0 = performance.now()
  out['results'] = runParitySuite(backend)
  out['ms'] = Math.round(performance.now() - t0)
  out['limit'] = checkIndexLimit(backend)
  out['stats'] = backend.stats()
  // Kernel classes after the runs: a kernel GPU.js swapped for its CPU fallback shows here.
  out['kernelFallbacks'] = backend.info().details?.['kernelFallbacks']
  // Whole training steps with the tensors on the device: what each step moves, and the losses
  // against the reference backend's.
  registerBackend('under-test', () => backend)
  setBackend('under-test')
  out['residency'] = trainResidency('cnn2', 20, 2)
  out['resnetResidency'] = trainResidency('resnet18', 2, 2)
  setBackend('reference')
  out['referenceLosses'] = trainResidency('cnn2', 20, 2).losses
  out['resnetReferenceLosses'] = trainResidency('resnet18', 2, 2).losses
  await backend.disposeAsync()
} catch (e) {
  out['error'] = String((e as Error).stack ?? e)
}
console.log(`PARITY_JSON ${JSON.stringify(out)}`)
// NOTE: exit explicitly; a GL context or worker left behind would keep the child alive.
process.exit(0)
