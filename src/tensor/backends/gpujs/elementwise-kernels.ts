// GPU.js kernel sources for the primitives between the heavy ones: elementwise functions with
// broadcasting, sums and arg-extrema along a dim, gather and its gradient. With them every op of
// a training step runs on the device, so tensors stay there between kernels (device-copy.ts).
// The formulas are the reference backend's (reference.ts); one thread per output element, as in
// kernels.ts, whose conventions (constants as loop bounds, exact integer division) hold here.
//
// An operand is either an array (a texture, or a host array GPU.js uploads) read at a computed
// offset, or a scalar: a one-element host array (a number lifted by an op, the gradient seed
// 1) passed as a plain kernel argument (a uniform on GL), so it is never uploaded as a texture.
//
// NOTE: GL shaders do not promise IEEE NaN semantics (a compiler may fold `v != v`, and GLSL's
// max(NaN, 0) is 0 on Mesa), so the formulas only use comparisons that come out false for NaN
// and let it flow through arithmetic: relu is `v <= 0 ? 0 : v`, maximum falls through to a + b.
// What is still not promised there: argmax/argmin let NaN win (here the first NaN is skipped),
// and a gather index outside its dim, which gives NaN instead of an error.
import type { BinaryOp, GatherGeometry, RegionCopy, UnaryOp } from '../backend.js'
import { stridesOf, type Broadcast } from '../../shape.js'
import { divmod, spec, type KernelSpec } from './kernels.js'

/** How a kernel reads one input: at an offset of an array, or as one number. */
export type Operand = 'array' | 'scalar'

// The largest finite float32: |v| <= it holds for finite v only (false for NaN and the infinities).
const F32_MAX = '3.4028234663852886e38'

// Each unary function as statements on `v` ending in a return.
const UNARY: Record<UnaryOp, string> = {
  neg: 'return -v;',
  exp: 'return Math.exp(v);',
  log: 'return Math.log(v);',
  sqrt: 'return Math.sqrt(v);',
  abs: 'return Math.abs(v);',
  relu: 'if (v <= 0.0) { return 0.0; }\n  return v;',
  // the form that never overflows exp, as the reference
  sigmoid: 'if (v >= 0.0) { return 1.0 / (1.0 + Math.exp(-v)); }\n  const e = Math.exp(v);\n  return e / (1.0 + e);',
  // tanh(|v|) = (1 - e^{-2|v|}) / (1 + e^{-2|v|}), sign restored (GLSL ES 1.0 has no tanh)
  tanh: 'const e = Math.exp(-2.0 * Math.abs(v));\n  const t = (1.0 - e) / (1.0 + e);\n  if (v < 0.0) { return -t; }\n  return t;',
  reciprocal: 'return 1.0 / v;',
  sign: 'if (v > 0.0) { return 1.0; }\n  if (v < 0.0) { return -1.0; }\n  return v;',
  trunc: 'if (v >= 0.0) { return Math.floor(v); }\n  return -Math.floor(-v);',
  copy: 'return v;',
  isfinite: `if (Math.abs(v) <= ${F32_MAX}) { return 1.0; }\n  return 0.0;`,
}

// Each binary function as statements on `a`, `b` ending in a return; `nan` and `inf` are
// arguments of the kernel (pow's edge cases; GLSL's pow is undefined for a <= 0).
const BINARY: Record<BinaryOp, string> = {
  add: 'return a + b;',
  mul: 'return a * b;',
  pow: [
    'if (b == 0.0) { return 1.0; }',
    'if (a > 0.0) { return Math.pow(a, b); }',
    'if (a == 0.0) { if (b > 0.0) { return 0.0; } return inf; }',
    'if (Math.floor(b) == b) {',
    '    const r = Math.pow(-a, b);',
    '    if (Math.floor(b * 0.5) * 2.0 == b) { return r; }',
    '    return -r;',
    '  }',
    'return nan;',
  ].join('\n  '),
  maximum: 'if (a > b) { return a; }\n  if (b > a) { return b; }\n  if (a == b) { return a; }\n  return a + b;',
  minimum: 'if (a < b) { return a; }\n  if (b < a) { return b; }\n  if (a == b) { return a; }\n  return a + b;',
  eq: 'if (a == b) { return 1.0; }\n  return 0.0;',
  gt: 'if (a > b) { return 1.0; }\n  return 0.0;',
  lt: 'if (a < b) { return 1.0; }\n  return 0.0;',
  ge: 'if (a >= b) { return 1.0; }\n  return 0.0;',
  le: 'if (a <= b) { return 1.0; }\n  return 0.0;',
}

const sameStrides = (a: number[], b: number[]): boolean => a.length === b.length && a.every((s, i) => s === b[i])

