// Parity cases for the gpujs backend: the same seeded float32 inputs through a backend under
// test and through the reference kernels in float64, compared at float32 tolerances
// (|got - want| <= atol + rtol |want|, atol 1e-4, rtol 1e-3). Shared by the in-process vitest
// suite, the headless-GL child process (test/gl/parity-headlessgl.ts) and the browser page
// (test/browser/parity-page.ts), so all modes run exactly the same cases.
import type { AdamUpdate, Backend, BinaryOp, Conv2dGeometry, GatherGeometry, MatmulShape, Pool2dGeometry, RegionCopy, SgdUpdate, UnaryOp } from '../../src/tensor/backends/backend.js'
import { broadcastGeometry, broadcastShapes, numel } from '../../src/tensor/shape.js'
import { ReferenceBackend } from '../../src/tensor/backends/reference.js'
import { Generator } from '../../src/tensor/generator.js'
import { syncHost } from '../../src/tensor/device-copy.js'
import type { TypedArray } from '../../src/tensor/dtype.js'

export const ATOL = 1e-4
export const RTOL = 1e-3

export interface ParityResult {
  name: string
  ok: boolean
  /** max |got - want| */
  maxAbsErr: number
  /** max of |got - want| / (atol + rtol |want|); <= 1 passes */
  worstRatio: number
  /** flat index of the worst element and its two values */
  worst: { index: number; got: number; want: number }
}

/** NCHW conv geometry with square stride and padding. */
export function convGeom(batch: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride: number, pad: number): Conv2dGeometry {
  return {
    batch, inChannels: c, inHeight: h, inWidth: w, outChannels: o, kernelHeight: kh, kernelWidth: kw,
    strideH: stride, strideW: stride, padH: pad, padW: pad,
    outHeight: Math.floor((h + 2 * pad - kh) / stride) + 1, outWidth: Math.floor((w + 2 * pad - kw) / stride) + 1,
  }
}

export function poolGeom(batch: number, c: number, h: number, w: number, k: number, stride: number, pad: number): Pool2dGeometry {
  return {
    batch, channels: c, inHeight: h, inWidth: w, kernelHeight: k, kernelWidth: k, strideH: stride, strideW: stride,
    padH: pad, padW: pad, outHeight: Math.floor((h + 2 * pad - k) / stride) + 1, outWidth: Math.floor((w + 2 * pad - k) / stride) + 1,
  }
}

export function mm(batch: number, m: number, k: number, n: number, transA = false, transB = false): MatmulShape {
  return { batch, m, k, n, transA, transB }
}

/** Seeded float32 values in [-1, 1); `levels` > 0 rounds them to that many steps (to make max-pool ties). */
export function randF32(n: number, rng: Generator, levels = 0): Float32Array {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const u = rng.uniform() * 2 - 1
    a[i] = levels > 0 ? Math.round(u * levels) / levels : u
  }
  return a
}

export function compare(name: string, got: ArrayLike<number>, want: ArrayLike<number>): ParityResult {
  // a backend that keeps its output on a device (gpujs) reads it back here (device-copy.ts)
  if (ArrayBuffer.isView(got)) syncHost(got as TypedArray, false)
  let maxAbsErr = 0
  let worstRatio = got.length === want.length ? 0 : Infinity
  let worst = { index: -1, got: NaN, want: NaN }
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!
    const w = want[i]!
    const err = g === w ? 0 : Math.abs(g - w)
    const ratio = Number.isNaN(err) ? Infinity : err / (ATOL + RTOL * Math.abs(w))
    if (err > maxAbsErr) maxAbsErr = err
    if (ratio > worstRatio || worst.index < 0) {
      worstRatio = Math.max(worstRatio, ratio)
      worst = { index: i, got: g, want: w }
    }
  }
  return { name, ok: worstRatio <= 1, maxAbsErr, worstRatio, worst }
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a)

