// The tensor functions: argument checking, then either one recorded op (src/autograd/ops,
// the primitives with a backward) or a composition of them (no backward of its own).
import { Tensor, type TensorLike } from '../tensor/tensor.js'
import { allocate, allocateOutput, isFloat, type DType } from '../tensor/dtype.js'
import { getBackend } from '../tensor/backends/registry.js'
import { runBinary, runUnary, runWhere } from '../tensor/loops.js'
import { broadcastShapes, formatShape, normalizeDim, normalizeDims, numel, shapesEqual } from '../tensor/shape.js'
import { isGradEnabled, noGrad } from './no-grad.js'
import { apply } from './op.js'
import { assertFloat } from './checks.js'
import { unaryOps } from './elementwise.js'
import * as ops from './ops/index.js'

/** A number operand as a 0-d tensor of the other operand's dtype; anything else is named as an error of `op`. */
function lift(op: string, b: TensorLike, like: Tensor): Tensor {
  if (b instanceof Tensor) return b
  if (typeof b !== 'number') {
    const what = b === null ? 'null' : Array.isArray(b) ? 'an array (wrap it with tensor())' : typeof b
    throw new Error(`${op}: expected a Tensor or a number, got ${what}`)
  }
  const dtype: DType = isFloat(like.dtype) ? like.dtype : Number.isInteger(b) ? 'int32' : 'float32'
  const t = new Tensor(allocate(dtype, 1), [])
  t.data[0] = b
  return t
}

// ---- elementwise -------------------------------------------------------------------
/** a + b with broadcasting. @example add(x, 1) */
export const add = (a: Tensor, b: TensorLike): Tensor => apply(ops.add, [a, lift('add', b, a)], {})
/** a * b with broadcasting. @example mul(x, y) */
export const mul = (a: Tensor, b: TensorLike): Tensor => apply(ops.mul, [a, lift('mul', b, a)], {})
/** a ^ b with broadcasting. @example pow(x, 2) */
export const pow = (a: Tensor, b: TensorLike): Tensor => apply(ops.pow, [a, lift('pow', b, a)], {})
/** Elementwise maximum. @example maximum(x, 0) */
export const maximum = (a: Tensor, b: TensorLike): Tensor => apply(ops.maximum, [a, lift('maximum', b, a)], {})
/** Elementwise minimum. @example minimum(x, y) */
export const minimum = (a: Tensor, b: TensorLike): Tensor => apply(ops.minimum, [a, lift('minimum', b, a)], {})
/** a - b = a + (-b). @example sub(x, y) */
export function sub(a: Tensor, b: TensorLike): Tensor {
  const bt = lift('sub', b, a)
  broadcastShapes('sub', a.shape, bt.shape)
  return add(a, neg(bt))
}
/** a / b = a * (1/b). @example div(x, 2) */
export function div(a: Tensor, b: TensorLike): Tensor {
  const bt = lift('div', b, a)
  assertFloat('div', a, bt)
  broadcastShapes('div', a.shape, bt.shape)
  return mul(a, reciprocal(bt))
}

const unary = (name: string) => (x: Tensor): Tensor => apply(unaryOps[name]!, [x], {})
/** -x. @example neg(x) */ export const neg = unary('neg')
/** e^x. @example exp(x) */ export const exp = unary('exp')
/** Natural log. @example log(x) */ export const log = unary('log')
/** Square root. @example sqrt(x) */ export const sqrt = unary('sqrt')
/** |x|; its gradient at 0 is 0. @example abs(x) */ export const abs = unary('abs')
/** max(x, 0). @example relu(x) */ export const relu = unary('relu')
/** 1 / (1 + e^-x). @example sigmoid(x) */ export const sigmoid = unary('sigmoid')
/** Hyperbolic tangent. @example tanh(x) */ export const tanh = unary('tanh')
/** 1 / x. @example reciprocal(x) */ export const reciprocal = unary('reciprocal')
/** x * x. @example square(x) */ export const square = (x: Tensor): Tensor => mul(x, x)

