// Registers every backend at import: 'reference', 'wasm' (the default on every machine:
// SIMD kernels on all cores) and the GPU.js family ('gpujs', 'gpujs-<mode>'), which is used
// only when chosen, because without a hardware GPU every GPU.js mode is slower than 'wasm'.
import { registerWasmBackend } from './wasm/index.js'
import { registerGpujsBackend } from './gpujs/index.js'

registerWasmBackend()
registerGpujsBackend()

export { registerWasmBackend, WasmBackend, type WasmBackendOptions } from './wasm/index.js'
export { registerGpujsBackend, gpujsIsHardwareAccelerated, probeGpujs, GpujsBackend, type GpujsProbe } from './gpujs/index.js'
