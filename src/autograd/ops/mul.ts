// z = a * b (broadcast); dz/da = b, dz/db = a.
import { runBinary } from '../../tensor/loops.js'
import { promote } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'

export const mul: OpDef = {
  name: 'mul',
  forward(ctx, [a, b]) {
    ctx.save(a!, b!)
    return runBinary('mul', a!, b!, promote(a!.dtype, b!.dtype))
  },
  backward(ctx, gradOut) {
    const [a, b] = ctx.saved
    return [ctx.needsInputGrad[0] ? gradOut.mul(b!) : null, ctx.needsInputGrad[1] ? gradOut.mul(a!) : null]
  },
}