/** Clamp to [min, max]; either bound may be omitted. @example clamp(x, 0, 1) */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min ?? null) === null && (max ?? null) === null) throw new Error('clamp: give at least one of min and max')
  const lo = min ?? -Infinity
  const hi = max ?? Infinity
  if (lo > hi) throw new Error(`clamp: min ${lo} is larger than max ${hi}`)
  return apply(ops.clamp, [x], { min: lo, max: hi })
}

/** cond ? a : b elementwise (cond is nonzero-means-true, gets no gradient). @example where(x.gt(0), x, 0) */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const at = a instanceof Tensor ? a : lift('where', a, b instanceof Tensor ? b : cond)
  return apply(ops.where, [cond, at, lift('where', b, at)], {})
}

const compare = (name: 'eq' | 'gt' | 'lt' | 'ge' | 'le') => (a: Tensor, b: TensorLike): Tensor => {
  const bt = lift(name, b, a)
  // NOTE: results are 0/1 in a's float dtype (int32 for int inputs), so a mask multiplies directly.
  return runBinary(name, a, bt, isFloat(a.dtype) ? a.dtype : isFloat(bt.dtype) ? bt.dtype : 'int32')
}
/** 1 where a == b, else 0 (no gradient). @example eq(pred, labels) */ export const eq = compare('eq')
/** 1 where a > b, else 0 (no gradient). @example gt(x, 0) */ export const gt = compare('gt')
/** 1 where a < b, else 0 (no gradient). @example lt(x, 0) */ export const lt = compare('lt')
/** 1 where a >= b, else 0 (no gradient). @example ge(x, 0) */ export const ge = compare('ge')
/** 1 where a <= b, else 0 (no gradient). @example le(x, 0) */ export const le = compare('le')
/** -1, 0 or 1 (no gradient). @example sign(x) */
export const sign = (x: Tensor): Tensor => runUnary('sign', x)

/** Convert dtype; float-to-float stays in the graph, anything to int32 leaves it. @example cast(x, 'float64') */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x
  if (dtype === 'int32') return runUnary('trunc', x, 'int32')
  return apply(ops.cast, [x], { dtype })
}
/**
 * Write `src` (a tensor or a number, broadcast to dst's shape and converted to its dtype, float to
 * int truncating) into `dst`'s elements in place; returns dst. The way user code changes a
 * tensor's values, like PyTorch's `copy_`: not recorded, so a leaf that requires grad may only be
 * written inside noGrad() (PyTorch refuses it too), and a tensor made by an op not at all.
 * @example noGrad(() => w.copy_(w.sub(w.grad!.mul(lr))))
 */
export function copy_(dst: Tensor, src: TensorLike): Tensor {
  if (dst.node !== null) throw new Error(`copy_: the destination ${formatShape(dst.shape)} was made by '${dst.node.opName}' and is part of a graph; write into a leaf (or detach() it first)`)
  if (dst.requiresGrad && isGradEnabled()) {
    throw new Error(`copy_: the destination ${formatShape(dst.shape)} is a leaf that requires grad; write it inside noGrad(() => ...), as torch.no_grad() in PyTorch`)
  }
  const s = lift('copy_', src, dst)
  const shape = broadcastShapes('copy_', dst.shape, s.shape)
  if (!shapesEqual(shape, dst.shape)) throw new Error(`copy_: source ${formatShape(s.shape)} does not broadcast to the destination ${formatShape(dst.shape)}`)
  const values = noGrad(() => cast(shapesEqual(s.shape, dst.shape) ? s : s.expand(dst.shape), dst.dtype))
  // the backend's copy: on a device (gpujs) the values stay there, as dst's device copy
  getBackend().unary('copy', values.buffer('copy_'), dst.buffer('copy_'))
  return dst
}

