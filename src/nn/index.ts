// priorgrad.nn: Module, layers, init, losses, the model zoo, and F (the functional forms).
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js'
export * from './layers/index.js'
/** In-place weight initialisation (torch.nn.init): Kaiming, Xavier, uniform, normal, constant. */
export * as init from './init.js'
export { CrossEntropyLoss, NLLLoss, MSELoss } from './losses.js'
export * from './models/index.js'
/** Layers and losses as functions, as torch.nn.functional; the layer classes call these. */
export * as F from './functional.js'