/** One named check: run it on `backend`, return the comparison with the float64 reference. */
export interface ParityCase {
  name: string
  run(backend: Backend): ParityResult
}

function matmulCase(name: string, s: MatmulShape): ParityCase {
  return {
    name: `matmul ${name} [${s.batch}x${s.m}x${s.k}x${s.n}${s.transA ? ' tA' : ''}${s.transB ? ' tB' : ''}]`,
    run(backend) {
      const rng = new Generator(name)
      const a = randF32(s.batch * s.m * s.k, rng)
      const b = randF32(s.batch * s.k * s.n, rng)
      const got = new Float32Array(s.batch * s.m * s.n)
      const want = new Float64Array(got.length)
      backend.matmul(a, b, got, s)
      new ReferenceBackend().matmul(f64(a), f64(b), want, s)
      return compare(this.name, got, want)
    },
  }
}

function convCases(name: string, g: Conv2dGeometry, withBias: boolean): ParityCase[] {
  const tag = `${name} x[${g.batch},${g.inChannels},${g.inHeight},${g.inWidth}] w[${g.outChannels},${g.inChannels},${g.kernelHeight},${g.kernelWidth}] s${g.strideH} p${g.padH}`
  const xLen = g.batch * g.inChannels * g.inHeight * g.inWidth
  const wLen = g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth
  const oLen = g.batch * g.outChannels * g.outHeight * g.outWidth
  const ref = new ReferenceBackend()
  return [
    { name: `conv2d ${tag}${withBias ? ' bias' : ''}`, run(backend) {
      const rng = new Generator(tag)
      const x = randF32(xLen, rng), w = randF32(wLen, rng), bias = withBias ? randF32(g.outChannels, rng) : null
      const got = new Float32Array(oLen), want = new Float64Array(oLen)
      backend.conv2d(x, w, bias, got, g)
      ref.conv2d(f64(x), f64(w), bias ? f64(bias) : null, want, g)
      return compare(this.name, got, want)
    } },
    { name: `conv2dGradInput ${tag}`, run(backend) {
      const rng = new Generator(`gi ${tag}`)
      const go = randF32(oLen, rng), w = randF32(wLen, rng)
      const got = new Float32Array(xLen), want = new Float64Array(xLen)
      backend.conv2dGradInput(go, w, got, g)
      ref.conv2dGradInput(f64(go), f64(w), want, g)
      return compare(this.name, got, want)
    } },
    { name: `conv2dGradWeight ${tag}`, run(backend) {
      const rng = new Generator(`gw ${tag}`)
      const go = randF32(oLen, rng), x = randF32(xLen, rng)
      const got = new Float32Array(wLen), want = new Float64Array(wLen)
      backend.conv2dGradWeight(go, x, got, g)
      ref.conv2dGradWeight(f64(go), f64(x), want, g)
      return compare(this.name, got, want)
    } },
  ]
}

