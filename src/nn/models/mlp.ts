// The paper's MLP: flatten -> Linear(C*H*W, 256) [fc1] -> ReLU -> Linear(256, numClasses) [fc2].
import type { Tensor } from '../../tensor/tensor.js'
import { Linear } from '../layers/linear.js'
import { Module } from '../module.js'
import { layerOptions, type ModelOptions } from './options.js'

/** Two-layer perceptron on flattened images. @example new MLP({ numClasses: 10 }) */
export class MLP extends Module {
  readonly fc1: Linear
  readonly fc2: Linear

  constructor(options: ModelOptions = {}) {
    super()
    const c = options.inChannels ?? 1
    const size = options.inputSize ?? 28
    const lo = layerOptions(options, this.constructor.name)
    this.fc1 = this.registerModule('fc1', new Linear(c * size * size, 256, lo))
    this.fc2 = this.registerModule('fc2', new Linear(256, options.numClasses ?? 10, lo))
  }

  override forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x.flatten(1)).relu())
  }
}

/** The paper's MLP (203,530 parameters for MNIST). @example const model = mlp({ numClasses: 10 }) */
export const mlp = (options: ModelOptions = {}): MLP => new MLP(options)
