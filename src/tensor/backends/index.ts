// Registers every backend at import: 'reference', 'wasm' (the default on every machine:
// SIMD kernels on all cores) and the GPU.js family ('gpujs', 'gpujs-<mode>'), which is used
// only when chosen, because without a hardware GPU every GPU.js mode is slower than 'wasm'.
import { registerWasmBackend } from './wasm/index.js'
import { registerGpujsBackend } from './gpujs/index.js'
import { setDefaultBackend } from './registry.js'

registerWasmBackend()
registerGpujsBackend()
setDefaultBackend(
  'wasm',
  'default: WebAssembly SIMD kernels on all cores (float64 runs on the reference kernels); GPU.js runs only when ' +
    "chosen (setBackend('gpujs') or PRIORGRAD_BACKEND=gpujs), as without a hardware GPU every GPU.js mode is a slower software path",
)

export { registerWasmBackend, WasmBackend, setWasmThreading, type WasmBackendOptions } from './wasm/index.js'
export { registerGpujsBackend, gpujsIsHardwareAccelerated, probeGpujs, GpujsBackend, type GpujsProbe } from './gpujs/index.js'