function poolCases(name: string, g: Pool2dGeometry, levels: number): ParityCase[] {
  const tag = `${name} [${g.batch},${g.channels},${g.inHeight},${g.inWidth}] k${g.kernelHeight} s${g.strideH} p${g.padH}`
  const xLen = g.batch * g.channels * g.inHeight * g.inWidth
  const oLen = g.batch * g.channels * g.outHeight * g.outWidth
  const ref = new ReferenceBackend()
  return [
    { name: `maxPool2d ${tag}`, run(backend) {
      const x = randF32(xLen, new Generator(tag), levels)
      const got = new Float32Array(oLen), idx = new Int32Array(oLen)
      const want = new Float64Array(oLen), wantIdx = new Int32Array(oLen)
      backend.maxPool2d(x, got, idx, g)
      ref.maxPool2d(f64(x), want, wantIdx, g)
      const r = compare(this.name, got, want)
      const i = compare(`${this.name} argmax`, idx, wantIdx)
      return i.maxAbsErr === 0 ? r : { ...i, ok: false }
    } },
    { name: `maxPool2dBackward ${tag}`, run(backend) {
      const rng = new Generator(`mb ${tag}`)
      const x = randF32(xLen, rng, levels), go = randF32(oLen, rng)
      const idx = new Int32Array(oLen)
      ref.maxPool2d(x, new Float32Array(oLen), idx, g)
      const got = new Float32Array(xLen), want = new Float64Array(xLen)
      backend.maxPool2dBackward(go, idx, got, g)
      ref.maxPool2dBackward(f64(go), idx, want, g)
      return compare(this.name, got, want)
    } },
    { name: `avgPool2d ${tag}`, run(backend) {
      const x = randF32(xLen, new Generator(`a ${tag}`))
      const got = new Float32Array(oLen), want = new Float64Array(oLen)
      backend.avgPool2d(x, got, g)
      ref.avgPool2d(f64(x), want, g)
      return compare(this.name, got, want)
    } },
    { name: `avgPool2dBackward ${tag}`, run(backend) {
      const go = randF32(oLen, new Generator(`ab ${tag}`))
      const got = new Float32Array(xLen), want = new Float64Array(xLen)
      backend.avgPool2dBackward(go, got, g)
      ref.avgPool2dBackward(f64(go), want, g)
      return compare(this.name, got, want)
    } },
  ]
}

// ---- the primitives between the heavy ones (each output stays on a device on gpujs) ----

// Inputs in a function's comfortable domain (GL gives no promise at NaN or the infinities).
const DOMAIN: Partial<Record<UnaryOp, (v: number) => number>> = {
  log: (v) => Math.abs(v) + 0.1, sqrt: (v) => Math.abs(v), reciprocal: (v) => (v < 0 ? v - 0.5 : v + 0.5), exp: (v) => v * 8,
  sigmoid: (v) => v * 8, tanh: (v) => v * 4, trunc: (v) => v * 5,
}
const UNARY_OPS: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'reciprocal', 'sign', 'trunc', 'copy', 'isfinite']
const BINARY_OPS: BinaryOp[] = ['add', 'mul', 'pow', 'maximum', 'minimum', 'eq', 'gt', 'lt', 'ge', 'le']
const ref64 = new ReferenceBackend()

function unaryCase(op: UnaryOp): ParityCase {
  return { name: `unary ${op} [37]`, run(backend) {
    const x = randF32(37, new Generator(`u ${op}`), 8).map(DOMAIN[op] ?? ((v) => v))
    const got = new Float32Array(37), want = new Float64Array(37)
    backend.unary(op, x, got)
    ref64.unary(op, f64(x), want)
    return compare(this.name, got, want)
  } }
}

// a op b over a broadcast of two shapes; a one-element operand is a scalar (a uniform on GL).
function binaryCase(op: BinaryOp, sa: number[], sb: number[]): ParityCase {
  return { name: `binary ${op} [${sa}] [${sb}]`, run(backend) {
    const rng = new Generator(`b ${op} ${sa} ${sb}`)
    // pow: positive bases with any exponent, and negative bases with integer exponents
    const a = randF32(numel(sa), rng, 4).map((v, i) => (op === 'pow' ? (i % 2 ? Math.abs(v) + 0.25 : v * 3) : v))
    const b = randF32(numel(sb), rng, 4).map((v, i) => (op === 'pow' ? (i % 2 ? v * 2 : Math.round(v * 3)) : v))
    const shape = broadcastShapes(op, sa, sb)
    const g = broadcastGeometry(op, [sa, sb])
    const got = new Float32Array(numel(shape)), want = new Float64Array(numel(shape))
    backend.binary(op, a, b, got, g)
    ref64.binary(op, f64(a), f64(b), want, g)
    return compare(this.name, got, want)
  } }
}

const BROADCASTS: [number[], number[]][] = [[[4, 5], [4, 5]], [[3, 4], [4]], [[2, 3, 4, 5], [3, 1, 1]], [[3, 1], [1, 4]], [[4, 5], []], [[], [6]]]

