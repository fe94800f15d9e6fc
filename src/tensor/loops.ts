// Elementwise loops on raw arrays, with broadcasting. They make new tensors and record
// nothing: ops call them in forward, and backward composes Tensor ops on top of them.
import { Tensor } from './tensor.js'
import { allocate, type DType, type TypedArray } from './dtype.js'
import { broadcastShapes, broadcastStrides, numel } from './shape.js'

/** out[i] = f(x[i]) */
export function mapUnary(x: Tensor, f: (v: number) => number, dtype: DType = x.dtype): Tensor {
  const out = allocate(dtype, x.data.length)
  specialize(unaryLoop, f, x.data, out)(f, x.data, out)
  return new Tensor(out, x.shape)
}

/** out[idx] = f(a[idx], b[idx]) over the broadcast shape of a and b. */
export function mapBinary(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number, dtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape)
  const out = allocate(dtype, numel(shape))
  const ad = a.data
  const bd = b.data
  if (ad.length === out.length && bd.length === out.length) {
    specialize(binaryLoop, f, ad, bd, out)(f, ad, bd, out)
  } else if (ad.length === out.length && bd.length === 1) {
    specialize(scalarRightLoop, f, ad, bd, out)(f, ad, bd[0]!, out)
  } else if (bd.length === out.length && ad.length === 1) {
    specialize(scalarLeftLoop, f, ad, bd, out)(f, ad[0]!, bd, out)
  } else if (ad.length === out.length && isSuffix(b.shape, shape)) {
    // b is a row repeated along the leading dims (a bias).
    specialize(rowRightLoop, f, ad, bd, out)(f, ad, bd, out)
  } else if (bd.length === out.length && isSuffix(a.shape, shape)) {
    specialize(rowLeftLoop, f, ad, bd, out)(f, ad, bd, out)
  } else {
    broadcastLoop(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)], (i, [ia, ib]) => {
      out[i] = f(ad[ia!]!, bd[ib!]!)
    })
  }
  return new Tensor(out, shape)
}

// The loops themselves, each written once.
function unaryLoop(f: (v: number) => number, x: TypedArray, out: TypedArray): void {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!)
}

function binaryLoop(f: (x: number, y: number) => number, a: TypedArray, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = f(a[i]!, b[i]!)
}

function scalarRightLoop(f: (x: number, y: number) => number, a: TypedArray, b: number, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = f(a[i]!, b)
}

function scalarLeftLoop(f: (x: number, y: number) => number, a: number, b: TypedArray, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = f(a, b[i]!)
}

function rowRightLoop(f: (x: number, y: number) => number, a: TypedArray, b: TypedArray, out: TypedArray): void {
  const row = b.length
  for (let o = 0; o < out.length; o += row) for (let i = 0; i < row; i++) out[o + i] = f(a[o + i]!, b[i]!)
}

function rowLeftLoop(f: (x: number, y: number) => number, a: TypedArray, b: TypedArray, out: TypedArray): void {
  const row = a.length
  for (let o = 0; o < out.length; o += row) for (let i = 0; i < row; i++) out[o + i] = f(a[i]!, b[o + i]!)
}

// NOTE: one shared loop that sees every element function and all three array types runs
// megamorphic: each element pays an unspecialised call and a generic typed-array access
// (10-30 ns here, measured). A private copy of the loop per (function source, array types)
// stays monomorphic, so V8 inlines f and the typed loads. Copies are compiled once from the
// loop's own source and cached; there are a few dozen of them.
const copies = new Map<string, unknown>()

function specialize<L extends (...args: never[]) => void>(loop: L, f: (...xs: number[]) => number, ...arrays: TypedArray[]): L {
  const key = `${loop.name}|${arrays.map((x) => x.constructor.name).join(',')}|${f.toString()}`
  let copy = copies.get(key) as L | undefined
  if (!copy) {
    copy = new Function(`return (${loop.toString()})`)() as L
    copies.set(key, copy)
  }
  return copy
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
