// Stochastic gradient descent with momentum, as torch.optim.SGD (1.13, single-tensor path):
//   d = g + weightDecay * p
//   buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf            (when momentum > 0)
//   p = p - lr * d
import type { Tensor } from '../tensor/tensor.js'
import { Optimizer, zerosFor, type FloatBuffer, type ParamGroup, type ParamGroupInput } from './optimizer.js'
import { getBackend } from '../tensor/backends/registry.js'
import type { SgdUpdate } from '../tensor/backends/backend.js'
import { checkBoolean, checkNumber } from './validate.js'

/** Options of SGD, named as in torch.optim (the backend's sgdUpdate takes the same, and `first`). */
export interface SGDOptions extends Omit<SgdUpdate, 'first'> {}

/** Per-parameter state of SGD: the momentum buffer, created on the first step with momentum. */
export interface SGDState {
  [k: string]: number | FloatBuffer | undefined
  momentumBuffer?: FloatBuffer
}

/**
 * SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay.
 * @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })
 */
export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: Tensor[] | Array<ParamGroupInput<SGDOptions>>, options: Partial<SGDOptions> & { lr: number }) {
    const defaults: SGDOptions = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...options }
    super('SGD', { arrays: ['momentumBuffer'], scalars: [] }, params, defaults)
  }

  protected validateOptions(o: SGDOptions): void {
    checkNumber('SGD', 'lr', o.lr, { min: 0 })
    checkNumber('SGD', 'momentum', o.momentum, { min: 0 })
    checkNumber('SGD', 'dampening', o.dampening)
    checkNumber('SGD', 'weightDecay', o.weightDecay, { min: 0 })
    checkBoolean('SGD', 'nesterov', o.nesterov)
    checkBoolean('SGD', 'maximize', o.maximize)
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new Error(`SGD: nesterov requires momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`)
    }
  }

  protected initState(): SGDState {
    return {}
  }

  protected update(param: Tensor, grad: ArrayLike<number>, state: SGDState, group: ParamGroup<SGDOptions>): void {
    const { lr, momentum, dampening, nesterov, weightDecay, maximize } = group
    const first = momentum !== 0 && state.momentumBuffer === undefined
    if (first) state.momentumBuffer = zerosFor(param)
    // The loop itself is the backend's sgdUpdate (reference.ts states it).
    const buf = momentum !== 0 ? state.momentumBuffer! : null
    getBackend().sgdUpdate(param.buffer(this.name) as FloatBuffer, grad as FloatBuffer, buf, { lr, momentum, dampening, nesterov, weightDecay, maximize, first })
  }
}
