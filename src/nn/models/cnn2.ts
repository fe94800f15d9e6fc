// The paper's "2 layered CNN": Conv2d(C,32,3,pad 1) [conv1] -> ReLU -> MaxPool2d(2) ->
// Conv2d(32,64,3,pad 1) [conv2] -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(64*(H/4)*(W/4), 128) [fc1]
// -> ReLU -> Linear(128, numClasses) [fc2]; 64*7*7 for 28x28 input, 64*8*8 for 32x32.
import type { Tensor } from '../../tensor/tensor.js'
import { maxPool2d } from '../functional.js'
import { Conv2d } from '../layers/conv.js'
import { Linear } from '../layers/linear.js'
import { Module } from '../module.js'
import { layerOptions, type ModelOptions } from './options.js'

/** Two conv layers and two linear layers. @example new CNN2({ inChannels: 3, inputSize: 32 }) */
export class CNN2 extends Module {
  readonly conv1: Conv2d
  readonly conv2: Conv2d
  readonly fc1: Linear
  readonly fc2: Linear

  constructor(options: ModelOptions = {}) {
    super()
    const size = options.inputSize ?? 28
    const lo = layerOptions(options, this.constructor.name)
    const q = Math.floor(size / 4)
    this.conv1 = this.registerModule('conv1', new Conv2d(options.inChannels ?? 1, 32, 3, { padding: 1, ...lo }))
    this.conv2 = this.registerModule('conv2', new Conv2d(32, 64, 3, { padding: 1, ...lo }))
    this.fc1 = this.registerModule('fc1', new Linear(64 * q * q, 128, lo))
    this.fc2 = this.registerModule('fc2', new Linear(128, options.numClasses ?? 10, lo))
  }

  override forward(x: Tensor): Tensor {
    let out = maxPool2d(this.conv1.forward(x).relu(), 2)
    out = maxPool2d(this.conv2.forward(out).relu(), 2)
    return this.fc2.forward(this.fc1.forward(out.flatten(1)).relu())
  }
}

/** The paper's 2-layer CNN (421,642 parameters on MNIST, 545,098 on CIFAR-10). @example cnn2({ inChannels: 3, inputSize: 32 }) */
export const cnn2 = (options: ModelOptions = {}): CNN2 => new CNN2(options)
