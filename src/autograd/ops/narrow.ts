// z = x[..., start:start+length, ...] along `dim` (a copy, the backend's copyRegion reading x
// from an offset); dz/dx: the gradient placed back at the same offset with zeros elsewhere, which is a pad.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { numel, stridesOf } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
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
    const out = allocateOutput(x!.dtype, numel(shape))
    const xs = stridesOf(x!.shape)
    const r = { outShape: shape, start: shape.map(() => 0), size: shape, srcOffset: start * xs[dim]!, srcStrides: xs, fill: 0 }
    getBackend().copyRegion(x!.buffer('narrow'), out, r)
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
