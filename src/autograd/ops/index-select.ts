// z = the slices of x at positions `index` (1-D int32) along `dim`;
// dz/dx: each gradient slice added back to the slice it came from (repeats accumulate).
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { numel, formatShape } from '../../tensor/shape.js'
import type { OpDef } from '../op.js'

export const indexSelect: OpDef<{ dim: number }> = {
  name: 'indexSelect',
  forward(ctx, [x, index], { dim }) {
    const size = x!.shape[dim]!
    const inner = numel(x!.shape.slice(dim + 1))
    const outer = numel(x!.shape.slice(0, dim))
    const n = index!.numel()
    const out = allocate(x!.dtype, outer * n * inner)
    for (let j = 0; j < n; j++) {
      const k = index!.data[j]!
      if (k < 0 || k >= size) {
        throw new Error(`indexSelect: index ${k} at position ${j} is out of range for dim ${dim} of size ${size} (x shape ${formatShape(x!.shape)})`)
      }
    }
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        const from = (o * size + index!.data[j]!) * inner
        out.set(x!.data.subarray(from, from + inner), (o * n + j) * inner)
      }
    }
    ctx.save(x!, index!)
    return new Tensor(out, x!.shape.map((d, i) => (i === dim ? n : d)))
  },
  backward(ctx, gradOut, { dim }) {
    const [x, index] = ctx.saved
    const size = x!.shape[dim]!
    const inner = numel(x!.shape.slice(dim + 1))
    const outer = numel(x!.shape.slice(0, dim))
    const n = index!.numel()
    const g = new Tensor(allocate(gradOut.dtype, x!.numel()), x!.shape)
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        const to = (o * size + index!.data[j]!) * inner
        const from = (o * n + j) * inner
        for (let e = 0; e < inner; e++) g.data[to + e]! += gradOut.data[from + e]!
      }
    }
    return [g, null]
  },
}