// Reads of each operand of a broadcast `g` at the output index: the index itself for an input
// laid out like the output, the sum of coordinate times stride otherwise (coordinates from
// the output index, last dim fastest), nothing for a scalar.
function broadcastReads(g: Broadcast, names: string[], kinds: Operand[], constants: Record<string, number>): { prelude: string; reads: string[] } {
  const rank = g.shape.length
  const contiguous = stridesOf(g.shape)
  const general = kinds.map((k, i) => k === 'array' && !sameStrides(g.strides[i]!, contiguous))
  const lines: string[] = []
  if (general.some(Boolean)) {
    let rest = 'this.thread.x'
    for (let d = rank - 1; d >= 1; d--) {
      constants[`S${d}`] = g.shape[d]!
      lines.push(divmod(`q${d}`, `c${d}`, rest, `this.constants.S${d}`))
      rest = `q${d}`
    }
    lines.push(`const c0 = ${rest};`)
  }
  const reads = names.map((name, i) => {
    if (kinds[i] === 'scalar') return name
    if (!general[i]) return `${name}[this.thread.x]`
    const terms: string[] = []
    g.strides[i]!.forEach((s, d) => {
      if (s === 0) return
      constants[`${name}${d}`] = s
      terms.push(`c${d} * this.constants.${name}${d}`)
    })
    return `${name}[${terms.length ? terms.join(' + ') : '0'}]`
  })
  return { prelude: lines.join('\n  '), reads }
}

/** out[i] = op(x[i]); x may be a scalar (then every output is op of it). */
export function unarySpec(op: UnaryOp, length: number, x: Operand): KernelSpec {
  const body = UNARY[op]
  if (body === undefined) throw new Error(`unary: unknown function '${op}'; expected one of ${Object.keys(UNARY).join(', ')}`)
  const source = `function (x) {
  const v = ${x === 'scalar' ? 'x' : 'x[this.thread.x]'};
  ${body}
}`
  return spec(`unary:${op}`, { length, x }, source, length, { N: length })
}

/** out[i] = min(max(x[i], lo), hi); lo and hi are arguments (NaN stays NaN: both tests fail). */
export function clampSpec(length: number): KernelSpec {
  const source = `function (x, lo, hi) {
  const v = x[this.thread.x];
  if (v < lo) { return lo; }
  if (v > hi) { return hi; }
  return v;
}`
  return spec('clamp', { length }, source, length, { N: length })
}

/** out = op(a, b) over the broadcast g (arguments a, b, nan, inf). */
export function binarySpec(op: BinaryOp, g: Broadcast, kinds: [Operand, Operand]): KernelSpec {
  const body = BINARY[op]
  if (body === undefined) throw new Error(`binary: unknown function '${op}'; expected one of ${Object.keys(BINARY).join(', ')}`)
  const constants: Record<string, number> = {}
  // the inputs are aIn and bIn, so the formula's a and b are the values read
  const { prelude, reads } = broadcastReads(g, ['aIn', 'bIn'], kinds, constants)
  const source = `function (aIn, bIn, nan, inf) {
  ${prelude}
  const a = ${reads[0]};
  const b = ${reads[1]};
  ${body}
}`
  const length = g.shape.reduce((p, n) => p * n, 1)
  return spec(`binary:${op}`, { g, kinds }, source, length, { ...constants, N: length })
}

/** out = x repeated over the broadcast g (g.strides[0]: x's). */
export function expandSpec(g: Broadcast): KernelSpec {
  const constants: Record<string, number> = {}
  const { prelude, reads } = broadcastReads(g, ['x'], ['array'], constants)
  const source = `function (x) {
  ${prelude}
  return ${reads[0]};
}`
  const length = g.shape.reduce((p, n) => p * n, 1)
  return spec('expand', g, source, length, { ...constants, N: length })
}

/**
 * out = src read through the box r where the output index falls inside it, else `outside`: the
 * old output (`keep`, an array) or the fill value (a number).
 */
export function copyRegionSpec(r: RegionCopy, keep: boolean): KernelSpec {
  const constants: Record<string, number> = { OFF: r.srcOffset }
  const coords = r.outShape.length === 0 ? 'const c0 = 0;' : coordinates(r.outShape, 'O', constants)
  const inside: string[] = []
  const terms: string[] = ['this.constants.OFF']
  r.size.forEach((n, d) => {
    constants[`B${d}`] = r.start[d]!
    constants[`E${d}`] = r.start[d]! + n
    constants[`T${d}`] = r.srcStrides[d]!
    inside.push(`c${d} >= this.constants.B${d} && c${d} < this.constants.E${d}`)
    terms.push(`(c${d} - this.constants.B${d}) * this.constants.T${d}`)
  })
  const source = `function (src, outside) {
  ${coords}
  if (${inside.length ? inside.join(' && ') : 'true'}) {
    return src[${terms.join(' + ')}];
  }
  return ${keep ? 'outside[this.thread.x]' : 'outside'};
}`
  const length = r.outShape.reduce((p, n) => p * n, 1)
  return spec('copyRegion', { ...r, fill: keep ? 'keep' : 'fill' }, source, length, constants)
}

