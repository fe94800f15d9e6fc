// z[i][j][k] = x[i][index[i][j][k]][k] (for dim 1; the same on any dim, index has
// x's rank); dz/dx: gradOut scattered (added) back to the positions it was read from.
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { formatShape, stridesOf } from '../../tensor/shape.js'
import { broadcastLoop } from '../../tensor/loops.js'
import type { OpDef } from '../op.js'

export const gather: OpDef<{ dim: number }> = {
  name: 'gather',
  forward(ctx, [x, index], { dim }) {
    const xs = stridesOf(x!.shape)
    const size = x!.shape[dim]!
    const out = allocate(x!.dtype, index!.numel())
    const idx = index!.data
    const src = x!.data
    // Offsets into x for every coordinate except `dim`, which comes from index.
    broadcastLoop(index!.shape, [xs.map((s, d) => (d === dim ? 0 : s))], (i, [o]) => {
      const k = idx[i]!
      if (k < 0 || k >= size) {
        throw new Error(`gather: index ${k} at position ${i} is out of range for dim ${dim} of size ${size} (x shape ${formatShape(x!.shape)})`)
      }
      out[i] = src[o! + k * xs[dim]!]!
    })
    ctx.save(x!, index!)
    return new Tensor(out, index!.shape)
  },
  backward(ctx, gradOut, { dim }) {
    const [x, index] = ctx.saved
    return [scatterAdd(x!.shape, dim, index!, gradOut), null]
  },
}

/** zeros(shape) with src[i] added at the position gather would have read for i. Records no graph. */
export function scatterAdd(shape: number[], dim: number, index: Tensor, src: Tensor): Tensor {
  const xs = stridesOf(shape)
  const out = new Tensor(allocate(src.dtype, shape.reduce((a, b) => a * b, 1)), shape)
  const o = out.data
  const idx = index.data
  const s = src.data
  broadcastLoop(index.shape, [xs.map((st, d) => (d === dim ? 0 : st))], (i, [off]) => {
    o[off! + idx[i]! * xs[dim]!]! += s[i]!
  })
  return out
}
