// z = x with constant borders; `pads` lists (left, right) pairs from the last dim
// backwards, as torch.nn.functional.pad. dz/dx: the gradient with the borders cut off (narrow).
// Forward is the backend's copyRegion: x is the box at `before`, the borders its fill.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { stridesOf, numel } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
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
    const out = allocateOutput(x!.dtype, numel(shape))
    getBackend().copyRegion(x!.buffer('pad'), out, { outShape: shape, start: before, size: x!.shape, srcOffset: 0, srcStrides: stridesOf(x!.shape), fill: value })
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
