// priorgrad in a browser: the entry a bundler picks through package.json's "browser" condition.
// The same API as src/index.ts for what runs in a page (./core.ts: tensors, autograd, layers, the
// zoo, optimizers, the regularizers, in-memory datasets, plots, the WebAssembly backend) and none
// of what needs files (checkpoints, safetensors and IDX readers, MNIST and CIFAR loaders).
// Nothing here imports `node:`; test/browser-entry.test.ts bundles it for the browser and trains
// in Chromium under a strict Content-Security-Policy. Registered at import: 'reference' (the
// default), 'gpujs' (GPU.js picks WebGL2 where the page has it) and 'gpujs-<mode>', and 'wasm'
// (WebAssembly SIMD; the page's CSP must allow 'wasm-unsafe-eval'). The wasm backend's memory is
// a plain fixed-size one unless the page is cross-origin isolated, and it runs on one thread
// unless it also runs in a Web Worker given browserThreading(url): see
// src/tensor/backends/wasm/threads-browser.ts.
import { registerGpujsBackend } from './tensor/backends/gpujs/index.js'
import { registerWasmBackend } from './tensor/backends/wasm/browser.js'

registerGpujsBackend()
registerWasmBackend()

export * from './core.js'
export { registerWasmBackend } from './tensor/backends/wasm/browser.js'
