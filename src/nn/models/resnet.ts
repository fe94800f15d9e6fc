// ResNet18 for CIFAR (kuangliu/pytorch-cifar layout, post-activation BasicBlock):
//   stem conv3x3(C, 64, no bias) [conv1] -> BN [bn1] -> ReLU (no max pool);
//   layer1..layer4 of BasicBlocks, widths 64, 128, 256, 512, first-block strides 1, 2, 2, 2;
//   avgPool2d(4) (global at 32x32) -> flatten -> Linear(512, numClasses) [linear].
// BasicBlock: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), where shortcut is an
// empty Sequential (identity) or conv1x1(stride) + BN when the shape changes.
import type { Tensor } from '../../tensor/tensor.js'
import { avgPool2d } from '../functional.js'
import { BatchNorm2d } from '../layers/batchnorm.js'
import { Sequential } from '../layers/container.js'
import { Conv2d } from '../layers/conv.js'
import { Linear, type LayerOptions } from '../layers/linear.js'
import { Module } from '../module.js'
import { layerOptions, type ModelOptions } from './options.js'

/** 3x3 convolution, padding 1, no bias: the building brick of every block. */
export const conv3x3 = (cin: number, cout: number, stride: number, lo: LayerOptions): Conv2d =>
  new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, ...lo })

export const batchNorm2d = (c: number, lo: LayerOptions): BatchNorm2d => new BatchNorm2d(c, lo.dtype ? { dtype: lo.dtype } : {})

/**
 * The post-activation residual block of ResNet18/34.
 * @example new BasicBlock(64, 128, 2) // halves the resolution, conv1x1+BN shortcut
 */
export class BasicBlock extends Module {
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly conv2: Conv2d
  readonly bn2: BatchNorm2d
  readonly shortcut: Sequential

  constructor(inPlanes: number, planes: number, stride = 1, lo: LayerOptions = {}) {
    super()
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride, lo))
    this.bn1 = this.registerModule('bn1', batchNorm2d(planes, lo))
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, 1, lo))
    this.bn2 = this.registerModule('bn2', batchNorm2d(planes, lo))
    const shortcut = new Sequential()
    if (stride !== 1 || inPlanes !== planes) {
      shortcut.append(new Conv2d(inPlanes, planes, 1, { stride, bias: false, ...lo })).append(batchNorm2d(planes, lo))
    }
    this.shortcut = this.registerModule('shortcut', shortcut)
  }

  override forward(x: Tensor): Tensor {
    const out = this.bn1.forward(this.conv1.forward(x)).relu()
    return this.bn2.forward(this.conv2.forward(out)).add(this.shortcut.forward(x)).relu()
  }
}

/** A block constructor as the ResNet skeleton calls it. */
export type BlockFactory = (inPlanes: number, planes: number, stride: number, lo: LayerOptions) => Module

/**
 * The kuangliu ResNet/SENet skeleton: stem, four stages of blocks, global pool, linear.
 * @example new ResNet((i, p, s, lo) => new BasicBlock(i, p, s, lo), [2, 2, 2, 2])
 */
export class ResNet extends Module {
  readonly conv1: Conv2d
  readonly bn1: BatchNorm2d
  readonly layer1: Sequential
  readonly layer2: Sequential
  readonly layer3: Sequential
  readonly layer4: Sequential
  readonly linear: Linear

  constructor(block: BlockFactory, numBlocks: [number, number, number, number], options: ModelOptions = {}) {
    super()
    const lo = layerOptions(options, this.constructor.name)
    this.conv1 = this.registerModule('conv1', conv3x3(options.inChannels ?? 3, 64, 1, lo))
    this.bn1 = this.registerModule('bn1', batchNorm2d(64, lo))
    let inPlanes = 64
    const stage = (planes: number, n: number, stride: number): Sequential => {
      const seq = new Sequential()
      for (let i = 0; i < n; i++) {
        seq.append(block(inPlanes, planes, i === 0 ? stride : 1, lo))
        inPlanes = planes
      }
      return seq
    }
    this.layer1 = this.registerModule('layer1', stage(64, numBlocks[0], 1))
    this.layer2 = this.registerModule('layer2', stage(128, numBlocks[1], 2))
    this.layer3 = this.registerModule('layer3', stage(256, numBlocks[2], 2))
    this.layer4 = this.registerModule('layer4', stage(512, numBlocks[3], 2))
    this.linear = this.registerModule('linear', new Linear(512, options.numClasses ?? 10, lo))
  }

  override forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.conv1.forward(x)).relu()
    out = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(out))))
    // NOTE: avgPool2d(4) as the reference: a global average pool for 32x32 inputs.
    return this.linear.forward(avgPool2d(out, 4).flatten(1))
  }
}

/** ResNet18 with BasicBlocks (11,173,962 parameters for 10 classes). @example resnet18({ numClasses: 100 }) */
export const resnet18 = (options: ModelOptions = {}): ResNet =>
  new ResNet((i, p, s, lo) => new BasicBlock(i, p, s, lo), [2, 2, 2, 2], options)
