// priorgrad's public entry (Node): everything of ./core.ts, which a page gets too (./browser.ts),
// and what needs Node: the WebAssembly backend's registration (threads on worker_threads; it is
// the default, and GPU.js is registered beside it), checkpoints and safetensors files, and the IDX, MNIST and CIFAR readers.
export * from './core.js'
export type { I64Mode } from './io/safetensors-dtype.js'
export { registerWasmBackend } from './tensor/backends/index.js'
export { saveCheckpoint, loadCheckpoint, saveStateDict, loadStateDict, CheckpointError, CHECKPOINT_VERSION, type CheckpointModel, type CheckpointOptimizer, type CheckpointParts, type LoadStateDictFileOptions } from './nn/checkpoint.js'
export { parseIdx, readIdxFile, IDX_TYPES, type IdxArray, type IdxData, type IdxDtype } from './data/idx.js'
export { loadMnist, mnistDataDir, MNIST_FILES, type MnistOptions, type Split } from './data/mnist.js'
export { loadCifar10, loadCifar100, type CifarOptions, type Cifar100Options } from './data/cifar.js'
export * from './io/index.js'
