// z = x with constant borders; `pads` lists (left, right) pairs from the last dim
// backwards, as torch.nn.functional.pad. dz/dx: the gradient with the borders cut off (narrow).
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { stridesOf, numel } from '../../tensor/shape.js'
import { broadcastLoop } from '../../tensor/loops.js'
import type { OpDef } from '../op.js'

export interface PadAttrs {
  /** per dim (first to last), the number of elements added before and after */
  before: number[]
  after: number[]
  value: number
}

export const pad: OpDef<PadAttrs> = {
  name: 'pad',
  forward(_ctx, [x], { before, after, value }) {
    const shape = x!.shape.map((d, i) => d + before[i]! + after[i]!)
    const out = allocate(x!.dtype, numel(shape))
    if (value !== 0) out.fill(value)
    const os = stridesOf(shape)
    const base = before.reduce((s, b, i) => s + b * os[i]!, 0)
    const src = x!.data
    // Walk x in order; its element lands at the same index shifted by `before`.
    broadcastLoop(x!.shape, [os], (i, [o]) => {
      out[base + o!] = src[i]!
    })
    return new Tensor(out, shape)
  },
  backward(_ctx, gradOut, { before, after }) {
    let g = gradOut
    before.forEach((b, dim) => {
      if (b !== 0 || after[dim] !== 0) g = g.narrow(dim, b, g.shape[dim]! - b - after[dim]!)
    })
    return [g]
  },
}
