// z = the inputs joined along `dim`; dz/dx_i: the slice of the gradient that came from x_i.
// Each input is one box of the output, copied by the backend's copyRegion.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput, promote } from '../../tensor/dtype.js'
import { numel, stridesOf } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { OpDef } from '../op.js'

export const cat: OpDef<{ dim: number }> = {
  name: 'cat',
  forward(ctx, inputs, { dim }) {
    const first = inputs[0]!
    const total = inputs.reduce((s, t) => s + t.shape[dim]!, 0)
    const shape = first.shape.map((d, i) => (i === dim ? total : d))
    const dtype = inputs.reduce((d, t) => promote(d, t.dtype), first.dtype)
    const out = allocateOutput(dtype, numel(shape))
    let offset = 0
    inputs.forEach((t, i) => {
      // the first part also fills out (every entry is some part's), the later ones keep it
      const start = shape.map((_, d) => (d === dim ? offset : 0))
      getBackend().copyRegion(t.buffer('cat'), out, { outShape: shape, start, size: t.shape, srcOffset: 0, srcStrides: stridesOf(t.shape), fill: i === 0 ? 0 : null })
      offset += t.shape[dim]!
    })
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
