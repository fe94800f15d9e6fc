// priorgrad.nn: Module, layers, init, losses, the model zoo, and F (the functional forms).
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js'
export * from './layers/index.js'
export * as init from './init.js'
export { CrossEntropyLoss, NLLLoss, MSELoss } from './losses.js'
export * from './models/index.js'
export * as F from './functional.js'
