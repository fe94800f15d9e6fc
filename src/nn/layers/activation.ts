// Parameter-free layers: activations, Flatten, Identity and Dropout, so they can sit in a Sequential.
import type { Tensor } from '../../tensor/tensor.js'
import type { Generator } from '../../tensor/generator.js'
import { dropout } from '../functional.js'
import { Module } from '../module.js'

/** max(x, 0). @example new Sequential(new Linear(4, 8), new ReLU()) */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu()
  }
}

/** 1 / (1 + e^-x). @example new Sigmoid().forward(x) */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid()
  }
}

/** Hyperbolic tangent as a layer. @example new Tanh().forward(x) */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh()
  }
}

/** Merge dims startDim..endDim into one (default: all but the batch dim). @example new Flatten().forward(zeros([2, 3, 4])) // [2, 12] */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super()
  }
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim)
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`
  }
}

/** Returns its input. @example new Identity().forward(x) === x */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x
  }
}

/** Options of Dropout. */
export interface DropoutOptions {
  /** The generator the masks come from (default: the global one). */
  generator?: Generator
}

/**
 * In training, zero each element with probability p and scale the rest by 1/(1-p); identity in eval.
 * @example const drop = new Dropout(0.5, { generator: new Generator(1) })
 */
export class Dropout extends Module {
  readonly generator: Generator | undefined

  constructor(
    readonly p = 0.5,
    options: DropoutOptions = {},
  ) {
    super()
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`)
    this.generator = options.generator
  }
  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator)
  }
  override extraRepr(): string {
    return `p=${this.p}`
  }
}
