// The elementwise primitives of the Backend seam (unary, clamp, binary, where, sum) on every backend,
// against formulas written here element by element with plain index arithmetic (no Broadcast, no
// merging of dims), on shapes that exercise each way of broadcasting. The tables below are typed
// Record<UnaryOp | BinaryOp, ...>, so a primitive added to backend.ts without a case here does not compile.
import { afterAll, describe, expect, it } from 'vitest'
import type { Backend, BinaryOp, UnaryOp } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { broadcastGeometry, broadcastShapes, numel, stridesOf } from '../src/tensor/shape.js'
import { Generator } from '../src/tensor/generator.js'

const UNARY: Record<UnaryOp, (v: number) => number> = {
  neg: (v) => -v, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, abs: Math.abs, relu: (v) => (v > 0 ? v : Number.isNaN(v) ? NaN : 0),
  sigmoid: (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))), tanh: Math.tanh, reciprocal: (v) => 1 / v,
  sign: (v) => Math.sign(v), trunc: Math.trunc, copy: (v) => v, isfinite: (v) => (Number.isFinite(v) ? 1 : 0),
}
const BINARY: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y, mul: (x, y) => x * y, pow: Math.pow, maximum: Math.max, minimum: Math.min,
  eq: (x, y) => +(x === y), gt: (x, y) => +(x > y), lt: (x, y) => +(x < y), ge: (x, y) => +(x >= y), le: (x, y) => +(x <= y),
}
const SPECIAL = [0, -0, 1, -1, 0.5, Infinity, -Infinity, NaN, 80, -80]

function values(n: number, rng: Generator): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = i < SPECIAL.length ? SPECIAL[i]! : Math.round((rng.uniform() * 6 - 3) * 4) / 4
  return a
}

// The flat index into an input of `shape` of the output element at flat index i of `out`.
function sourceIndex(i: number, out: number[], shape: number[]): number {
  const st = stridesOf(shape)
  let at = 0
  let rest = i
  for (let d = out.length - 1; d >= 0; d--) {
    const coord = rest % out[d]!
    rest = Math.floor(rest / out[d]!)
    const k = d - (out.length - shape.length)
    if (k >= 0 && shape[k] !== 1) at += coord * st[k]!
  }
  return at
}

const SHAPES: [number[], number[]][] = [
  [[4, 5], [4, 5]], [[4, 5], []], [[], [4, 5]], [[3, 4], [4]], [[4], [3, 4]], [[3, 1], [1, 4]],
  [[2, 3, 4, 5], [3, 1, 1]], [[2, 1, 3], [4, 1]], [[5, 1], [5, 1]], [[0, 3], [3]], [[], []],
]

// Exact, special values (NaN, infinities, -0) included, on the CPU backends. The gpujs kernels
// compute in GLSL-like float32 with the device's own exp, log and division, so they are held to
// float32 tolerances instead, on finite inputs, on every GPU.js mode: the elementwise cases of
// test/gl/parity-cases.ts (run by test/backend-gpujs.test.ts).
const backends: [string, Backend][] = [
  ['reference', new ReferenceBackend()],
  ['wasm', new WasmBackend({ threads: 1 })],
]
afterAll(() => backends.forEach(([, b]) => b.dispose()))

describe('broadcastGeometry merges the dims every input runs on contiguously across', () => {
  it.each([
    [[[4, 5], [4, 5]], { shape: [20], strides: [[1], [1]] }],
    [[[4, 5], []], { shape: [20], strides: [[1], [0]] }],
    [[[32, 64, 14, 14], [64, 1, 1]], { shape: [32, 64, 196], strides: [[12544, 196, 1], [0, 1, 0]] }],
    [[[3, 1], [1, 4]], { shape: [3, 4], strides: [[1, 0], [0, 1]] }],
    [[[], []], { shape: [1], strides: [[0], [0]] }],
  ] as const)('%j', (shapes, want) => {
    expect(broadcastGeometry('t', shapes as unknown as number[][])).toEqual(want)
  })

  it('names the op and the shapes when they do not broadcast', () => {
    expect(() => broadcastGeometry('add', [[3, 4], [3]])).toThrow(/add: shapes \[3,4\] and \[3\] cannot be broadcast/)
  })
})