/** A copy with its own storage, in the graph. @example clone(w) */
export const clone = (x: Tensor): Tensor => (isFloat(x.dtype) ? apply(ops.cast, [x], { dtype: x.dtype }) : runUnary('copy', x))

// ---- reductions ------------------------------------------------------------------
/** Sum over dims (all when omitted). @example sum(x, 1, true) */
export function sum(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return apply(ops.sum, [x], { dims: normalizeDims('sum', dim, x.ndim), keepdim })
}
/** Mean over dims. @example mean(x) */
export function mean(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  assertFloat('mean', x)
  const dims = normalizeDims('mean', dim, x.ndim)
  const count = dims.reduce((n, d) => n * x.shape[d]!, 1)
  return div(sum(x, dims, keepdim), count)
}
/** Variance over dims with Bessel's correction by default (correction=1). @example variance(x, 0, false, 0) */
export function variance(x: Tensor, dim?: number | number[], keepdim = false, correction = 1): Tensor {
  const dims = normalizeDims('var', dim, x.ndim)
  const count = dims.reduce((n, d) => n * x.shape[d]!, 1)
  const centered = sub(x, mean(x, dims, true))
  return div(sum(square(centered), dims, keepdim), Math.max(count - correction, 0))
}

/** The result of max/min along a dim: the values and their int32 positions. */
export interface ValuesIndices {
  values: Tensor
  indices: Tensor
}

/** Index of the largest value along dim (of the flattened tensor when omitted); int32, no gradient. @example argmax(logits, 1) */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmax', x, dim, keepdim)
}
/** Index of the smallest value along dim (of the flattened tensor when omitted); int32, no gradient. @example argmin(x, 0) */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtremum('argmin', x, dim, keepdim)
}

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) return argExtremum(op, reshape(x, [-1]), 0, keepdim)
  const d = normalizeDim(op, dim, x.ndim)
  const size = x.shape[d]!
  if (size === 0) throw new Error(`${op}: cannot reduce an empty dim ${dim} of shape ${formatShape(x.shape)}`)
  const inner = numel(x.shape.slice(d + 1))
  const outer = numel(x.shape.slice(0, d))
  // the first extremum wins ties, a NaN wins over everything (reference.ts: argReduce)
  const out = allocateOutput('int32', outer * inner) as Int32Array
  getBackend().argReduce(op === 'argmax' ? 'max' : 'min', x.buffer(op), out, outer, size, inner)
  const shape = x.shape.map((s, i) => (i === d ? 1 : s))
  return new Tensor(out, keepdim ? shape : shape.filter((_, i) => i !== d))
}

/**
 * The maximum (a 0-d tensor) or, with dim, {values, indices} along dim.
 * Composed as gather(x, argmax): the gradient goes to the first maximum.
 * @example const { values, indices } = max(x, 1)
 */
export function max(x: Tensor): Tensor
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return extremum(x, dim, keepdim, argmax)
}
/**
 * The minimum (a 0-d tensor) or, with dim, {values, indices} along dim; the gradient goes to the first minimum.
 * @example min(x, 0).values
 */
export function min(x: Tensor): Tensor
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return extremum(x, dim, keepdim, argmin)
}

function extremum(x: Tensor, dim: number | undefined, keepdim: boolean, arg: typeof argmax): Tensor | ValuesIndices {
  if (dim === undefined) return reshape(gather(reshape(x, [-1]), 0, arg(x, undefined, true)), [])
  const indices = arg(x, dim, true)
  const values = gather(x, dim, indices)
  const d = normalizeDim('max', dim, x.ndim)
  return keepdim ? { values, indices } : { values: squeeze(values, d), indices: squeeze(indices, d) }
}

