// What priorgrad exports everywhere: src/index.ts (Node) and src/browser.ts (a page) both re-export
// all of this and add what only they have.
export { Tensor, type NestedArray, type TensorLike } from './tensor/tensor.js'
export type { DType, TypedArray } from './tensor/dtype.js'
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, eye, rand, randn, randint } from './tensor/creation.js'
export type { CreateOptions, RandomOptions, NestedNumbers, SizeArgs } from './tensor/creation.js'
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from './tensor/generator.js'
export {
  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, reciprocal, square, sign, clamp,
  maximum, minimum, where, eq, gt, lt, ge, le, cast, clone,
  sum, mean, variance, max, min, argmax, argmin, logsumexp, softmax, logSoftmax, matmul,
  reshape, flatten, transpose, permute, unsqueeze, squeeze, expand, cat, stack, narrow, indexSelect, gather, pad, sumToShape,
  type ValuesIndices,
} from './autograd/functional.js'
export { noGrad, isGradEnabled } from './autograd/no-grad.js'
export { toDot, type BackwardOptions } from './autograd/graph.js'
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js'
export { apply, type OpDef } from './autograd/op.js'
export { Context } from './autograd/node.js'
export { opRegistry } from './autograd/registry.js'
export type { Node } from './autograd/node.js'
export type { GradcheckWorst } from './autograd/gradcheck.js'
export type { Shape } from './tensor/shape.js'
export type { Factory as BackendFactory } from './tensor/backends/registry.js'
export type { StateSpec } from './optim/optimizer.js'
export type { AdamState } from './optim/adam.js'
export type { SGDState } from './optim/sgd.js'
/** Layers and losses as functions, as torch.nn.functional; the layer classes call these. */
export * as F from './nn/functional.js'
export type { AdamUpdate, SgdUpdate, Backend, BackendInfo, BinaryOp, Conv2dGeometry, GatherGeometry, Pool2dGeometry, RegionCopy, MatmulShape, FloatArray, UnaryOp } from './tensor/backends/backend.js'
export type { PriorPasses, PriorPassesInput, PassBuffers } from './tensor/backends/prior-passes.js'
export type { Broadcast } from './tensor/shape.js'
export { setBackend, getBackend, getBackendInfo, backendStats, listBackends, registerBackend, disposeBackends } from './tensor/backends/registry.js'
export { tidy, keep } from './tensor/tidy.js'
export { registerGpujsBackend, gpujsIsHardwareAccelerated, probeGpujs, GpujsBackend, type GpujsProbe } from './tensor/backends/gpujs/index.js'
export { ImageDataset, type Dataset, type Sample, type ChannelStats, type ImageDatasetInit } from './data/dataset.js'
export { normalize, randomCrop, randomHorizontalFlip, type ImageTransform } from './data/transforms.js'
export { DataLoader, type DataLoaderOptions, type Batch } from './data/dataloader.js'
export { statsSince, type BackendStats } from './tensor/backends/counters.js'
export { ReferenceBackend } from './tensor/backends/reference.js'
export { WasmBackend, setWasmThreading, type WasmBackendOptions } from './tensor/backends/wasm/wasm-backend.js'
export type { WasmThreading, SpawnThread, ThreadInit, ThreadHandle } from './tensor/backends/wasm/threads.js'
export type { WasmMemory, WasmModule } from './tensor/backends/wasm/wasm-api.js'
export { browserThreading, wasmThreadScript } from './tensor/backends/wasm/threads-browser.js'
export type { GpujsBackendOptions, GpujsStats, GpujsMode, GpujsRunMode } from './tensor/backends/gpujs/index.js'
export * from './nn/index.js'
export { Optimizer, SGD, Adam, AdamW, LRScheduler, StepLR, CosineAnnealingLR } from './optim/index.js'
export type { OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState, FloatBuffer, StepOptions, SavedGroup, SGDOptions, AdamOptions, SchedulerStateDict, LrOwner } from './optim/index.js'
export * from './plot/index.js'
/** The paper's dynamic informative-prior regularizer, its L1/L2 baselines, projected cross-entropy, weight metrics and the bounds experiment. */
export * as regularizers from './regularizers/index.js'
export { DynamicPriorRegularizer, L1, L2, ProjectedCrossEntropy, weightStats, weightDensity, meanAbsWeight, globalL2Norm, boundsExperiment } from './regularizers/index.js'