describe.each(backends)('elementwise primitives on %s', (_name, backend) => {
  const rng = new Generator(1)
  for (const dtype of [Float32Array, Float64Array] as const) {
    const make = (xs: ArrayLike<number>): Float32Array | Float64Array => (dtype === Float32Array ? Float32Array.from(xs) : Float64Array.from(xs))
    it.each(Object.keys(UNARY) as UnaryOp[])(`unary %s (${dtype.name})`, (op) => {
      const x = dtype.from(values(37, rng))
      const out = new dtype(x.length)
      backend.unary(op, x, out)
      expect(Array.from(out)).toEqual(Array.from(make(Array.from(x, UNARY[op]))))
    })

    it.each(Object.keys(BINARY) as BinaryOp[])(`binary %s (${dtype.name}), every broadcast pattern`, (op) => {
      for (const [sa, sb] of SHAPES) {
        const shape = broadcastShapes(op, sa, sb)
        const a = dtype.from(values(numel(sa), rng))
        const b = dtype.from(values(numel(sb), rng))
        const out = new dtype(numel(shape))
        backend.binary(op, a, b, out, broadcastGeometry(op, [sa, sb]))
        const want = make(Array.from({ length: out.length }, (_, i) => BINARY[op](a[sourceIndex(i, shape, sa)]!, b[sourceIndex(i, shape, sb)]!)))
        expect(Array.from(out), `${JSON.stringify([sa, sb])}`).toEqual(Array.from(want))
      }
    })
  }

  it.each([[3, 5, 1], [2, 4, 3], [1, 6, 7], [4, 0, 2], [3, 1, 1]])('sum over the middle of [%i, %i, %i], in order', (outer, size, inner) => {
    for (const dtype of [Float32Array, Float64Array, Int32Array] as const) {
      const x = dtype.from(Array.from(values(outer * size * inner, rng), (v) => (dtype === Int32Array ? Math.trunc(Number.isFinite(v) ? v : 1) : v)))
      const out = new dtype(outer * inner).fill(7) // stale values must be overwritten
      backend.sum(x, out, outer, size, inner)
      const want = Array.from({ length: outer * inner }, (_, j) => {
        const [o, i] = [Math.floor(j / inner), j % inner]
        let acc = inner === 1 ? 0 : dtype.of(0)[0]!
        for (let k = 0; k < size; k++) acc = inner === 1 ? acc + x[(o * size + k) * inner + i]! : dtype.of(acc + x[(o * size + k) * inner + i]!)[0]!
        return acc
      })
      expect(Array.from(out), `${dtype.name}`).toEqual(Array.from(dtype.from(want)))
    }
  })

  it('clamp keeps NaN and both bounds', () => {
    const x = Float32Array.from([-2, -1, 0, 1, 2, NaN, Infinity])
    const out = new Float32Array(x.length)
    backend.clamp(x, out, -1, 1)
    expect(Array.from(out)).toEqual([-1, -1, 0, 1, 1, NaN, 1])
  })

  it('where picks a where cond is nonzero, over three broadcast shapes', () => {
    const [sc, sa, sb] = [[3, 1], [1, 4], []]
    const cond = Float32Array.from([1, 0, NaN]) // NaN is nonzero: true, as in PyTorch's bool()
    const a = Float32Array.from([10, 20, 30, 40])
    const b = Float32Array.from([-1])
    const out = new Float32Array(12)
    backend.where(cond, a, b, out, broadcastGeometry('where', [sc!, sa!, sb!]))
    expect(Array.from(out)).toEqual([10, 20, 30, 40, -1, -1, -1, -1, 10, 20, 30, 40])
  })

  it('an unknown function is an error naming the primitive and the functions it has', () => {
    const x = new Float32Array(2)
    expect(() => backend.unary('erf' as UnaryOp, x, x)).toThrow(/unary: unknown function 'erf'; expected one of neg, exp, .*isfinite/)
    expect(() => backend.binary('sub' as BinaryOp, x, x, x, broadcastGeometry('sub', [[2], [2]]))).toThrow(/binary: unknown function 'sub'; expected one of add, mul, .*le/)
  })

  it('trunc and the comparisons write int32 outputs', () => {
    const out = new Int32Array(3)
    backend.unary('trunc', Float32Array.from([2.7, -2.7, 1e10]), out)
    expect(Array.from(out)).toEqual([2, -2, 1410065408])
    backend.binary('gt', Int32Array.from([1, 5, 3]), Int32Array.from([2]), out, broadcastGeometry('gt', [[3], [1]]))
    expect(Array.from(out)).toEqual([0, 1, 1])
  })
})

