// z = x broadcast to a larger shape (materialised); dz/dx: the gradient summed
// over the broadcast dims (sumToShape, the same reduction the engine applies).
import { Tensor } from '../../tensor/tensor.js'
import { broadcastTo } from '../../tensor/loops.js'
import { sumToShape } from '../functional.js'
import type { OpDef } from '../op.js'

export const expand: OpDef<{ shape: number[] }> = {
  name: 'expand',
  forward(ctx, [x], { shape }) {
    ctx.save(x!)
    return new Tensor(broadcastTo(x!, shape), shape)
  },
  backward(ctx, gradOut) {
    return [sumToShape(gradOut, ctx.saved[0]!.shape)]
  },
}
