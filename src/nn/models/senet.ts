// SENet18 for CIFAR (kuangliu/pytorch-cifar senet.py): the ResNet18 skeleton with pre-activation
// blocks and squeeze-and-excitation (Hu et al.). PreActSEBlock(x):
//   o = relu(bn1(x)); sc = shortcut(o) if the shape changes (conv1x1, stride, no BN) else x
//   o = conv2(relu(bn2(conv1(o))))
//   w = sigmoid(fc2(relu(fc1(globalAvgPool(o)))))   (fc1: planes -> planes/16, fc2 back; 1x1 convs with bias)
//   return o * w + sc                                 (no ReLU after the add)
import type { Tensor } from '../../tensor/tensor.js'
import { avgPool2d } from '../functional.js'
import type { BatchNorm2d } from '../layers/batchnorm.js'
import { Sequential } from '../layers/container.js'
import { Conv2d } from '../layers/conv.js'
import type { LayerOptions } from '../layers/linear.js'
import { Module } from '../module.js'
import type { ModelOptions } from './options.js'
import { ResNet, batchNorm2d, conv3x3 } from './resnet.js'

/**
 * Pre-activation residual block with squeeze-and-excitation channel weights.
 * @example new PreActSEBlock(64, 128, 2)
 */
export class PreActSEBlock extends Module {
  readonly bn1: BatchNorm2d
  readonly conv1: Conv2d
  readonly bn2: BatchNorm2d
  readonly conv2: Conv2d
  readonly shortcut: Sequential | null
  readonly fc1: Conv2d
  readonly fc2: Conv2d

  constructor(inPlanes: number, planes: number, stride = 1, lo: LayerOptions = {}) {
    super()
    this.bn1 = this.registerModule('bn1', batchNorm2d(inPlanes, lo))
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, stride, lo))
    this.bn2 = this.registerModule('bn2', batchNorm2d(planes, lo))
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, 1, lo))
    // NOTE: registered only when needed (no empty Sequential), so the names match the reference.
    const needed = stride !== 1 || inPlanes !== planes
    this.shortcut = needed ? this.registerModule('shortcut', new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false, ...lo }))) : null
    const squeezed = Math.floor(planes / 16)
    if (squeezed < 1) throw new Error(`PreActSEBlock: planes must be at least 16 for the planes/16 squeeze, got ${planes}`)
    this.fc1 = this.registerModule('fc1', new Conv2d(planes, squeezed, 1, lo))
    this.fc2 = this.registerModule('fc2', new Conv2d(squeezed, planes, 1, lo))
  }

  override forward(x: Tensor): Tensor {
    const pre = this.bn1.forward(x).relu()
    const shortcut = this.shortcut ? this.shortcut.forward(pre) : x
    let out = this.conv1.forward(pre)
    out = this.conv2.forward(this.bn2.forward(out).relu())
    const squeeze = avgPool2d(out, [out.shape[2]!, out.shape[3]!])
    const w = this.fc2.forward(this.fc1.forward(squeeze).relu()).sigmoid()
    return out.mul(w).add(shortcut)
  }
}

/** SENet18 (11,260,354 parameters for 10 classes). @example senet18({ numClasses: 10 }) */
export const senet18 = (options: ModelOptions = {}): ResNet =>
  new ResNet((i, p, s, lo) => new PreActSEBlock(i, p, s, lo), [2, 2, 2, 2], options)
