// Entry point of the WebAssembly SIMD backend in Node: threads are worker_threads, and 'wasm' is
// the default backend. (A page uses ./browser.ts instead.)
import { registerBackend, setDefaultBackend } from '../registry.js'
import { WasmBackend, setWasmThreading, type WasmBackendOptions } from './wasm-backend.js'
import { nodeThreading } from './threads-node.js'

export { WasmBackend, setWasmThreading, type WasmBackendOptions } from './wasm-backend.js'
export type { WasmThreading, SpawnThread, ThreadInit, ThreadHandle } from './threads.js'

setWasmThreading(nodeThreading())

/**
 * Register the 'wasm' backend and make it the default (float32 kernels ~20-50x faster than the
 * reference loops; float64 still runs on the reference kernels).
 * @example registerWasmBackend(); setBackend('wasm')
 */
export function registerWasmBackend(options: WasmBackendOptions = {}): void {
  registerBackend('wasm', () => new WasmBackend(options))
  setDefaultBackend('wasm', 'default: WebAssembly SIMD kernels on all cores (float64 falls back to reference)')
}