// NOTE: rows with non-finite entries follow PyTorch 1.13, the one rule for logsumexp, logSoftmax,
// softmax and crossEntropy (pinned by test/fixtures/edge-cases.json, tools/fixtures/gen_edge.py):
// - entries of -inf beside a finite one are exact: probability 0, log-probability -inf, gradient 0;
// - logsumexp of a row of only -inf is -inf (log 0), of a row holding +inf is +inf, of a row
//   holding NaN is NaN; its gradient exp(x - logsumexp) is NaN at every -inf - (-inf) or inf - inf;
// - softmax and logSoftmax of a row whose logsumexp is not finite are NaN throughout, value and
//   gradient (PyTorch shifts by the row max m and x - m is NaN where x = m = +-inf), so a
//   crossEntropy loss over such a row is NaN: it propagates, and the trainer stops on it. A row
//   whose target logit alone is -inf gives a loss of +inf with finite gradients, as PyTorch.
// Finite rows never reach the NaN branch, so their bits are those of the plain formulas.

/** log(sum(exp(x))) along dim, shifted by the (detached) max so exp never overflows. @example logsumexp(x, 1) */
export function logsumexp(x: Tensor, dim: number, keepdim = false): Tensor {
  assertFloat('logsumexp', x)
  const d = normalizeDim('logsumexp', dim, x.ndim)
  // NOTE: the shift m cancels in value and gradient, so it needs no gradient. An infinite or NaN
  // max shifts by 0 (as PyTorch): a row of -inf then sums exp(-inf) = 0 and stays -inf.
  const mx = max(x, d, true).values
  const m = runWhere(runUnary('isfinite', mx), mx, lift('logsumexp', 0, mx), mx.dtype)
  const out = add(log(sum(exp(sub(x, m)), d, true)), m)
  return keepdim ? out : squeeze(out, d)
}
/** exp(x - logsumexp(x)) along dim; a row holding NaN or +inf, or only -inf, is NaN as in PyTorch (NOTE above). @example softmax(logits, 1) */
export const softmax = (x: Tensor, dim: number): Tensor => exp(logSoftmax(x, normalizeDim('softmax', dim, x.ndim)))
/** x - logsumexp(x) along dim; a row holding NaN or +inf, or only -inf, is NaN as in PyTorch (NOTE above). @example logSoftmax(logits, -1) */
export const logSoftmax = (x: Tensor, dim: number): Tensor => sub(x, nanWhereNotFinite(logsumexp(x, normalizeDim('logSoftmax', dim, x.ndim), true)))

// lse times a constant that is 1 where lse is finite and NaN elsewhere: those rows become NaN in
// value and, through the product's gradient, in every entry's gradient. Finite rows keep their
// bits (lse * 1 = lse, and the gradient through it is gradOut * 1). It is computed on the backend
// even when every row is finite, rather than checked on the host first: a check would read lse
// back from a device on every training step.
function nanWhereNotFinite(lse: Tensor): Tensor {
  return mul(lse, runWhere(runUnary('isfinite', lse), lift('logSoftmax', 1, lse), lift('logSoftmax', NaN, lse), lse.dtype))
}

// ---- matmul ------------------------------------------------------------------------
/**
 * Matrix product over the last two dims, with broadcast batch dims; 1-D operands are
 * treated as a row (left) or a column (right) vector and that dim is dropped, as in PyTorch.
 * @example matmul(x, w.T)
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertFloat('matmul', a, b)
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: both operands need at least 1 dim, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`)
  if (a.ndim === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2)
  if (b.ndim === 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1)
  const k1 = a.shape[a.ndim - 1]!
  const k2 = b.shape[b.ndim - 2]!
  if (k1 !== k2) {
    throw new Error(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: inner dimensions ${k1} and ${k2} differ`)
  }
  if (a.dtype !== b.dtype) return matmul(cast(a, 'float64'), cast(b, 'float64'))
  return apply(ops.matmul, [a, b], {})
}

export * from './shape-functions.js'
import { reshape, squeeze, unsqueeze, gather } from './shape-functions.js'
