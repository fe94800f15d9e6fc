// z = x with its dims reordered: z.shape[i] = x.shape[dims[i]] (a copy);
// dz/dx: the gradient permuted by the inverse permutation.
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { stridesOf } from '../../tensor/shape.js'
import { broadcastLoop } from '../../tensor/loops.js'
import type { OpDef } from '../op.js'

export const permute: OpDef<{ dims: number[] }> = {
  name: 'permute',
  forward(_ctx, [x], { dims }) {
    const shape = dims.map((d) => x!.shape[d]!)
    const xs = stridesOf(x!.shape)
    const out = allocate(x!.dtype, x!.numel())
    const src = x!.data
    // Walk the output in order, reading x through permuted strides.
    broadcastLoop(shape, [dims.map((d) => xs[d]!)], (i, [o]) => {
      out[i] = src[o!]!
    })
    return new Tensor(out, shape)
  },
  backward(_ctx, gradOut, { dims }) {
    const inverse = new Array<number>(dims.length)
    dims.forEach((d, i) => (inverse[d] = i))
    return [gradOut.permute(inverse)]
  },
}
