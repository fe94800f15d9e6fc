// DenseNet121 for CIFAR (kuangliu/pytorch-cifar densenet.py), growth 32, blocks [6, 12, 24, 16],
// reduction 0.5: conv3x3(C, 64, no bias) [conv1] -> dense1 -> trans1 -> dense2 -> trans2 -> dense3
// -> trans3 -> dense4 -> BN [bn] -> ReLU -> avgPool2d(4) -> Linear(1024, numClasses) [linear].
// Bottleneck(x) = cat([conv2(relu(bn2(conv1(relu(bn1(x)))))), x], 1): new features first.
// Transition(x) = avgPool2d(conv1x1(relu(bn(x))), 2).
import type { Tensor } from '../../tensor/tensor.js'
import { cat } from '../../autograd/functional.js'
import { avgPool2d } from '../functional.js'
import type { BatchNorm2d } from '../layers/batchnorm.js'
import { Sequential } from '../layers/container.js'
import { Conv2d } from '../layers/conv.js'
import { Linear, type LayerOptions } from '../layers/linear.js'
import { Module } from '../module.js'
import { layerOptions, type ModelOptions } from './options.js'
import { batchNorm2d, conv3x3 } from './resnet.js'

/**
 * DenseNet bottleneck layer: adds `growth` channels to its input.
 * @example new DenseBottleneck(64, 32).forward(x) // [N, 96, H, W]
 */
export class DenseBottleneck extends Module {
  readonly bn1: BatchNorm2d
  readonly conv1: Conv2d
  readonly bn2: BatchNorm2d
  readonly conv2: Conv2d

  constructor(inPlanes: number, growth: number, lo: LayerOptions = {}) {
    super()
    this.bn1 = this.registerModule('bn1', batchNorm2d(inPlanes, lo))
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, 4 * growth, 1, { bias: false, ...lo }))
    this.bn2 = this.registerModule('bn2', batchNorm2d(4 * growth, lo))
    this.conv2 = this.registerModule('conv2', conv3x3(4 * growth, growth, 1, lo))
  }

  override forward(x: Tensor): Tensor {
    const out = this.conv1.forward(this.bn1.forward(x).relu())
    return cat([this.conv2.forward(this.bn2.forward(out).relu()), x], 1)
  }
}

/** Between dense blocks: BN-ReLU-conv1x1 to outPlanes, then halve the resolution. @example new Transition(256, 128) */
export class Transition extends Module {
  readonly bn: BatchNorm2d
  readonly conv: Conv2d

  constructor(inPlanes: number, outPlanes: number, lo: LayerOptions = {}) {
    super()
    this.bn = this.registerModule('bn', batchNorm2d(inPlanes, lo))
    this.conv = this.registerModule('conv', new Conv2d(inPlanes, outPlanes, 1, { bias: false, ...lo }))
  }

  override forward(x: Tensor): Tensor {
    return avgPool2d(this.conv.forward(this.bn.forward(x).relu()), 2)
  }
}

/** The shape of a DenseNet: bottleneck blocks per stage, growth rate k, and transition compression. */
export interface DenseNetConfig {
  /** Dense bottleneck blocks in each of the four stages, e.g. [6, 12, 24, 16] for DenseNet-121. */
  nblocks: [number, number, number, number]
  /** Channels each block adds (k in Huang et al. 2017). */
  growth: number
  /** Fraction of channels a transition keeps (theta, 0.5 in DenseNet-BC). */
  reduction: number
}

/**
 * DenseNet-BC (Huang et al. 2017) for 32x32 inputs: each block's output is concatenated to its input.
 * @example new DenseNet({ nblocks: [6, 12, 24, 16], growth: 32, reduction: 0.5 })
 */
export class DenseNet extends Module {
  readonly conv1: Conv2d
  readonly stages: [Sequential, Transition | null][] = []
  readonly bn: BatchNorm2d
  readonly linear: Linear

  constructor(config: DenseNetConfig, options: ModelOptions = {}) {
    super()
    const lo = layerOptions(options, this.constructor.name)
    const { growth } = config
    let planes = 2 * growth
    this.conv1 = this.registerModule('conv1', new Conv2d(options.inChannels ?? 3, planes, 3, { padding: 1, bias: false, ...lo }))
    config.nblocks.forEach((n, i) => {
      const dense = new Sequential()
      for (let j = 0; j < n; j++) dense.append(new DenseBottleneck(planes + j * growth, growth, lo))
      this.registerModule(`dense${i + 1}`, dense)
      planes += n * growth
      let trans: Transition | null = null
      if (i < 3) {
        const outPlanes = Math.floor(planes * config.reduction)
        trans = this.registerModule(`trans${i + 1}`, new Transition(planes, outPlanes, lo))
        planes = outPlanes
      }
      this.stages.push([dense, trans])
    })
    this.bn = this.registerModule('bn', batchNorm2d(planes, lo))
    this.linear = this.registerModule('linear', new Linear(planes, options.numClasses ?? 10, lo))
  }

  override forward(x: Tensor): Tensor {
    let out = this.conv1.forward(x)
    for (const [dense, trans] of this.stages) {
      out = dense.forward(out)
      if (trans) out = trans.forward(out)
    }
    // NOTE: avgPool2d(4) as the reference: a global average pool for 32x32 inputs.
    return this.linear.forward(avgPool2d(this.bn.forward(out).relu(), 4).flatten(1))
  }
}

/** DenseNet121 (6,956,298 parameters for 10 classes). @example densenet121({ numClasses: 10 }) */
export const densenet121 = (options: ModelOptions = {}): DenseNet =>
  new DenseNet({ nblocks: [6, 12, 24, 16], growth: 32, reduction: 0.5 }, options)
