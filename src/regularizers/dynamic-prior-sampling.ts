// The S sampling experiments of one evaluation (Algorithm 1, lines 2-5), on raw arrays:
//   p ~ U(0,1) per entry (or one p_s per experiment), drawn in entry order, experiment after experiment
//   P'_j = alpha * softmax_j(p ⊙ f(W)) + (1 - alpha) * softmax_j(p ⊙ f(W_old))     (Eq. 4, 5)
//   I_s = the k entries with the largest P' (or [P' > T]);  c_j = sum_s I_sj
// W may be several tensors (scope 'model'): the segments are one vector, one distribution.
// Cost: O(N) per experiment (one uniform, at most two exps, a quickselect), O(S*N) per call;
// the caller allocates the buffers once and reuses them.
// NOTE: softmax is shifted by its max (exp never overflows, the largest term is exactly 1, so the
// sum Z >= 1). Where alpha is 0 or 1, or W_old is W, the unused softmax is skipped: the skipped
// products are exact zeros (0 * x + y === y), so the result is bit-identical to the full formula.
import type { FloatArray } from '../tensor/backends/backend.js'
import type { Generator } from '../tensor/generator.js'
import { AleaStream } from './uniform-fill.js'
import { selectAbove, selectTopK } from './selection.js'

/** Working memory of the sampling, shared by all groups (sized for the largest one). */
export interface WorkBuffers {
  /** p ⊙ f(W), then exp(...), then P' */
  a: Float64Array
  /** p ⊙ f(W_old), then its exp */
  b: Float64Array
  /** the temperatures p of one experiment */
  p: Float64Array
  /** f(W) and f(W_old), computed once per evaluation */
  fa: Float64Array
  fb: Float64Array
  /** quickselect's working copy */
  scratch: Float64Array
  /** indices of the entries that may be in the top k (see selectTopK) */
  candidates: Int32Array
}

/** What one group keeps from its last evaluation; `kept` holds experiment s at [starts[s], starts[s+1]). */
export interface GroupBuffers {
  /** c_j, the number of experiments that kept entry j */
  counts: Float64Array
  kept: Int32Array
  starts: Int32Array
}

export interface SamplingConfig {
  S: number
  /** entries kept per experiment (top-k rule), or undefined with a threshold */
  k: number | undefined
  threshold: number | undefined
  alpha: number
  score: 'magnitude' | 'literal'
  temperature: 'per-entry' | 'per-experiment'
}

/** Working memory for groups of up to n entries. */
export function allocateWork(n: number): WorkBuffers {
  const f64 = (): Float64Array => new Float64Array(n)
  return { a: f64(), b: f64(), p: f64(), fa: f64(), fb: f64(), scratch: f64(), candidates: new Int32Array(n) }
}

/** The per-group memory of a group of n entries. */
export function allocateGroupBuffers(n: number, cfg: SamplingConfig): GroupBuffers {
  const keptCapacity = cfg.k !== undefined ? cfg.S * cfg.k : Math.max(16, cfg.S * Math.ceil(0.01 * n))
  return { counts: new Float64Array(n), kept: new Int32Array(keptCapacity), starts: new Int32Array(cfg.S + 1) }
}

/**
 * Run the S experiments on W (`cur`, one array per segment, n entries in all) and W_old (`old`,
 * same lengths), filling `out.counts`, `out.kept` and `out.starts`. Returns true when `out.kept`
 * was regrown (threshold rule only). `oldIsCur` says W_old holds the same values as W (first call).
 */
export function sampleExperiments(
  cur: FloatArray[],
  old: FloatArray[],
  n: number,
  cfg: SamplingConfig,
  gen: Generator,
  work: WorkBuffers,
  out: GroupBuffers,
  oldIsCur: boolean,
): boolean {
  const { a, b } = work
  const { counts, starts } = out
  const { alpha } = cfg
  const perEntry = cfg.temperature === 'per-entry'
  const magnitude = cfg.score === 'magnitude'
  const needA = alpha > 0 || oldIsCur
  const needB = alpha < 1 && !oldIsCur
  let grown = false
  counts.fill(0)
  starts[0] = 0
  // f(W) and f(W_old) do not change between experiments: compute them once.
  const { p, fa, fb } = work
  const f = (src: FloatArray[], dst: Float64Array): void => {
    let off = 0
    for (const w of src) {
      for (let i = 0; i < w.length; i++) dst[off + i] = magnitude ? Math.abs(w[i]!) : -w[i]!
      off += w.length
    }
  }
  if (needA) f(cur, fa)
  if (needB) f(old, fb)
  const stream = AleaStream.open(gen)
  for (let s = 0; s < cfg.S; s++) {
    // 1.-2. temperatures p (drawn in entry order), the scores p ⊙ f(W) in a and p ⊙ f(W_old) in b, with their maxima
    if (perEntry) stream.fill(p, 0, n)
    else p.fill(stream.next(), 0, n)
    let ma = -Infinity
    let mb = -Infinity
    if (needA) {
      for (let j = 0; j < n; j++) {
        const x = p[j]! * fa[j]!
        a[j] = x
        if (x > ma) ma = x
      }
    }
    if (needB) {
      for (let j = 0; j < n; j++) {
        const y = p[j]! * fb[j]!
        b[j] = y
        if (y > mb) mb = y
      }
    }
    // 3. stable softmaxes and their mixture P' (into a)
    const za = needA ? expShifted(a, n, ma) : 0
    const zb = needB ? expShifted(b, n, mb) : 0
    if (!needB) {
      if (alpha === 1) for (let j = 0; j < n; j++) a[j] = a[j]! / za
      else for (let j = 0; j < n; j++) {
        const q = a[j]! / za
        a[j] = alpha * q + (1 - alpha) * q
      }
    } else if (!needA) {
      for (let j = 0; j < n; j++) a[j] = b[j]! / zb
    } else {
      for (let j = 0; j < n; j++) a[j] = alpha * (a[j]! / za) + (1 - alpha) * (b[j]! / zb)
    }
    // 4. the mask of this experiment, and the counts
    let kept: number
    if (cfg.k !== undefined) {
      kept = selectTopK(a, n, cfg.k, work.scratch, out.kept, starts[s]!, work.candidates)
    } else {
      const r = selectAbove(a, n, cfg.threshold!, out.kept, starts[s]!)
      if (r.out !== out.kept) grown = true
      out.kept = r.out
      kept = r.count
    }
    const from = starts[s]!
    starts[s + 1] = from + kept
    const idx = out.kept
    for (let q = from; q < from + kept; q++) counts[idx[q]!]!++
  }
  stream.close()
  return grown
}

/** x_j <- exp(x_j - max) in place; returns the sum. */
function expShifted(x: Float64Array, n: number, max: number): number {
  let z = 0
  for (let j = 0; j < n; j++) {
    const e = Math.exp(x[j]! - max)
    x[j] = e
    z += e
  }
  return z
}
