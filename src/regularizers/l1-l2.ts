// The baselines the paper compares with (Sec. 2.2), as graph terms added to the loss:
//   L1: R = lambda * sum_j |w_j|   (Laplace prior; dR/dw = lambda * sign(w), 0 at w = 0)
//   L2: R = lambda * sum_j w_j^2   (Gaussian prior; dR/dw = 2 * lambda * w)
// How L2-in-the-loss differs from an optimizer's weightDecay (coupled, Adam) and from AdamW's
// decoupled decay is written out in docs/regularizers.md.
// A NaN or Infinity weight is an error naming the parameter and index (the rule of metrics.ts),
// found from the penalty's value, so a training step pays no extra pass over the weights.
import { Tensor } from '../tensor/tensor.js'
import { selectParams, type ParamFilter, type ParamSource } from './params.js'
import { checkPenalty, paramLabel, type Labelled } from './metrics.js'

/** Options of L1 and L2. */
export interface NormPenaltyOptions {
  /** Strength, >= 0 (defaults: 1e-5 for L1, 5e-4 for L2). */
  lambda?: number
  /** Which parameters (default: weights of Linear and Conv2d layers). */
  filter?: ParamFilter
}

abstract class NormPenalty {
  readonly lambda: number
  private readonly filter: ParamFilter | undefined

  constructor(
    private readonly name: string,
    defaultLambda: number,
    options: NormPenaltyOptions,
  ) {
    const lambda = options.lambda ?? defaultLambda
    if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
      throw new Error(`${name}: option lambda must be a finite number >= 0, got ${lambda}`)
    }
    if (options.filter !== undefined && typeof options.filter !== 'function') {
      throw new Error(`${name}: option filter must be a function (name, param, module) => boolean`)
    }
    this.lambda = lambda
    this.filter = options.filter
  }

  /** The unscaled penalty of one tensor (lambda is applied once, to the sum). */
  protected abstract term(w: Tensor): Tensor

  /** lambda * the sum of the per-tensor terms, a scalar in the graph (0 when nothing is selected); throws on a NaN or Infinity weight. */
  penalty(source: ParamSource): Tensor {
    let total: Tensor | null = null
    const params = selectParams(source, this.filter)
    for (const [pname, w] of params) {
      if (w.dtype === 'int32') throw new Error(`${this.name}: parameter '${pname}' is int32; only float tensors can be regularized`)
      const t = this.term(w)
      total = total ? total.add(t) : t
    }
    if (!total) return new Tensor(new Float32Array(1), [])
    // NOTE: sum |w| and sum w^2 are NaN or Infinity exactly when some weight is (0 * NaN and
    // 0 * Infinity are NaN, so lambda = 0 too), or when a finite sum overflows.
    return checkPenalty(`${this.name}.penalty`, total.mul(this.lambda), params.map(([n, w]): Labelled => [paramLabel(n), w]))
  }
}

/**
 * L1 penalty lambda * sum |w|.
 * @example loss.add(new L1({ lambda: 1e-5 }).penalty(model)).backward()
 */
export class L1 extends NormPenalty {
  constructor(options: NormPenaltyOptions = {}) {
    super('L1', 1e-5, options)
  }
  /** sum |w|. */
  protected term(w: Tensor): Tensor {
    return w.abs().sum()
  }
}

/**
 * L2 penalty lambda * sum w^2 (not halved: the gradient is 2 * lambda * w).
 * @example loss.add(new L2({ lambda: 5e-4 }).penalty(model)).backward()
 */
export class L2 extends NormPenalty {
  constructor(options: NormPenaltyOptions = {}) {
    super('L2', 5e-4, options)
  }
  /** sum w^2. */
  protected term(w: Tensor): Tensor {
    return w.square().sum()
  }
}
