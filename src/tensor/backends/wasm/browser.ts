// Entry point of the WebAssembly SIMD backend in a page: registered as 'wasm' (the page chooses
// it with setBackend('wasm'); 'reference' stays the default, as compiling WebAssembly needs the
// page's CSP to allow 'wasm-unsafe-eval'). One thread unless the page is cross-origin isolated,
// the backend runs in a Web Worker and the page serves the helper script (./threads-browser.ts).
import { registerBackend } from '../registry.js'
import { WasmBackend, setWasmThreading, type WasmBackendOptions } from './wasm-backend.js'
import { browserThreading } from './threads-browser.js'

// Without a helper script a page runs one thread; browserThreading() says which condition failed.
setWasmThreading(browserThreading())

/**
 * Register the 'wasm' backend (a page: not the default; pass `threading: browserThreading(url)` for threads).
 * @example registerWasmBackend({ threading: browserThreading(new URL('./wasm-thread.js', location.href)) }); setBackend('wasm')
 */
export function registerWasmBackend(options: WasmBackendOptions = {}): void {
  registerBackend('wasm', () => new WasmBackend(options))
}
