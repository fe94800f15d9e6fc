// The paper's weight metrics (Sec. 2.5.3), over one tensor, a set of tensors, or a model:
//   density(tau) = #{j : |w_j| > tau} / N      (the paper's 1 - Sparsity; Table 2's "Wt. Density")
//   mean |w| = sum_j |w_j| / N                  global L2 norm = sqrt(sum_j w_j^2)
// Over a set, every entry counts once: the density of the set is not the mean of the densities.
// NOTE: the paper's Sparsity formula reads 1(w_i > T) without the absolute value; we count |w| > tau,
// since a large negative weight is not "sparse" (the spec's reading). Sums are in float64.
//
// NOTE: non-finite weights, one rule for the metrics here and the penalties (L1, L2, the dynamic
// prior): a NaN or +-Infinity weight is an error naming the function, the tensor and the flat index
// of the first such entry (nonFiniteError), never a NaN/Inf result and never skipped. A weight is
// finite or the run has already failed, and a NaN density or norm in a log hides where it began.
// Detection costs no extra pass: the metrics' float64 sum of |w| and the penalties' value are
// non-finite exactly when an entry is (|w| >= 0, so no inf - inf), and only then are the entries
// scanned for the message. A penalty that overflows with finite weights (float32 sum w^2 past
// 3.4e38) is an error too. crossEntropy is a loss, not a regularizer: it propagates NaN like
// PyTorch (see the NOTE above logsumexp in src/autograd/functional.ts) and the trainer stops on it.
import { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'
import { selectParams, type ParamFilter, type ParamSource } from './params.js'

/** Tensors to measure: one tensor, tensors, or named tensors (e.g. `model.namedParameters()`). */
export type MetricInput = Tensor | Iterable<Tensor | [string, Tensor]>

/** A tensor and how an error names it: "parameter 'fc1.weight'", "tensor 2" or "the tensor". */
export type Labelled = [label: string, tensor: Tensor]

/** The label of a named parameter in error messages. */
export const paramLabel = (name: string): string => `parameter '${name}'`

function tensorsOf(op: string, input: MetricInput): Labelled[] {
  const list: Labelled[] = input instanceof Tensor
    ? [['the tensor', input]]
    : [...input].map((e, i) => (Array.isArray(e) ? [paramLabel(e[0]), e[1]] : [`tensor ${i}`, e]))
  list.forEach(([, t], i) => {
    if (!(t instanceof Tensor)) throw new Error(`${op}: entry ${i} is not a Tensor`)
  })
  if (list.length === 0 || list.every(([, t]) => t.numel() === 0)) throw new Error(`${op}: no entries to measure (got ${list.length} tensors, all empty)`)
  return list
}

/**
 * The error for the first non-finite entry of the tensors (rule in the NOTE above), or null when
 * every entry is finite.
 * @example const e = nonFiniteError('L1.penalty', [[paramLabel('w'), w]]); if (e) throw e
 */
export function nonFiniteError(op: string, tensors: Labelled[]): Error | null {
  for (const [label, t] of tensors) {
    const d = t.hostData(op)
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        return new Error(`${op}: ${label} has a non-finite value ${d[i]} at flat index ${i} (shape ${formatShape(t.shape)}); expected finite values`)
      }
    }
  }
  return null
}

/**
 * Returns the penalty unchanged when its value is finite; otherwise throws the error for the first
 * non-finite weight or, when every weight is finite, the overflow (rule in the NOTE above). Reads
 * one number per call: the scan runs only on the failing path.
 * @example return checkPenalty('L2.penalty', total, [[paramLabel('w'), w]])
 */
export function checkPenalty(op: string, penalty: Tensor, tensors: Labelled[]): Tensor {
  const value = penalty.item()
  if (Number.isFinite(value)) return penalty
  const bad = nonFiniteError(op, tensors)
  if (bad) throw bad
  let largest = 0
  let where = ''
  for (const [label, t] of tensors) {
    t.hostData(op).forEach((v, i) => {
      if (Math.abs(v) > largest) [largest, where] = [Math.abs(v), `${label} at flat index ${i}`]
    })
  }
  throw new Error(
    `${op}: the penalty is ${value} although every weight is finite: the ${penalty.dtype} sum overflowed ` +
      `(largest |w| ${largest}, ${where}); expected a finite penalty`,
  )
}

