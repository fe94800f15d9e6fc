// The model zoo: the paper's networks by name, so experiments can say `createModel('resnet18', ...)`.
import type { Module } from '../module.js'
import type { ModelOptions } from './options.js'
import { mlp } from './mlp.js'
import { cnn2 } from './cnn2.js'
import { vgg11 } from './vgg.js'
import { resnet18 } from './resnet.js'
import { senet18 } from './senet.js'
import { densenet121 } from './densenet.js'

export { MLP, mlp } from './mlp.js'
export { CNN2, cnn2 } from './cnn2.js'
export { VGG, VGG11_CFG, vgg11 } from './vgg.js'
export { BasicBlock, ResNet, resnet18, type BlockFactory } from './resnet.js'
export { PreActSEBlock, senet18 } from './senet.js'
export { DenseBottleneck, DenseNet, Transition, densenet121, type DenseNetConfig } from './densenet.js'
export type { ModelOptions } from './options.js'

/** Every zoo factory by name. @example models.resnet18({ numClasses: 10 }) */
export const models = { mlp, cnn2, vgg11, resnet18, senet18, densenet121 } as const

/** The names createModel accepts. */
export type ModelName = keyof typeof models

/**
 * Build a zoo model by name; unknown names fail with the list of valid ones.
 * @example const model = createModel('cnn2', { inChannels: 3, inputSize: 32 })
 */
export function createModel(name: string, options: ModelOptions = {}): Module {
  if (!Object.prototype.hasOwnProperty.call(models, name)) {
    throw new Error(`createModel: unknown model '${name}'; valid names are ${Object.keys(models).join(', ')}`)
  }
  return models[name as ModelName](options)
}