function elementwiseCases(): ParityCase[] {
  const cases: ParityCase[] = UNARY_OPS.map(unaryCase)
  for (const op of BINARY_OPS) cases.push(binaryCase(op, [3, 4], [4]))
  for (const [sa, sb] of BROADCASTS) cases.push(binaryCase('add', sa, sb), binaryCase('mul', sb, sa))
  cases.push({ name: 'clamp [37]', run(backend) {
    const x = randF32(37, new Generator('clamp'))
    const got = new Float32Array(37), want = new Float64Array(37)
    backend.clamp(x, got, -0.25, 0.5)
    ref64.clamp(f64(x), want, -0.25, 0.5)
    return compare(this.name, got, want)
  } })
  cases.push({ name: 'where [2,3,4] cond [3,1] b scalar', run(backend) {
    const rng = new Generator('where')
    const cond = randF32(3, rng, 1).map((v) => (v > 0 ? 1 : 0)), a = randF32(24, rng), b = new Float32Array([7])
    const g = broadcastGeometry('where', [[3, 1], [2, 3, 4], []])
    const got = new Float32Array(24), want = new Float64Array(24)
    backend.where(cond, a, b, got, g)
    ref64.where(f64(cond), f64(a), f64(b), want, g)
    return compare(this.name, got, want)
  } })
  for (const [from, to] of [[[4], [3, 4]], [[3, 1], [3, 5]], [[1], [2, 3]], [[2, 1, 3], [2, 4, 3]]] as [number[], number[]][]) {
    cases.push({ name: `expand [${from}] to [${to}]`, run(backend) {
      const x = randF32(numel(from), new Generator(`e ${from}`))
      const g = broadcastGeometry('expand', [from, to])
      const got = new Float32Array(numel(to)), want = new Float64Array(numel(to))
      backend.expand(x, got, g)
      ref64.expand(f64(x), want, g)
      return compare(this.name, got, want)
    } })
  }
  for (const [outer, size, inner] of [[3, 7, 5], [4, 1500, 1], [1, 9, 1], [2, 3, 1]]) {
    cases.push({ name: `sum [${outer},${size},${inner}]${size > 1000 ? ' long' : ''}`, run(backend) {
      const x = randF32(outer * size * inner, new Generator(`s ${size}`))
      const got = new Float32Array(outer * inner), want = new Float64Array(outer * inner)
      backend.sum(x, got, outer, size, inner)
      ref64.sum(f64(x), want, outer, size, inner)
      return compare(this.name, got, want)
    } })
    for (const which of ['max', 'min'] as const) {
      cases.push({ name: `argReduce ${which} [${outer},${size},${inner}] ties`, run(backend) {
        const x = randF32(outer * size * inner, new Generator(`a ${which} ${size}`), 3)
        const got = new Int32Array(outer * inner), want = new Int32Array(outer * inner)
        backend.argReduce(which, x, got, outer, size, inner)
        ref64.argReduce(which, x, want, outer, size, inner)
        return compare(this.name, got, want)
      } })
    }
  }
  const regions: [string, RegionCopy][] = [
    ['permute [2,3,4] -> [4,2,3]', { outShape: [4, 2, 3], start: [0, 0, 0], size: [4, 2, 3], srcOffset: 0, srcStrides: [1, 12, 4], fill: 0 }],
    ['narrow dim 1 of [3,5,2] at 1', { outShape: [3, 2, 2], start: [0, 0, 0], size: [3, 2, 2], srcOffset: 2, srcStrides: [10, 2, 1], fill: 0 }],
    ['pad [2,3] into [4,6] at (1,2), fill -1', { outShape: [4, 6], start: [1, 2], size: [2, 3], srcOffset: 0, srcStrides: [3, 1], fill: -1 }],
    ['cat part 2 of [2,5]: [2,2] at column 3, keep', { outShape: [2, 5], start: [0, 3], size: [2, 2], srcOffset: 0, srcStrides: [2, 1], fill: null }],
  ]
  for (const [tag, r] of regions) {
    cases.push({ name: `copyRegion ${tag}`, run(backend) {
      const rng = new Generator(`r ${tag}`)
      const src = randF32(40, rng)
      const old = randF32(numel(r.outShape), rng)
      const got = old.slice(), want = f64(old)
      backend.copyRegion(src, got, r)
      ref64.copyRegion(f64(src), want, r)
      return compare(this.name, got, want)
    } })
  }
  const gathers: GatherGeometry[] = [
    { op: 'gather', dim: 1, xShape: [4, 10], indexShape: [4, 1] },
    { op: 'gather', dim: 0, xShape: [5, 3], indexShape: [2, 3] },
    { op: 'gather', dim: 1, xShape: [2, 6, 3], indexShape: [2, 4, 2] },
  ]
  for (const g of gathers) {
    const tag = `dim ${g.dim} x[${g.xShape}] index[${g.indexShape}]`
    const index = (): Int32Array => {
      const rng = new Generator(`gi ${tag}`)
      return Int32Array.from({ length: numel(g.indexShape) }, () => rng.int(g.xShape[g.dim]!))
    }
    cases.push({ name: `gather ${tag}`, run(backend) {
      const x = randF32(numel(g.xShape), new Generator(`gx ${tag}`))
      const got = new Float32Array(numel(g.indexShape)), want = new Float64Array(got.length)
      backend.gather(x, index(), got, g)
      ref64.gather(f64(x), index(), want, g)
      return compare(this.name, got, want)
    } })
    cases.push({ name: `scatterAdd ${tag}`, run(backend) {
      const src = randF32(numel(g.indexShape), new Generator(`gs ${tag}`))
      const got = new Float32Array(numel(g.xShape)), want = new Float64Array(got.length)
      backend.scatterAdd(src, index(), got, g)
      ref64.scatterAdd(f64(src), index(), want, g)
      return compare(this.name, got, want)
    } })
  }
  return cases
}

