// Making tensors: from data, filled, ranges, and random (always through a Generator).
import { Tensor } from './tensor.js'
import { allocate, assertDType, dtypeOf, type DType, type TypedArray } from './dtype.js'
import { assertValidShape, formatShape, numel, type Shape } from './shape.js'
import { defaultGenerator, type Generator } from './generator.js'

/** Nested arrays of numbers (or booleans, stored as 0/1) that `tensor()` accepts. */
export type NestedNumbers = number | boolean | NestedNumbers[]

/** Options shared by the tensor constructors. */
export interface CreateOptions {
  /** Element type (default 'float32'). */
  dtype?: DType
  /** Make the new tensor a leaf that backward() computes a grad for. */
  requiresGrad?: boolean
}

/** Options of the random constructors: a seeded generator on top of dtype and requiresGrad. */
export interface RandomOptions extends CreateOptions {
  /** Defaults to the global generator (see manualSeed). */
  generator?: Generator
}

/**
 * A tensor from a number, nested arrays or a typed array (copied).
 * NaN and Infinity are allowed in the data.
 * @example tensor([[1, 2], [3, 4]], { requiresGrad: true })
 */
export function tensor(data: NestedNumbers | TypedArray, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const dtype = options.dtype ?? dtypeOf(data as TypedArray)
    const out = allocate(assertDType(dtype), (data as TypedArray).length)
    out.set(data as TypedArray)
    return finish(new Tensor(out, options.shape ?? [out.length]), options)
  }
  const shape = inferShape(data)
  const flat: number[] = []
  flatten(data, shape, 0, flat)
  const dtype = assertDType(options.dtype ?? 'float32')
  const out = allocate(dtype, flat.length)
  for (let i = 0; i < flat.length; i++) out[i] = flat[i]!
  return finish(new Tensor(out, options.shape ?? shape), options)
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true
  return t
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = []
  let cur: NestedNumbers = data
  while (Array.isArray(cur)) {
    shape.push(cur.length)
    if (cur.length === 0) break
    cur = cur[0]!
  }
  return shape
}

function flatten(data: NestedNumbers, shape: number[], dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array, expected shape ${formatShape(shape)}`)
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new Error(`tensor: expected numbers, got ${typeof data} (${String(data)})`)
    }
    out.push(Number(data))
    return
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new Error(`tensor: ragged nested array at depth ${dim}: expected ${shape[dim]} entries, got ${Array.isArray(data) ? data.length : 'a number'}`)
  }
  for (const d of data) flatten(d, shape, dim + 1, out)
}

/** A tensor filled with `value`. @example full([2, 3], 0.5) */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  assertValidShape('full', shape)
  const out = allocate(options.dtype ?? 'float32', numel(shape))
  if (value !== 0) out.fill(value)
  return finish(new Tensor(out, shape), options)
}

/** A tensor filled with 0. @example zeros([2, 3]) */
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options)
}

/** A tensor filled with 1. @example ones([4], { dtype: 'float64' }) */
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options)
}

/** Zeros with the shape and dtype of `t`. @example zerosLike(w) */
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(allocate(t.dtype, t.numel()), t.shape)
}

/** Ones with the shape and dtype of `t`. @example onesLike(w) */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype })
}

/**
 * Values start, start+step, ... below end (int32 when all three are integers, like PyTorch).
 * @example arange(5) // [0, 1, 2, 3, 4]
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start]
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}`)
  const n = Math.max(0, Math.ceil((end - start) / step))
  const ints = [start, end, step].every(Number.isInteger)
  const out = allocate(options.dtype ?? (ints ? 'int32' : 'float32'), n)
  for (let i = 0; i < n; i++) out[i] = start + i * step
  return finish(new Tensor(out, [n]), options)
}

/** The n x m identity. @example eye(3) */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const t = zeros([n, m], options)
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1
  return t
}

/** A tensor of uniform samples in [0, 1). @example rand([2, 2], { generator: new Generator(0) }) */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'float32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = g.uniform()
  return finish(t, options)
}

/** A tensor of standard normal samples, N(0, 1). @example randn([3], { generator: g }) */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'float32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = g.normal()
  return finish(t, options)
}

/** A tensor of uniform random integers in [low, high), int32. @example randint(0, 10, [5]) */
export function randint(low: number, high: number, shape: Shape, options: Omit<RandomOptions, 'requiresGrad'> = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: need integers low < high, got low=${low} high=${high}`)
  }
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'int32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = low + g.int(high - low)
  return t
}
