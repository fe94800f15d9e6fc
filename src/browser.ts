// priorgrad in a browser: the entry a bundler picks through package.json's "browser" condition.
// The same API as src/index.ts for what runs in a page (./core.ts: tensors, autograd, layers, the
// zoo, optimizers, the regularizers, in-memory datasets, plots) on the reference backend and
// GPU.js (WebGL2; `setBackend('gpujs')`), and none of what needs Node: files (checkpoints, safetensors
// and IDX readers, MNIST and CIFAR loaders), and the WebAssembly backend, whose resident arrays
// are views of one shared, growable WebAssembly memory (a page has SharedArrayBuffer only when
// crossOriginIsolated) and whose threads are Node worker_threads. Nothing here imports `node:`;
// test/browser-entry.test.ts bundles it for the browser and trains in Chromium under a strict
// Content-Security-Policy. 'reference' is the default backend; 'gpujs' (GPU.js picks WebGL2 where
// the page has it) and 'gpujs-<mode>' are registered at import.
import { registerGpujsBackend } from './tensor/backends/gpujs/index.js'

registerGpujsBackend()

export * from './core.js'
