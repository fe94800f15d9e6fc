// Entry point of the WebAssembly SIMD backend: registers it as 'wasm' and makes it the default.
import { registerBackend, setDefaultBackend } from '../registry.js'
import { WasmBackend } from './wasm-backend.js'

export { WasmBackend, type WasmBackendOptions } from './wasm-backend.js'

/**
 * Register the 'wasm' backend and make it the default (float32 kernels ~20-50x faster than the
 * reference loops; float64 still runs on the reference kernels).
 * @example registerWasmBackend(); setBackend('wasm')
 */
export function registerWasmBackend(): void {
  registerBackend('wasm', () => new WasmBackend())
  setDefaultBackend('wasm', 'default: WebAssembly SIMD kernels on all cores (float64 falls back to reference)')
}
