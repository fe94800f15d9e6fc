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
 * A shape as PyTorch's creation functions take it: one array (`zeros([2, 3])`) or the sizes as
 * separate numbers (`zeros(2, 3)`), either way optionally followed by an options object.
 */
export type SizeArgs<O> = [shape: Shape, options?: O] | number[] | [...sizes: number[], options: O]

/** Split size arguments into a checked shape and checked options (keys limited to `known`). */
function sizeArgs<O extends object>(op: string, args: unknown[], known: readonly string[]): { shape: Shape; options: O } {
  const usage = `${op}(2, 3) or ${op}([2, 3]), optionally with an options object last`
  let shape: unknown
  let rest: unknown[]
  if (Array.isArray(args[0])) {
    shape = args[0]
    rest = args.slice(1)
  } else {
    let n = 0
    while (n < args.length && typeof args[n] === 'number') n++
    shape = args.slice(0, n)
    rest = args.slice(n)
    if (n === 0 && rest.length > 0 && !isOptionsObject(rest[0])) {
      throw new Error(`${op}: expected a shape like ${usage}; got ${describeArg(args[0])}`)
    }
  }
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== undefined && !isOptionsObject(rest[0]))) {
    throw new Error(`${op}: after the shape only an options object may follow (${usage}); got ${rest.map(describeArg).join(', ')}`)
  }
  const sizes = shape as unknown[]
  const bad = sizes.findIndex((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)
  if (bad >= 0) {
    const shown = sizes.every((d) => typeof d === 'number') ? `invalid shape ${formatShape(sizes as number[])}: ` : ''
    throw new Error(`${op}: ${shown}sizes must be non-negative integers, got ${describeArg(sizes[bad])} at position ${bad}`)
  }
  const options = (rest[0] ?? {}) as Record<string, unknown>
  checkOptions(op, options, known)
  return { shape: sizes as number[], options: options as O }
}

/** Throw on option keys a function does not know (a typo like requires_grad is not silently ignored). */
function checkOptions(op: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${op}: unknown option '${key}' (known: ${known.join(', ')})`)
  }
  const dtype = options['dtype']
  if (dtype !== undefined && dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    throw new Error(`${op}: dtype must be 'float32', 'float64' or 'int32', got ${describeArg(dtype)}`)
  }
  if (options['requiresGrad'] !== undefined && typeof options['requiresGrad'] !== 'boolean') {
    throw new Error(`${op}: requiresGrad must be true or false, got ${describeArg(options['requiresGrad'])}`)
  }
  const g = options['generator']
  if (g !== undefined && (typeof g !== 'object' || g === null || typeof (g as Generator).uniform !== 'function')) {
    throw new Error(`${op}: generator must be a Generator (new Generator(seed)), got ${describeArg(g)}`)
  }
}

function isOptionsObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)
}

/** A value described for an error message without calling its own toString. */
function describeArg(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`
  if (Array.isArray(v)) return `an array of length ${v.length}`
  return `a ${typeof v === 'object' ? Object.prototype.toString.call(v).slice(8, -1) : typeof v}`
}

const CREATE_KEYS = ['dtype', 'requiresGrad'] as const
const RANDOM_KEYS = ['dtype', 'requiresGrad', 'generator'] as const

/**
 * A tensor from a number, nested arrays or a typed array (copied).
 * NaN and Infinity are allowed in the data.
 * @example tensor([[1, 2], [3, 4]], { requiresGrad: true })
 */
export function tensor(data: NestedNumbers | TypedArray, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  if (!isOptionsObject(options as unknown)) throw new Error(`tensor: options must be an object like { dtype: 'float64' }, got ${describeArg(options)}`)
  checkOptions('tensor', options as Record<string, unknown>, ['dtype', 'requiresGrad', 'shape'])
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

/** A tensor filled with `value` (the shape is one array, as in PyTorch). @example full([2, 3], 0.5) */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  if (!Array.isArray(shape)) throw new Error(`full: the shape must be an array like full([2, 3], 0.5), got ${describeArg(shape)}`)
  assertValidShape('full', shape)
  if (typeof value !== 'number') throw new Error(`full: the fill value must be a number, got ${describeArg(value)}`)
  checkOptions('full', options as Record<string, unknown>, CREATE_KEYS)
  const out = allocate(options.dtype ?? 'float32', numel(shape))
  if (value !== 0) out.fill(value)
  return finish(new Tensor(out, shape), options)
}

/** A tensor filled with 0; the shape as an array or as separate sizes. @example zeros(2, 3) // = zeros([2, 3]) */
export function zeros(...args: SizeArgs<CreateOptions>): Tensor {
  const { shape, options } = sizeArgs<CreateOptions>('zeros', args, CREATE_KEYS)
  return full(shape, 0, options)
}

/** A tensor filled with 1; the shape as an array or as separate sizes. @example ones([4], { dtype: 'float64' }) */
export function ones(...args: SizeArgs<CreateOptions>): Tensor {
  const { shape, options } = sizeArgs<CreateOptions>('ones', args, CREATE_KEYS)
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

/** A tensor of uniform samples in [0, 1). @example rand([2, 2], { generator: new Generator(0) }) // or rand(2, 2, {...}) */
export function rand(...args: SizeArgs<RandomOptions>): Tensor {
  const { shape, options } = sizeArgs<RandomOptions>('rand', args, RANDOM_KEYS)
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'float32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = g.uniform()
  return finish(t, options)
}

/** A tensor of standard normal samples, N(0, 1). @example randn(3, 4) // = randn([3, 4]); randn([3], { generator: g }) */
export function randn(...args: SizeArgs<RandomOptions>): Tensor {
  const { shape, options } = sizeArgs<RandomOptions>('randn', args, RANDOM_KEYS)
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'float32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = g.normal()
  return finish(t, options)
}

/** A tensor of uniform random integers in [low, high), int32. @example randint(0, 10, [5]) */
export function randint(low: number, high: number, shape: Shape, options: Omit<RandomOptions, 'requiresGrad'> = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: need integers low < high, got low=${describeArg(low)} high=${describeArg(high)}`)
  }
  if (!Array.isArray(shape)) throw new Error(`randint: the shape must be an array like randint(0, 10, [2, 3]), got ${describeArg(shape)}`)
  checkOptions('randint', options as Record<string, unknown>, ['dtype', 'generator'])
  const g = options.generator ?? defaultGenerator()
  const t = zeros(shape, { dtype: options.dtype ?? 'int32' })
  for (let i = 0; i < t.data.length; i++) t.data[i] = low + g.int(high - low)
  return t
}
