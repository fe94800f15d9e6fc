// z = max(a, b) (broadcast); the gradient goes to the larger input. On ties each gets
// half, as in PyTorch, so the sum of the two gradients is still gradOut.
import { runBinary } from '../../tensor/loops.js'
import { promote } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'
import type { Tensor } from '../../tensor/tensor.js'

function extremum(name: 'maximum' | 'minimum'): OpDef {
  return {
    name,
    forward(ctx, [a, b]) {
      ctx.save(a!, b!)
      return runBinary(name, a!, b!, promote(a!.dtype, b!.dtype))
    },
    backward(ctx, gradOut) {
      const [a, b] = ctx.saved as [Tensor, Tensor]
      const winsA = name === 'maximum' ? a.gt(b) : a.lt(b)
      const tie = a.eq(b).mul(0.5)
      const shareA = winsA.add(tie)
      return [gradOut.mul(shareA), gradOut.mul(shareA.neg().add(1))]
    },
  }
}

// NaN propagates, as torch.maximum does (the reference backend's BINARY table).
export const maximum = extremum('maximum')
export const minimum = extremum('minimum')
