// The paper's weight metrics (Sec. 2.5.3), over one tensor, a set of tensors, or a model:
//   density(tau) = #{j : |w_j| > tau} / N      (the paper's 1 - Sparsity; Table 2's "Wt. Density")
//   mean |w| = sum_j |w_j| / N                  global L2 norm = sqrt(sum_j w_j^2)
// Over a set, every entry counts once: the density of the set is not the mean of the densities.
// NOTE: the paper's Sparsity formula reads 1(w_i > T) without the absolute value; we count |w| > tau,
// since a large negative weight is not "sparse" (the spec's reading). Sums are in float64.
import { Tensor } from '../tensor/tensor.js'
import { selectParams, type ParamFilter, type ParamSource } from './params.js'

/** Tensors to measure: one tensor, tensors, or named tensors (e.g. `model.namedParameters()`). */
export type MetricInput = Tensor | Iterable<Tensor | [string, Tensor]>

function tensorsOf(op: string, input: MetricInput): Tensor[] {
  const list = input instanceof Tensor ? [input] : [...input].map((e) => (Array.isArray(e) ? e[1] : e))
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`${op}: entry ${i} is not a Tensor`)
  })
  if (list.length === 0 || list.every((t) => t.numel() === 0)) throw new Error(`${op}: no entries to measure (got ${list.length} tensors, all empty)`)
  return list
}

interface Sums {
  n: number
  abs: number
  sq: number
  above: number[]
}

function sums(tensors: Tensor[], taus: number[]): Sums {
  const out: Sums = { n: 0, abs: 0, sq: 0, above: taus.map(() => 0) }
  for (const t of tensors) {
    const d = t.data
    out.n += d.length
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i]!)
      out.abs += a
      out.sq += a * a
      for (let k = 0; k < taus.length; k++) if (a > taus[k]!) out.above[k]!++
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
  const s = sums(tensorsOf('weightDensity', params), [tau])
  return s.above[0]! / s.n
}

/** Mean |w| over all entries. @example meanAbsWeight([w1, w2]) */
export function meanAbsWeight(params: MetricInput): number {
  const s = sums(tensorsOf('meanAbsWeight', params), [])
  return s.abs / s.n
}

/** sqrt of the sum of squares of all entries. @example globalL2Norm(model.parameters()) */
export function globalL2Norm(params: MetricInput): number {
  return Math.sqrt(sums(tensorsOf('globalL2Norm', params), []).sq)
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
    const s = sums([t], taus)
    total.n += s.n
    total.abs += s.abs
    total.sq += s.sq
    s.above.forEach((a, k) => (total.above[k]! += a))
    return { name, shape: [...t.shape], ...entry(s) }
  })
  return { taus: [...taus], layers, total: entry(total) }
}