/** out = cond != 0 ? a : b over the broadcast g. */
export function whereSpec(g: Broadcast, kinds: [Operand, Operand, Operand]): KernelSpec {
  const constants: Record<string, number> = {}
  const { prelude, reads } = broadcastReads(g, ['c', 'a', 'b'], kinds, constants)
  const source = `function (c, a, b) {
  ${prelude}
  if (${reads[0]} != 0.0) { return ${reads[1]}; }
  return ${reads[2]};
}`
  const length = g.shape.reduce((p, n) => p * n, 1)
  return spec('where', { g, kinds }, source, length, { ...constants, N: length })
}

/** out[o, i] = sum over k of x[o, k, i], k increasing (float32 accumulation). */
export function sumSpec(outer: number, size: number, inner: number): KernelSpec {
  const source = `function (x) {
  ${divmod('o', 'i', 'this.thread.x', 'this.constants.INNER')}
  const base = o * this.constants.SIZE * this.constants.INNER + i;
  let acc = 0.0;
  for (let k = 0; k < this.constants.SIZE; k++) {
    acc += x[base + k * this.constants.INNER];
  }
  return acc;
}`
  return spec('sum', { outer, size, inner }, source, outer * inner, { SIZE: size, INNER: inner })
}

/** out[o, i] = the first k with x[o, k, i] largest (max) or smallest (min), as a float. */
export function argReduceSpec(which: 'max' | 'min', outer: number, size: number, inner: number): KernelSpec {
  const source = `function (x) {
  ${divmod('o', 'i', 'this.thread.x', 'this.constants.INNER')}
  const base = o * this.constants.SIZE * this.constants.INNER + i;
  let best = x[base];
  let bestK = 0.0;
  for (let k = 1; k < this.constants.SIZE; k++) {
    const v = x[base + k * this.constants.INNER];
    if (v ${which === 'max' ? '>' : '<'} best) {
      best = v;
      bestK = k;
    }
  }
  return bestK;
}`
  return spec(`argReduce:${which}`, { outer, size, inner }, source, outer * inner, { SIZE: size, INNER: inner })
}

// The coordinates of the thread's index over `shape` (c0 .. c{rank-1}, last fastest), as code.
function coordinates(shape: number[], prefix: string, constants: Record<string, number>): string {
  const lines: string[] = []
  let rest = 'this.thread.x'
  for (let d = shape.length - 1; d >= 1; d--) {
    constants[`${prefix}${d}`] = shape[d]!
    lines.push(divmod(`q${d}`, `c${d}`, rest, `this.constants.${prefix}${d}`))
    rest = `q${d}`
  }
  lines.push(`const c0 = ${rest};`)
  return lines.join('\n  ')
}

/** out[i] = x at index i's coordinates with `dim` replaced by index[i]; NaN for an index outside the dim. */
export function gatherSpec(g: GatherGeometry): KernelSpec {
  const constants: Record<string, number> = { SIZE: g.xShape[g.dim]! }
  const xs = stridesOf(g.xShape)
  const coords = coordinates(g.indexShape, 'I', constants)
  const terms = g.indexShape.map((_, d) => {
    constants[`X${d}`] = xs[d]!
    return d === g.dim ? `k * this.constants.X${d}` : `c${d} * this.constants.X${d}`
  })
  const source = `function (x, index, nan) {
  ${coords}
  const k = index[this.thread.x];
  if (k < 0.0 || k >= this.constants.SIZE) { return nan; }
  return x[${terms.join(' + ')}];
}`
  const length = g.indexShape.reduce((p, n) => p * n, 1)
  return spec('gather', g, source, length, constants)
}

/**
 * out[p] = sum of src[q] over the entries q of index that gather would read at p (index[q]
 * equal to p's coordinate along `dim`, the other coordinates equal), in increasing q: a gather
 * over index's `dim`, so no two threads write one element.
 */
export function scatterAddSpec(g: GatherGeometry): KernelSpec {
  const constants: Record<string, number> = { J: g.indexShape[g.dim]! }
  const is = stridesOf(g.indexShape)
  const coords = coordinates(g.xShape, 'S', constants)
  const inside: string[] = []
  const terms: string[] = []
  g.indexShape.forEach((n, d) => {
    constants[`T${d}`] = is[d]!
    if (d === g.dim) {
      terms.push(`j * this.constants.T${d}`)
      return
    }
    constants[`N${d}`] = n
    inside.push(`c${d} < this.constants.N${d}`)
    terms.push(`c${d} * this.constants.T${d}`)
  })
  const source = `function (src, index) {
  ${coords}
  let acc = 0.0;
  if (${inside.length ? inside.join(' && ') : 'true'}) {
    for (let j = 0; j < this.constants.J; j++) {
      const q = ${terms.join(' + ')};
      if (index[q] == c${g.dim}) {
        acc += src[q];
      }
    }
  }
  return acc;
}`
  const length = g.xShape.reduce((p, n) => p * n, 1)
  return spec('scatterAdd', g, source, length, constants)
}
