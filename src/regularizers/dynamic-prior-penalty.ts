// The penalty of one group as a graph term, from masks held fixed (no gradient through sampling):
//   squared (Algorithm 1 line 7, Eq. 3):  R = lambda_eff * sum_j c_j w_j^2
//       dR/dw_j = 2 * lambda_eff * c_j * w_j
//   l2 (Eq. 6):                           R = lambda_eff * sum_s sqrt(sum_j I_sj w_j^2 + eps)
//       dR/dw_j = lambda_eff * sum_s I_sj w_j / sqrt(sum_i I_si w_i^2 + eps)
//   lambda_eff = lambda / max_j c_j ('max-count', Sec. 2.3) or lambda ('none').
// Built from Tensor ops (the squared one is the single op weightedSquareSumAt), with the counts and
// kept indices as constants.
// Non-finite weights are errors (the rule of metrics.ts): penalty() checks every entry before it
// samples, checkGroupFits does for penaltyWithMasks (a NaN in an entry no mask kept would not reach
// the value), and buildPenalty turns an overflowing value into an error.
import { Tensor } from '../tensor/tensor.js'
import { allocate } from '../tensor/dtype.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { weightedSquareSumAt } from '../nn/functional.js'
import { checkPenalty, nonFiniteError, paramLabel } from './metrics.js'

/** The masks of one evaluation for one group (one tensor, or all of them with scope 'model'). */
export interface GroupSample {
  names: string[]
  shapes: number[][]
  S: number
  /** kept indices (into the group's concatenated entries) of experiment s at [starts[s], starts[s+1]), increasing */
  kept: Int32Array
  starts: Int32Array
  /** the entries some experiment kept (c_j > 0), increasing, and their c_j = number of experiments that kept them */
  entries: Int32Array
  counts: Float64Array
  lambdaEff: number
}

/** lambda_eff from max_j c_j. With no entry kept at all (threshold rule) lambda is used: the penalty is 0 anyway. */
export function effectiveLambda(lambda: number, normalize: 'max-count' | 'none', maxCount: number): number {
  return normalize === 'max-count' && maxCount > 0 ? lambda / maxCount : lambda
}

/** Check that `tensors` are the group's tensors (count and shapes) with finite values, naming the first misfit. */
export function checkGroupFits(op: string, tensors: [string, Tensor][], g: GroupSample): void {
  const names = tensors.map(([n]) => n)
  if (names.length !== g.names.length || names.some((n, i) => n !== g.names[i])) {
    throw new Error(`${op}: the masks were drawn for [${g.names.join(', ')}] but the parameters are [${names.join(', ')}]`)
  }
  tensors.forEach(([name, t], i) => {
    if (!shapesEqual(t.shape, g.shapes[i]!)) {
      throw new Error(`${op}: parameter '${name}' has shape ${formatShape(t.shape)}, the masks were drawn for ${formatShape(g.shapes[i]!)}`)
    }
  })
  const bad = nonFiniteError(op, tensors.map(([name, t]) => [paramLabel(name), t]))
  if (bad) throw bad
}

/**
 * The group's penalty as a scalar tensor in the graph.
 * @example buildPenalty([w], sample, 'squared', 1e-12)
 */
export function buildPenalty(tensors: Tensor[], g: GroupSample, norm: 'squared' | 'l2', eps: number): Tensor {
  const penalty = norm === 'squared' ? squaredPenalty(tensors, g) : l2Penalty(tensors, g, eps)
  return checkPenalty('DynamicPriorRegularizer', penalty, tensors.map((t, i) => [paramLabel(g.names[i]!), t]))
}

// Only the entries with c_j > 0 enter (about S * sp of them): weightedSquareSumAt reads and
// differentiates those alone, with the same bits as the dense sum over all c_j.
function squaredPenalty(tensors: Tensor[], g: GroupSample): Tensor {
  let total: Tensor | null = null
  let off = 0
  let q = 0
  for (const w of tensors) {
    const n = w.numel()
    const from = q
    while (q < g.entries.length && g.entries[q]! < off + n) q++
    // NOTE: the graph gets its own copies (indices, and counts in W's dtype), not the reused
    // buffers: a graph kept past the next evaluation must still differentiate what it computed.
    const idx = new Int32Array(q - from)
    const c = allocate(w.dtype, q - from)
    for (let i = 0; i < idx.length; i++) {
      const j = g.entries[from + i]!
      idx[i] = j - off
      c[i] = g.counts[from + i]!
    }
    const term = weightedSquareSumAt(w, new Tensor(idx, [idx.length]), new Tensor(c, [idx.length]))
    total = total ? total.add(term) : term
    off += n
  }
  return total!.mul(g.lambdaEff)
}

function l2Penalty(tensors: Tensor[], g: GroupSample, eps: number): Tensor {
  const flat = tensors.map((w) => w.reshape([-1]))
  let total: Tensor | null = null
  let constant = 0
  for (let s = 0; s < g.S; s++) {
    let q = g.starts[s]!
    const end = g.starts[s + 1]!
    let inner: Tensor | null = null
    let off = 0
    for (const w of flat) {
      const n = w.numel()
      const from = q
      while (q < end && g.kept[q]! < off + n) q++
      if (q > from) {
        const idx = new Int32Array(q - from)
        for (let i = 0; i < idx.length; i++) idx[i] = g.kept[from + i]! - off
        const part = w.indexSelect(0, new Tensor(idx, [idx.length])).square().sum()
        inner = inner ? inner.add(part) : part
      }
      off += n
    }
    // An experiment that kept nothing (threshold rule) adds the constant sqrt(eps).
    if (inner === null) constant += Math.sqrt(eps)
    else {
      const term = inner.add(eps).sqrt()
      total = total ? total.add(term) : term
    }
  }
  const dtype = tensors[0]!.dtype
  const sum = total ?? new Tensor(allocate(dtype, 1), [])
  return (constant !== 0 ? sum.add(constant) : sum).mul(g.lambdaEff)
}
