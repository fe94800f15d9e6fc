// z = sum of x over `dims`; dz/dx = 1 everywhere, so the gradient is gradOut
// broadcast back over the reduced dims (reshape to keepdim shape, then expand).
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput, dtypeOf } from '../../tensor/dtype.js'
import { getBackend } from '../../tensor/backends/registry.js'
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
    return new Tensor(reduceRuns(x!.buffer('sum'), x!.shape, dims), keepdim ? kept : x!.shape.filter((_, i) => !dims.includes(i)))
  },
  backward(ctx, gradOut, { dims }) {
    const x = ctx.saved[0]!
    return [gradOut.reshape(keptShape(x.shape, dims)).expand(x.shape)]
  },
}

/**
 * Sum over `dims` one run of consecutive dims at a time, last run first: each run reduces an
 * [outer, size, inner] view, which the backend's `sum` primitive does (reference.ts states it).
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
    const out = allocateOutput(dtypeOf(src), outer * inner)
    getBackend().sum(src, out, outer, size, inner)
    cur = cur.map((n, i) => (i >= d0 && i <= d1 ? 1 : n))
    src = out
  }
  return src === data ? copyOf(data) : src
}

function copyOf(data: TypedArray): TypedArray {
  const out = allocateOutput(dtypeOf(data), data.length)
  out.set(data)
  return out
}
