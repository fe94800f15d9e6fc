// Adam and AdamW, as torch.optim.Adam / AdamW (1.13, single-tensor path), at step t:
//   Adam:  g = g + weightDecay * p          AdamW:  p = p * (1 - lr * weightDecay)
//   m = beta1 * m + (1 - beta1) * g         v = beta2 * v + (1 - beta2) * g * g
//   vMax = max(vMax, v) with amsgrad (then used in place of v)
//   p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// NOTE: the operations run in torch's order (bias corrections as scalars, eps added after the
// division by sqrt(bc2)), which makes float64 trajectories agree with PyTorch to ~1e-15.
import type { Tensor } from '../tensor/tensor.js'
import { Optimizer, zerosFor, type FloatBuffer, type ParamGroup, type ParamGroupInput } from './optimizer.js'
import { checkBetas, checkBoolean, checkNumber } from './validate.js'
import { getBackend } from '../tensor/backends/registry.js'

/** Options of Adam and AdamW, named as in torch.optim. */
export interface AdamOptions {
  lr: number
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas: [number, number]
  /** Added to sqrt(v) in the denominator, so a zero second moment does not divide by 0. */
  eps: number
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay of the parameter. */
  weightDecay: number
  /** Divide by the running maximum of v instead of v (Reddi et al., AMSGrad). */
  amsgrad: boolean
  /** Ascend the objective instead of descending it. */
  maximize: boolean
}

/** Per-parameter state of Adam/AdamW: step count and the moment buffers m and v (and max v with amsgrad). */
export interface AdamState {
  [k: string]: number | FloatBuffer | undefined
  step: number
  expAvg: FloatBuffer
  expAvgSq: FloatBuffer
  maxExpAvgSq?: FloatBuffer
}

const STATE_SPEC = { arrays: ['expAvg', 'expAvgSq', 'maxExpAvgSq'], scalars: ['step'] }

abstract class AdamBase extends Optimizer<AdamOptions, AdamState> {
  private readonly decoupled: boolean

  protected constructor(name: string, decoupled: boolean, params: Tensor[] | Array<ParamGroupInput<AdamOptions>>, defaults: AdamOptions) {
    super(name, STATE_SPEC, params, defaults)
    this.decoupled = decoupled
  }

  protected validateOptions(o: AdamOptions): void {
    checkNumber(this.name, 'lr', o.lr, { min: 0 })
    checkBetas(this.name, o.betas)
    checkNumber(this.name, 'eps', o.eps, { min: 0 })
    checkNumber(this.name, 'weightDecay', o.weightDecay, { min: 0 })
    checkBoolean(this.name, 'amsgrad', o.amsgrad)
    checkBoolean(this.name, 'maximize', o.maximize)
  }

  protected initState(param: Tensor, group: ParamGroup<AdamOptions>): AdamState {
    const s: AdamState = { step: 0, expAvg: zerosFor(param), expAvgSq: zerosFor(param) }
    if (group.amsgrad) s.maxExpAvgSq = zerosFor(param)
    return s
  }

  protected override checkState(s: AdamState): string | null {
    const has = ['step', 'expAvg', 'expAvgSq'].filter((k) => s[k] !== undefined)
    if (has.length !== 0 && has.length !== 3) return `expected step, expAvg and expAvgSq together, found only ${has.join(', ')}`
    if (has.length === 3 && (!Number.isInteger(s.step) || s.step < 0)) return `step must be a non-negative integer, got ${s.step}`
    return null
  }

  protected update(param: Tensor, grad: ArrayLike<number>, state: AdamState, group: ParamGroup<AdamOptions>): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group
    const [beta1, beta2] = group.betas
    // A state loaded without its moments (or amsgrad turned on later) gets them here, once.
    if (state.expAvg === undefined) Object.assign(state, { step: 0, expAvg: zerosFor(param), expAvgSq: zerosFor(param) })
    if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = zerosFor(param)
    const step = ++state.step
    // The loop itself is the backend's adamUpdate (reference.ts states it); the bias corrections
    // are scalars of the step, computed once here.
    getBackend().adamUpdate(param.buffer(this.name) as FloatBuffer, grad as FloatBuffer, state.expAvg, state.expAvgSq, amsgrad ? state.maxExpAvgSq! : null, {
      beta1,
      beta2,
      stepSize: lr / (1 - beta1 ** step),
      bc2Sqrt: Math.sqrt(1 - beta2 ** step),
      eps,
      weightDecay,
      decoupled: this.decoupled,
      decay: 1 - lr * weightDecay,
      maximize,
    })
  }
}

/**
 * Adam (Kingma & Ba) with bias correction; `weightDecay` adds an L2 term to the gradient.
 * @example const opt = new Adam(model.parameters(), { lr: 1e-3 })
 */
export class Adam extends AdamBase {
  constructor(params: Tensor[] | Array<ParamGroupInput<AdamOptions>>, options: Partial<AdamOptions> = {}) {
    super('Adam', false, params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options })
  }
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay `p *= 1 - lr * weightDecay`.
 * @example const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 })
 */
export class AdamW extends AdamBase {
  constructor(params: Tensor[] | Array<ParamGroupInput<AdamOptions>>, options: Partial<AdamOptions> = {}) {
    super('AdamW', true, params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false, ...options })
  }
}