// One update of every state array (float32 on the backend, float64 in the reference), compared array by array.
function updateCase(name: string, arrays: number, update: (b: Backend, a: (Float32Array | Float64Array)[]) => void): ParityCase {
  return { name, run(backend) {
    const rng = new Generator(name)
    // p, grad, then the state (moments are non-negative where a square root reads them)
    const init = Array.from({ length: arrays }, (_, k) => randF32(41, rng).map((v) => (k >= 3 ? Math.abs(v) * 1e-2 : v)))
    const got = init.map((a) => a.slice())
    const want = init.map(f64)
    update(backend, got)
    update(ref64, want)
    const results = got.map((a, k) => compare(`${name} [array ${k}]`, a, want[k]!))
    return results.find((r) => !r.ok) ?? results[0]!
  } }
}

function adam(over: Partial<AdamUpdate>): AdamUpdate {
  return { beta1: 0.9, beta2: 0.999, stepSize: 1e-3 / (1 - 0.9 ** 3), bc2Sqrt: Math.sqrt(1 - 0.999 ** 3), eps: 1e-8, weightDecay: 0, decoupled: false, decay: 1, maximize: false, ...over }
}

function sgd(over: Partial<SgdUpdate>): SgdUpdate {
  return { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, first: false, ...over }
}

