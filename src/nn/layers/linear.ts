// Linear: y = x W^T + b, W [outFeatures, inFeatures], b [outFeatures].
// Initialised as PyTorch: W ~ U(-1/sqrt(in), 1/sqrt(in)) via kaiming-uniform(a = sqrt(5)), b likewise.
import type { Tensor } from '../../tensor/tensor.js'
import { zeros } from '../../tensor/creation.js'
import type { DType } from '../../tensor/dtype.js'
import type { Generator } from '../../tensor/generator.js'
import { linear } from '../functional.js'
import { defaultLayerInit } from '../init.js'
import { Module, expectSizes } from '../module.js'

/** Options every layer with weights accepts: the generator its init draws from, and the dtype. */
export interface LayerOptions {
  /** Default: the global generator (see manualSeed). */
  generator?: Generator
  /** Default 'float32'; 'float64' for gradient checks. */
  dtype?: DType
}

/** Options of Linear. */
export interface LinearOptions extends LayerOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean
}

/**
 * Fully connected layer on the last dim.
 * @example const fc = new Linear(784, 256); fc.forward(x) // [batch, 256]
 */
export class Linear extends Module {
  readonly weight: Tensor
  readonly bias: Tensor | null

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super()
    expectSizes('Linear', 'inFeatures', inFeatures, 1)
    expectSizes('Linear', 'outFeatures', outFeatures, 1)
    const dtype = options.dtype ?? 'float32'
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures], { dtype }))
    this.bias = this.registerParameter('bias', options.bias ?? true ? zeros([outFeatures], { dtype }) : null)
    defaultLayerInit(this.weight, this.bias, options.generator)
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias)
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`
  }
}
