// z = the inputs joined along `dim`; dz/dx_i: the slice of the gradient that came from x_i.
import { Tensor } from '../../tensor/tensor.js'
import { allocate, promote } from '../../tensor/dtype.js'
import { numel } from '../../tensor/shape.js'
import type { OpDef } from '../op.js'

export const cat: OpDef<{ dim: number }> = {
  name: 'cat',
  forward(ctx, inputs, { dim }) {
    const first = inputs[0]!
    const total = inputs.reduce((s, t) => s + t.shape[dim]!, 0)
    const shape = first.shape.map((d, i) => (i === dim ? total : d))
    const dtype = inputs.reduce((d, t) => promote(d, t.dtype), first.dtype)
    const out = allocate(dtype, numel(shape))
    const outer = numel(shape.slice(0, dim))
    const inner = numel(shape.slice(dim + 1))
    let offset = 0
    // Each input contributes a block of size[dim]*inner per outer index.
    for (const t of inputs) {
      const block = t.shape[dim]! * inner
      for (let o = 0; o < outer; o++) {
        out.set(t.data.subarray(o * block, (o + 1) * block), o * total * inner + offset)
      }
      offset += block
    }
    ctx.save(...inputs)
    return new Tensor(out, shape)
  },
  backward(ctx, gradOut, { dim }) {
    let start = 0
    return ctx.saved.map((t, i) => {
      const len = t.shape[dim]!
      const g = ctx.needsInputGrad[i] ? gradOut.narrow(dim, start, len) : null
      start += len
      return g
    })
  },
}