// The wasm backend's SIMD kernels (src/tensor/backends/wasm/elementwise-kernels.ts, sum-kernels.ts)
// against the reference loops, bit for bit, on sizes that take each path of the driver: row tails that are
// not a multiple of 4, a broadcast operand on either side, blocks of rows, many outer blocks, and
// calls big enough to be cut into tasks for two threads (rows split into bands, a lone row split
// into ranges).
describe('wasm SIMD elementwise and sum kernels agree with the reference bit for bit', () => {
  const reference = new ReferenceBackend()
  const wasm = new WasmBackend({ threads: 2 })
  afterAll(() => wasm.dispose())
  const rng = new Generator(7)
  const random = (n: number): Float32Array => Float32Array.from(values(n, rng), (v, i) => (i < SPECIAL.length ? v : v + rng.uniform() - 0.5))
  const BIG: [number[], number[]][] = [
    [[70001], [70001]], [[70001], []], [[], [70003]], // one row, cut into ranges
    [[300, 257], [300, 257]], [[300, 257], [257]], [[300, 1], [300, 257]], // rows cut into bands
    [[4, 64, 263], [64, 1]], [[6, 5, 7], [5, 7]], // outer blocks (the NCHW bias pattern first)
    [[3, 4, 5, 6], [4, 1, 6]], [[2, 3], [2, 3]], [[1], [1]],
  ]
  it.each(['neg', 'abs', 'sqrt', 'relu', 'copy'] as UnaryOp[])('unary %s', (op) => {
    for (const n of [1, 3, 4, 5, 70001]) {
      const x = random(n)
      const [want, got] = [new Float32Array(n), new Float32Array(n)]
      reference.unary(op, x, want)
      wasm.unary(op, x, got)
      expect(Array.from(got), `n=${n}`).toEqual(Array.from(want))
    }
  })
  it.each([[1, 70001, 1], [70001, 3, 1], [5, 3000, 9], [300, 40, 23], [2, 50000, 5], [1, 9, 70003]])('sum of [%i, %i, %i]', (outer, size, inner) => {
    const x = random(outer * size * inner)
    const [want, got] = [new Float32Array(outer * inner), new Float32Array(outer * inner).fill(NaN)]
    reference.sum(x, want, outer, size, inner)
    wasm.sum(x, got, outer, size, inner)
    expect(Array.from(got)).toEqual(Array.from(want))
  })
  it.each(['add', 'mul', 'maximum', 'minimum', 'eq', 'gt', 'lt', 'ge', 'le'] as BinaryOp[])('binary %s', (op) => {
    for (const [sa, sb] of BIG) {
      const shape = broadcastShapes(op, sa, sb)
      const [a, b] = [random(numel(sa)), random(numel(sb))]
      // equal values in places, so eq, ge and le see ties
      for (let i = 0; i < Math.min(a.length, b.length); i += 3) a[i] = b[i]!
      const [want, got] = [new Float32Array(numel(shape)), new Float32Array(numel(shape))]
      const g = broadcastGeometry(op, [sa, sb])
      reference.binary(op, a, b, want, g)
      wasm.binary(op, a, b, got, g)
      expect(Array.from(got), JSON.stringify([sa, sb])).toEqual(Array.from(want))
    }
  })
})