interface Sums {
  n: number
  abs: number
  sq: number
  above: number[]
}

function sums(op: string, tensors: Labelled[], taus: number[]): Sums {
  const out: Sums = { n: 0, abs: 0, sq: 0, above: taus.map(() => 0) }
  for (const [label, t] of tensors) {
    const d = t.hostData(op)
    out.n += d.length
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i]!)
      out.abs += a
      out.sq += a * a
      for (let k = 0; k < taus.length; k++) if (a > taus[k]!) out.above[k]!++
    }
    // NaN and Infinity reach the sum of |w| (NOTE above); float64 |w| of any float32 cannot overflow it
    if (!Number.isFinite(out.abs)) {
      const bad = nonFiniteError(op, [[label, t]])
      if (bad) throw bad
    }
  }
  return out
}

function checkTau(op: string, tau: number): void {
  if (typeof tau !== 'number' || !(tau >= 0) || !Number.isFinite(tau)) throw new Error(`${op}: tau must be a finite number >= 0, got ${tau}`)
}

/**
 * Fraction of entries with |w| > tau.
 * @example weightDensity(tensor([0, 0.5, -2, 1e-4]), 1e-3) // 0.5
 */
export function weightDensity(params: MetricInput, tau: number): number {
  checkTau('weightDensity', tau)
  const s = sums('weightDensity', tensorsOf('weightDensity', params), [tau])
  return s.above[0]! / s.n
}

/** Mean |w| over all entries. @example meanAbsWeight([w1, w2]) */
export function meanAbsWeight(params: MetricInput): number {
  const s = sums('meanAbsWeight', tensorsOf('meanAbsWeight', params), [])
  return s.abs / s.n
}

/** sqrt of the sum of squares of all entries. @example globalL2Norm(model.parameters()) */
export function globalL2Norm(params: MetricInput): number {
  return Math.sqrt(sums('globalL2Norm', tensorsOf('globalL2Norm', params), []).sq)
}

/** The metrics of one tensor or of a set; `density[i]` is at `taus[i]`. */
export interface WeightStatsEntry {
  numel: number
  density: number[]
  meanAbs: number
  l2Norm: number
}

/** What weightStats returns: per-parameter and total density, mean |w| and L2 norm. */
export interface WeightStats {
  /** The density thresholds, in the order of each entry's `density`. */
  taus: number[]
  /** One entry per parameter, by dotted name, in model order. */
  layers: ({ name: string; shape: number[] } & WeightStatsEntry)[]
  /** All the selected parameters together. */
  total: WeightStatsEntry
}

/** Options of weightStats. */
export interface WeightStatsOptions {
  /** Density thresholds (default [1e-3, 1e-2, 1e-1], as logged in the experiments). */
  taus?: number[]
  /** Which parameters (default: weights of Linear and Conv2d layers, the regularized ones). */
  filter?: ParamFilter
}

function entry(s: Sums): WeightStatsEntry {
  return { numel: s.n, density: s.above.map((a) => (s.n > 0 ? a / s.n : 0)), meanAbs: s.n > 0 ? s.abs / s.n : 0, l2Norm: Math.sqrt(s.sq) }
}

/**
 * Density at each tau, mean |w| and L2 norm, per parameter and for the whole selection.
 * @example weightStats(model).total.density[0] // density at tau = 1e-3
 */
export function weightStats(model: ParamSource, options: WeightStatsOptions = {}): WeightStats {
  const taus = options.taus ?? [1e-3, 1e-2, 1e-1]
  taus.forEach((t) => checkTau('weightStats', t))
  const params = selectParams(model, options.filter)
  const total: Sums = { n: 0, abs: 0, sq: 0, above: taus.map(() => 0) }
  const layers = params.map(([name, t]) => {
    const s = sums('weightStats', [[paramLabel(name), t]], taus)
    total.n += s.n
    total.abs += s.abs
    total.sq += s.sq
    s.above.forEach((a, k) => (total.above[k]! += a))
    return { name, shape: [...t.shape], ...entry(s) }
  })
  return { taus: [...taus], layers, total: entry(total) }
}
