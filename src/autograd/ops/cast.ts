// z = x converted to another float dtype (always a copy); dz/dx = 1, cast back.
// Also serves clone(). Casting to int32 is not differentiable and is not this op.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput, type DType } from '../../tensor/dtype.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { OpDef } from '../op.js'

export const cast: OpDef<{ dtype: DType }> = {
  name: 'cast',
  forward(ctx, [x], { dtype }) {
    ctx.save(x!)
    // the backend's copy, which converts each value to the output's type
    const out = allocateOutput(dtype, x!.numel())
    getBackend().unary('copy', x!.buffer('cast'), out)
    return new Tensor(out, x!.shape)
  },
  backward(ctx, gradOut) {
    return [gradOut.to(ctx.saved[0]!.dtype)]
  },
}
