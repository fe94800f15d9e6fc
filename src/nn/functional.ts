// priorgrad's torch.nn.functional: layers and losses as functions, exported as `F`.
// Everything here is composed from recorded ops, so it needs no backward of its own.
import { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'
import { rand } from '../tensor/creation.js'
import type { Generator } from '../tensor/generator.js'
import * as fn from '../autograd/functional.js'
import { apply } from '../autograd/op.js'
import { assertFloat } from '../autograd/checks.js'
import * as ops from '../autograd/ops/index.js'
export { conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d } from '../autograd/conv-functions.js'
export type { Conv2dOptions, Pool2dOptions, Size2 } from '../autograd/conv-functions.js'
export { relu, sigmoid, tanh, softmax, logSoftmax, pad } from '../autograd/functional.js'

/** y = x @ weight^T + bias, weight [out, in], bias [out] (one recorded op). @example linear(x, w, b) */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  assertFloat('linear', x, weight)
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(`linear: input ${formatShape(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`)
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias must have shape [${weight.shape[0]}], got ${formatShape(bias.shape)}`)
  }
  const dtypes = [x, weight, ...(bias ? [bias] : [])].map((t) => t.dtype)
  if (new Set(dtypes).size > 1) throw new Error(`linear: input, weight and bias must share a dtype, got ${dtypes.join(', ')}`)
  return apply(ops.linear, bias ? [x, weight, bias] : [x, weight], {})
}

/**
 * sum_j weights_j * x_j^2 as one recorded op (a scalar): a weighted L2 penalty, e.g. the dynamic
 * prior's sum_j c_j w_j^2. `weights` has x's shape and dtype.
 * @example weightedSquareSum(w, counts) // = w.square().mul(counts).sum()
 */
export function weightedSquareSum(x: Tensor, weights: Tensor): Tensor {
  assertFloat('weightedSquareSum', x, weights)
  if (formatShape(x.shape) !== formatShape(weights.shape) || x.dtype !== weights.dtype) {
    throw new Error(`weightedSquareSum: weights must match x (${formatShape(x.shape)} ${x.dtype}), got ${formatShape(weights.shape)} ${weights.dtype}`)
  }
  return apply(ops.weightedSquareSum, [x, weights], {})
}

/**
 * sum_q weights_q * x[index_q]^2 (x read in flat order) as one recorded op: weightedSquareSum
 * with the weights given only where they are non-zero, in O(index length). `index` is 1-D int32
 * (repeats add up); `weights` is 1-D, as long as `index`, in x's dtype. With increasing distinct
 * indices it gives exactly the bits of the dense form.
 * @example weightedSquareSumAt(w, tensor([0, 7], { dtype: 'int32' }), tensor([2, 1])) // = 2 w[0]^2 + w[7]^2
 */
export function weightedSquareSumAt(x: Tensor, index: Tensor, weights: Tensor): Tensor {
  assertFloat('weightedSquareSumAt', x, weights)
  if (index.dtype !== 'int32' || index.ndim !== 1) {
    throw new Error(`weightedSquareSumAt: index must be a 1-D int32 tensor, got ${formatShape(index.shape)} ${index.dtype}`)
  }
  if (weights.ndim !== 1 || weights.shape[0] !== index.shape[0] || weights.dtype !== x.dtype) {
    throw new Error(`weightedSquareSumAt: weights must be 1-D with one value per index (${index.shape[0]}) in x's dtype ${x.dtype}, got ${formatShape(weights.shape)} ${weights.dtype}`)
  }
  return apply(ops.weightedSquareSumAt, [x, index, weights], {})
}

/**
 * Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout),
 * only when training. The mask comes from the given generator (seeded).
 * @example dropout(x, 0.5, true, gen)
 */
export function dropout(x: Tensor, p: number, training: boolean, generator?: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`)
  if (!training || p === 0) return x
  if (p === 1) return fn.mul(x, 0)
  const keep = rand(x.shape, { dtype: x.dtype, ...(generator ? { generator } : {}) }).lt(1 - p)
  return fn.mul(x, fn.mul(keep, 1 / (1 - p)))
}

function checkTargets(op: string, input: Tensor, targets: Tensor): void {
  if (input.ndim !== 2) throw new Error(`${op}: expected input [batch, classes], got ${formatShape(input.shape)}`)
  if (targets.dtype !== 'int32') throw new Error(`${op}: targets must be int32 class indices, got ${targets.dtype}`)
  if (targets.ndim !== 1 || targets.shape[0] !== input.shape[0]) {
    throw new Error(`${op}: targets shape ${formatShape(targets.shape)} does not match batch ${input.shape[0]} of input ${formatShape(input.shape)}`)
  }
  const classes = input.shape[1]!
  // read without dropping a device copy: the labels stay uploaded for gather and its gradient
  targets.hostData(op).forEach((t, i) => {
    if (t < 0 || t >= classes) throw new Error(`${op}: target ${t} at index ${i} is out of range for ${classes} classes (expected 0..${classes - 1})`)
  })
}

/** Mean negative log-likelihood of log-probabilities [B, C] at int32 targets [B]. @example nllLoss(logp, y) */
export function nllLoss(logProbs: Tensor, targets: Tensor): Tensor {
  checkTargets('nllLoss', logProbs, targets)
  return fn.neg(fn.mean(fn.gather(logProbs, 1, fn.unsqueeze(targets, 1))))
}

/**
 * Mean cross-entropy of logits [B, C] at int32 targets [B] (via the stable logSoftmax).
 * Non-finite logits propagate as in PyTorch, they are not rejected: -inf logits (masked classes)
 * are exact while the target's logit is finite, and a row holding NaN or +inf, or only -inf,
 * makes the loss NaN (rule: the NOTE above logsumexp in src/autograd/functional.ts). The
 * trainer stops on a non-finite loss.
 * @example crossEntropy(logits, y)
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  checkTargets('crossEntropy', logits, targets)
  return nllLoss(fn.logSoftmax(logits, 1), targets)
}

/** Mean squared error. @example mseLoss(pred, target) */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  if (input.numel() !== target.numel() || input.ndim !== target.ndim) {
    throw new Error(`mseLoss: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`)
  }
  return fn.mean(fn.square(fn.sub(input, target)))
}
