// z = a ^ b (broadcast); dz/da = b * a^(b-1), dz/db = z * ln(a).
import { runBinary } from '../../tensor/loops.js'
import { promote } from '../../tensor/dtype.js'
import { assertFloat } from '../checks.js'
import type { OpDef } from '../op.js'

export const pow: OpDef = {
  name: 'pow',
  forward(ctx, [a, b]) {
    assertFloat('pow', a!)
    const z = runBinary('pow', a!, b!, promote(a!.dtype, b!.dtype))
    ctx.save(a!, b!, z)
    return z
  },
  backward(ctx, gradOut) {
    const [a, b, z] = ctx.saved
    // NOTE: b is often a constant exponent: skip its gradient (and ln(a) of negatives) when unused.
    return [
      ctx.needsInputGrad[0] ? gradOut.mul(b!).mul(a!.pow(b!.sub(1))) : null,
      ctx.needsInputGrad[1] ? gradOut.mul(z!).mul(a!.log()) : null,
    ]
  },
}
