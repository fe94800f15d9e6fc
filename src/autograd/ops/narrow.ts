// z = x[..., start:start+length, ...] along `dim` (a copy); dz/dx: the gradient
// placed back at the same offset with zeros elsewhere, which is a pad.
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { numel } from '../../tensor/shape.js'
import { pad } from '../functional.js'
import type { OpDef } from '../op.js'

export interface NarrowAttrs {
  dim: number
  start: number
  length: number
}

export const narrow: OpDef<NarrowAttrs> = {
  name: 'narrow',
  forward(ctx, [x], { dim, start, length }) {
    const shape = x!.shape.map((d, i) => (i === dim ? length : d))
    const outer = numel(x!.shape.slice(0, dim))
    const inner = numel(x!.shape.slice(dim + 1))
    const size = x!.shape[dim]!
    const out = allocate(x!.dtype, numel(shape))
    for (let o = 0; o < outer; o++) {
      const from = (o * size + start) * inner
      out.set(x!.data.subarray(from, from + length * inner), o * length * inner)
    }
    ctx.save(x!)
    return new Tensor(out, shape)
  },
  backward(ctx, gradOut, { dim, start, length }) {
    const x = ctx.saved[0]!
    // pad's list runs from the last dim backwards: [lastLeft, lastRight, prevLeft, ...]
    const pads = new Array<number>(2 * (x.ndim - dim)).fill(0)
    pads[2 * (x.ndim - 1 - dim)] = start
    pads[2 * (x.ndim - 1 - dim) + 1] = x.shape[dim]! - start - length
    return [pad(gradOut, pads, 0)]
  },
}
