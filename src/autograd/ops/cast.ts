// z = x converted to another float dtype (always a copy); dz/dx = 1, cast back.
// Also serves clone(). Casting to int32 is not differentiable and is not this op.
import { Tensor } from '../../tensor/tensor.js'
import { allocate, type DType } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'

export const cast: OpDef<{ dtype: DType }> = {
  name: 'cast',
  forward(ctx, [x], { dtype }) {
    ctx.save(x!)
    const out = allocate(dtype, x!.numel())
    out.set(x!.data)
    return new Tensor(out, x!.shape)
  },
  backward(ctx, gradOut) {
    return [gradOut.to(ctx.saved[0]!.dtype)]
  },
}