type F = Float32Array | Float64Array
const OPTIMIZER_CASES: ParityCase[] = [
  updateCase('adamUpdate', 4, (b, [p, g, m, v]) => b.adamUpdate(p as F, g as F, m as F, v as F, null, adam({}))),
  updateCase('adamUpdate amsgrad weightDecay maximize', 5, (b, [p, g, m, v, vm]) => b.adamUpdate(p as F, g as F, m as F, v as F, vm as F, adam({ weightDecay: 0.1, maximize: true }))),
  updateCase('adamUpdate AdamW', 4, (b, [p, g, m, v]) => b.adamUpdate(p as F, g as F, m as F, v as F, null, adam({ weightDecay: 0.1, decoupled: true, decay: 1 - 1e-3 * 0.1 }))),
  updateCase('sgdUpdate plain', 2, (b, [p, g]) => b.sgdUpdate(p as F, g as F, null, sgd({ momentum: 0 }))),
  updateCase('sgdUpdate momentum first step', 3, (b, [p, g, buf]) => b.sgdUpdate(p as F, g as F, buf as F, sgd({ first: true }))),
  updateCase('sgdUpdate nesterov weightDecay dampening', 3, (b, [p, g, buf]) => b.sgdUpdate(p as F, g as F, buf as F, sgd({ nesterov: true, weightDecay: 0.01, dampening: 0.1 }))),
]

/** Every parity case; reductions past 1000 are marked 'long' in their names. */
export const PARITY_CASES: ParityCase[] = [
  matmulCase('1x1', mm(1, 1, 1, 1)),
  matmulCase('odd', mm(1, 7, 13, 5)),
  matmulCase('matrix-vector (flat output)', mm(2, 7, 13, 1)),
  matmulCase('long row-vector (flat output)', mm(1, 1, 1500, 9, true)),
  matmulCase('batched', mm(3, 9, 11, 6)),
  matmulCase('tA', mm(2, 9, 11, 6, true)),
  matmulCase('tB', mm(2, 9, 11, 6, false, true)),
  matmulCase('tAtB', mm(2, 5, 17, 3, true, true)),
  matmulCase('square', mm(1, 64, 64, 64)),
  matmulCase('long k=3136', mm(2, 4, 3136, 5)),
  matmulCase('long k=3136 tA', mm(1, 3, 3136, 10, true)),
  matmulCase('long k=4608 tB', mm(1, 3, 4608, 2, false, true)),
  ...convCases('5x5 batch1 odd', convGeom(1, 1, 11, 9, 3, 5, 5, 1, 2), true),
  ...convCases('1x1', convGeom(2, 3, 7, 9, 4, 1, 1, 1, 0), false),
  ...convCases('3x3 stride2 pad1', convGeom(2, 2, 9, 9, 3, 3, 3, 2, 1), true),
  ...convCases('3x3 stride2 pad0', convGeom(1, 3, 10, 8, 2, 3, 3, 2, 0), false),
  ...convCases('5x5 stride2 pad2', convGeom(2, 2, 12, 13, 2, 5, 5, 2, 2), false),
  ...convCases('long C*k*k=4608', convGeom(1, 512, 3, 3, 2, 3, 3, 1, 1), false),
  ...convCases('long grad-weight batch*oh*ow=1568', convGeom(8, 2, 14, 14, 3, 3, 3, 1, 1), false),
  ...convCases('long batch loop 1200', convGeom(1200, 1, 2, 2, 1, 1, 1, 1, 0), false),
  ...poolCases('2x2', poolGeom(2, 3, 8, 8, 2, 2, 0), 0),
  ...poolCases('3x3 s2 p1 odd ties', poolGeom(1, 2, 9, 7, 3, 2, 1), 3),
  ...poolCases('3x3 s1 p1 overlap', poolGeom(1, 2, 6, 5, 3, 1, 1), 4),
  ...poolCases('2x2 s2 p1', poolGeom(2, 1, 7, 7, 2, 2, 1), 0),
  ...elementwiseCases(),
  ...OPTIMIZER_CASES,
]

/** Run every case on `backend`; exceptions become failed results naming the error. */
export function runParitySuite(backend: Backend, cases: ParityCase[] = PARITY_CASES): ParityResult[] {
  return cases.map((c) => {
    try {
      return c.run(backend)
    } catch (e) {
      return { name: c.name, ok: false, maxAbsErr: Infinity, worstRatio: Infinity, worst: { index: -1, got: NaN, want: NaN }, error: String(e) } as ParityResult
    }
  })
}
