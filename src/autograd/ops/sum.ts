// z = sum of x over `dims`; dz/dx = 1 everywhere, so the gradient is gradOut
// broadcast back over the reduced dims (reshape to keepdim shape, then expand).
import { Tensor } from '../../tensor/tensor.js'
import { allocate, dtypeOf } from '../../tensor/dtype.js'
import { numel } from '../../tensor/shape.js'
import type { TypedArray } from '../../tensor/dtype.js'
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
    ctx.save(x!)
    return new Tensor(reduceRuns(x!.data, x!.shape, dims), keepdim ? kept : x!.shape.filter((_, i) => !dims.includes(i)))
  },
  backward(ctx, gradOut, { dims }) {
    const x = ctx.saved[0]!
    return [gradOut.reshape(keptShape(x.shape, dims)).expand(x.shape)]
  },
}

/**
 * Sum over `dims` one run of consecutive dims at a time, last run first. A run reduces
 * a [outer, size, inner] view with three plain loops, so no per-element index math.
 */
function reduceRuns(data: TypedArray, shape: readonly number[], dims: number[]): TypedArray {
  const runs: [number, number][] = []
  for (const d of dims) {
    const last = runs[runs.length - 1]
    if (last && last[1] === d - 1) last[1] = d
    else runs.push([d, d])
  }
  let cur = [...shape]
  let src = data
  for (let r = runs.length - 1; r >= 0; r--) {
    const [d0, d1] = runs[r]!
    const outer = numel(cur.slice(0, d0))
    const size = numel(cur.slice(d0, d1 + 1))
    const inner = numel(cur.slice(d1 + 1))
    const out = allocate(dtypeOf(src), outer * inner)
    if (inner === 1) {
      // Reducing the last dims: each output is one contiguous run, summed in a local.
      for (let o = 0; o < outer; o++) {
        let acc = 0
        for (let k = o * size, end = k + size; k < end; k++) acc += src[k]!
        out[o] = acc
      }
    } else {
      for (let o = 0; o < outer; o++) {
        const ob = o * inner
        for (let k = 0; k < size; k++) {
          const ib = (o * size + k) * inner
          for (let i = 0; i < inner; i++) out[ob + i]! += src[ib + i]!
        }
      }
    }
    cur = cur.map((n, i) => (i >= d0 && i <= d1 ? 1 : n))
    src = out
  }
  return src === data ? copyOf(data) : src
}

function copyOf(data: TypedArray): TypedArray {
  const out = allocate(dtypeOf(data), data.length)
  out.set(data)
  return out
}
