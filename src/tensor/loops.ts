// Elementwise loops on raw arrays, with broadcasting. They make new tensors and record
// nothing: ops call them in forward, and backward composes Tensor ops on top of them.
import { Tensor } from './tensor.js'
import { allocate, type DType, type TypedArray } from './dtype.js'
import { broadcastShapes, broadcastStrides, numel } from './shape.js'

/** out[i] = f(x[i]) */
export function mapUnary(x: Tensor, f: (v: number) => number, dtype: DType = x.dtype): Tensor {
  const src = x.data
  const out = allocate(dtype, src.length)
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]!)
  return new Tensor(out, x.shape)
}

/** out[idx] = f(a[idx], b[idx]) over the broadcast shape of a and b. */
export function mapBinary(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number, dtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape)
  const out = allocate(dtype, numel(shape))
  const ad = a.data
  const bd = b.data
  if (ad.length === out.length && bd.length === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i]!, bd[i]!)
  } else if (bd.length === 1 && ad.length === out.length) {
    const y = bd[0]!
    for (let i = 0; i < out.length; i++) out[i] = f(ad[i]!, y)
  } else if (ad.length === 1 && bd.length === out.length) {
    const x = ad[0]!
    for (let i = 0; i < out.length; i++) out[i] = f(x, bd[i]!)
  } else if (ad.length === out.length && isSuffix(b.shape, shape)) {
    // b repeats along the leading dims (a bias row): two plain loops.
    const nb = bd.length
    for (let o = 0; o < out.length; o += nb) for (let i = 0; i < nb; i++) out[o + i] = f(ad[o + i]!, bd[i]!)
  } else if (bd.length === out.length && isSuffix(a.shape, shape)) {
    const na = ad.length
    for (let o = 0; o < out.length; o += na) for (let i = 0; i < na; i++) out[o + i] = f(ad[i]!, bd[o + i]!)
  } else {
    broadcastLoop(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)], (i, [ia, ib]) => {
      out[i] = f(ad[ia!]!, bd[ib!]!)
    })
  }
  return new Tensor(out, shape)
}

// True when `shape`, without its leading 1s, equals the trailing dims of `outShape`.
function isSuffix(shape: readonly number[], outShape: readonly number[]): boolean {
  let start = 0
  while (start < shape.length && shape[start] === 1) start++
  const n = shape.length - start
  return n > 0 && shape.slice(start).every((d, i) => d === outShape[outShape.length - n + i])
}

/** out[idx] = f(a, b, c) over the broadcast of three shapes (used by where). */
export function mapTernary(op: string, a: Tensor, b: Tensor, c: Tensor, f: (x: number, y: number, z: number) => number, dtype: DType): Tensor {
  const shape = broadcastShapes(op, broadcastShapes(op, a.shape, b.shape), c.shape)
  const out = allocate(dtype, numel(shape))
  const [ad, bd, cd] = [a.data, b.data, c.data]
  const strides = [a, b, c].map((t) => broadcastStrides(t.shape, shape))
  broadcastLoop(shape, strides, (i, [ia, ib, ic]) => {
    out[i] = f(ad[ia!]!, bd[ib!]!, cd[ic!]!)
  })
  return new Tensor(out, shape)
}

/**
 * Visit every index of `shape` in row-major order, tracking one flat offset per input
 * (an odometer over the dims; a stride of 0 repeats a broadcast input).
 */
export function broadcastLoop(shape: readonly number[], strides: number[][], visit: (i: number, offsets: number[]) => void): void {
  const n = numel(shape)
  const nd = shape.length
  const idx = new Array<number>(nd).fill(0)
  const offs = strides.map(() => 0)
  for (let i = 0; i < n; i++) {
    visit(i, offs)
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++
      for (let k = 0; k < strides.length; k++) offs[k]! += strides[k]![d]!
      if (idx[d]! < shape[d]!) break
      for (let k = 0; k < strides.length; k++) offs[k]! -= strides[k]![d]! * shape[d]!
      idx[d] = 0
    }
  }
}

/** Copy `x` laid out as `outShape` (materialised broadcast). */
export function broadcastTo(x: Tensor, outShape: readonly number[]): TypedArray {
  const out = allocate(x.dtype, numel(outShape))
  const src = x.data
  if (src.length === out.length) {
    out.set(src)
    return out
  }
  broadcastLoop(outShape, [broadcastStrides(x.shape, outShape)], (i, [o]) => {
    out[i] = src[o!]!
  })
  return out
}
