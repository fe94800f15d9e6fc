// z = x viewed with another shape (same data, shared: storage is contiguous);
// dz/dx: the gradient reshaped back.
import { Tensor } from '../../tensor/tensor.js'
import type { OpDef } from '../op.js'

export const reshape: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  forward(ctx, [x], { shape }) {
    ctx.save(x!)
    return new Tensor(x!.buffer('reshape'), shape)
  },
  backward(ctx, gradOut) {
    return [gradOut.reshape(ctx.saved[0]!.shape)]
  },
}
