// VGG11 for CIFAR (kuangliu/pytorch-cifar vgg.py): cfg [64,M,128,M,256,256,M,512,512,M,512,512,M],
// each number v = Conv2d(c, v, 3, pad 1, bias) -> BatchNorm2d(v) -> ReLU, each M = MaxPool2d(2, 2);
// `features` ends with AvgPool2d(1, 1) (an identity kept so indices match), then Linear(512, numClasses).
import type { Tensor } from '../../tensor/tensor.js'
import { BatchNorm2d } from '../layers/batchnorm.js'
import { ReLU } from '../layers/activation.js'
import { Sequential } from '../layers/container.js'
import { Conv2d } from '../layers/conv.js'
import { Linear } from '../layers/linear.js'
import { AvgPool2d, MaxPool2d } from '../layers/pooling.js'
import { Module } from '../module.js'
import { layerOptions, type ModelOptions } from './options.js'

/**
 * VGG-11's layer list (configuration 'A' of Simonyan & Zisserman): conv widths, 'M' = 2x2 max-pool.
 * @example new VGG(VGG11_CFG)
 */
export const VGG11_CFG: (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M']

/** VGG with batch norm from a cfg list. @example new VGG(VGG11_CFG, { numClasses: 100 }) */
export class VGG extends Module {
  readonly features: Sequential
  readonly classifier: Linear

  constructor(cfg: (number | 'M')[], options: ModelOptions = {}) {
    super()
    const lo = layerOptions(options, this.constructor.name)
    const { dtype } = lo
    const features = new Sequential()
    let c = options.inChannels ?? 3
    for (const v of cfg) {
      if (v === 'M') {
        features.append(new MaxPool2d(2, 2))
      } else {
        features.append(new Conv2d(c, v, 3, { padding: 1, ...lo }))
        features.append(new BatchNorm2d(v, dtype ? { dtype } : {}))
        features.append(new ReLU())
        c = v
      }
    }
    features.append(new AvgPool2d(1, 1))
    this.features = this.registerModule('features', features)
    // NOTE: 512 = c * 1 * 1 after five pools of a 32x32 input, as the reference; other sizes need a matching flatten.
    this.classifier = this.registerModule('classifier', new Linear(c, options.numClasses ?? 10, lo))
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1))
  }
}

/** VGG11 with batch norm (9,231,114 parameters for 10 classes). @example vgg11({ numClasses: 10 }) */
export const vgg11 = (options: ModelOptions = {}): VGG => new VGG(VGG11_CFG, options)
