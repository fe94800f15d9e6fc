// z = sum of x over `dims`; dz/dx = 1 everywhere, so the gradient is gradOut
// broadcast back over the reduced dims (reshape to keepdim shape, then expand).
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { stridesOf, numel } from '../../tensor/shape.js'
import { broadcastLoop } from '../../tensor/loops.js'
import type { OpDef } from '../op.js'

export interface SumAttrs {
  /** normalized, sorted dims to reduce */
  dims: number[]
  keepdim: boolean
}

/** The shape after reducing `dims` with keepdim (reduced dims become 1). */
export function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d))
}

export const sum: OpDef<SumAttrs> = {
  name: 'sum',
  forward(ctx, [x], { dims, keepdim }) {
    const kept = keptShape(x!.shape, dims)
    const out = allocate(x!.dtype, numel(kept))
    // Read x in order; each element adds into the output slot its kept index maps to.
    const outStrides = stridesOf(kept).map((s, i) => (dims.includes(i) ? 0 : s))
    const src = x!.data
    broadcastLoop(x!.shape, [outStrides], (i, [o]) => {
      out[o!]! += src[i]!
    })
    ctx.save(x!)
    return new Tensor(out, keepdim ? kept : x!.shape.filter((_, i) => !dims.includes(i)))
  },
  backward(ctx, gradOut, { dims }) {
    const x = ctx.saved[0]!
    return [gradOut.reshape(keptShape(x.shape, dims)).expand(x.shape)]
  },
}
