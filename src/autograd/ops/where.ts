// z = cond ? a : b (broadcast); dz/da = cond, dz/db = 1 - cond; cond gets no gradient.
import { runWhere } from '../../tensor/loops.js'
import { promote } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'
import type { Tensor } from '../../tensor/tensor.js'
import { zerosLike } from '../../tensor/creation.js'
import { where as whereFn } from '../functional.js'

export const where: OpDef = {
  name: 'where',
  forward(ctx, [cond, a, b]) {
    ctx.save(cond!)
    return runWhere(cond!, a!, b!, promote(a!.dtype, b!.dtype))
  },
  backward(ctx, gradOut) {
    const cond = ctx.saved[0] as Tensor
    const zero = zerosLike(gradOut)
    return [null, whereFn(cond, gradOut, zero), whereFn(cond, zero, gradOut)]
  },
}
