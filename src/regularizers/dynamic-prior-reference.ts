// Algorithm 1 of Kori & Sharma ("Dynamic Regularizer with an Informative Prior") as written: one
// evaluation of the dynamic prior for one weight vector, in float64 with Math.exp, to be read
// next to the paper. This is the definition; the fast path (dynamic-prior-sampling.ts: float32
// SIMD kernels, candidate bounds, threads) is tested against it. Select it with
// `new DynamicPriorRegularizer({ implementation: 'reference' })`.
//
// It draws its temperatures from the same keyed stream as the fast path (counter c = s*N + j of
// ../tensor/counter-random.ts), so both can be fed the same p.
import { temperature, type SamplingKeys } from '../tensor/counter-random.js'
import { selectTopK } from './selection.js'
import type { SamplingConfig } from './dynamic-prior-sampling.js'

/** The result of one evaluation: the kept entries of each experiment (increasing) and the counts c_j. */
export interface ReferenceEvaluation {
  kept: Int32Array[]
  counts: Float64Array
  maxCount: number
}

/** See {@link referenceEvaluation}. */
export interface ReferenceHooks {
  /** sees experiment s's P' (float64, N entries) before its mask is taken */
  observe?: (s: number, P: Float64Array) => void
  /** replaces the keyed stream: the temperature at counter c (s*N + j, or s*N per experiment) */
  temperature?: (counter: number) => number
}

/**
 * One evaluation of Algorithm 1 (lines 2-6) on W (`w`) and W_old (`wOld`), N entries each.
 * Hooks for checks and measurements: `observe` sees each experiment's P' (e.g. to find the entries
 * near the k-th largest); `temperature` replaces the keyed stream's p for counter c.
 * @example referenceEvaluation(w, wOld, { S: 10, k: 42, threshold: undefined, alpha: 0.9, score: 'magnitude', temperature: 'per-entry', temperatureBits: 24, normalizer: 'sampled' }, keys)
 */
export function referenceEvaluation(w: ArrayLike<number>, wOld: ArrayLike<number>, cfg: SamplingConfig, keys: SamplingKeys,
  hooks: ReferenceHooks = {}): ReferenceEvaluation {
  const draw = hooks.temperature ?? ((c: number) => temperature(c, keys.k1, keys.k2, cfg.temperatureBits))
  const n = w.length
  // Eq. 4's score: f(w) = |w| (the text's reading) or -w (Eq. 4 as printed)
  const f = (x: number): number => (cfg.score === 'magnitude' ? Math.abs(x) : -x)
  const fw = Float64Array.from(w, f)
  const fOld = Float64Array.from(wOld, f)
  // the 'expected' normalizer: E[Z] over p ~ U(0,1), once per evaluation (not the paper's sampled Z)
  const expected = cfg.normalizer === 'expected' ? [expectedZ(fw), expectedZ(fOld)] : [undefined, undefined]
  const counts = new Float64Array(n)
  const kept: Int32Array[] = []
  const p = new Float64Array(n)
  const P = new Float64Array(n)
  for (let s = 0; s < cfg.S; s++) {
    // line 4: p_j ~ U(0,1), one per pair (w_j, w_old_j); or one p_s for the whole experiment
    for (let j = 0; j < n; j++) p[j] = draw(cfg.temperature === 'per-entry' ? s * n + j : s * n)
    // Eq. 4 and 5: P' = alpha softmax(p ⊙ f(W)) + (1 - alpha) softmax(p ⊙ f(W_old))
    const a = softmax(p, fw, expected[0])
    const b = softmax(p, fOld, expected[1])
    for (let j = 0; j < n; j++) P[j] = cfg.alpha * a[j]! + (1 - cfg.alpha) * b[j]!
    hooks.observe?.(s, P)
    // line 5: I_s = the k entries with the largest P' (ties: the lower index), or [P' > T]
    let I: Int32Array
    if (cfg.k !== undefined) {
      I = new Int32Array(cfg.k)
      selectTopK(P, n, cfg.k, new Float64Array(n), I, 0)
    } else {
      I = Int32Array.from(P.keys()).filter((j) => P[j]! > cfg.threshold!)
    }
    // line 6: c_j += I_sj
    for (const j of I) counts[j]++
    kept.push(I)
  }
  let maxCount = 0
  for (const c of counts) maxCount = Math.max(maxCount, c)
  return { kept, counts, maxCount }
}

// softmax_j(p_j f_j), stable: exps of t_j - max_i t_i. With Z given (sum_j E[exp(p f_j)]),
// exp(t_j) / Z, shifted by m = max(0, max_j f_j) >= every t_j, as p < 1.
function softmax(p: Float64Array, f: Float64Array, Z?: number): Float64Array {
  const t = p.map((pj, j) => pj * f[j]!)
  const m = Z === undefined ? t.reduce((x, y) => Math.max(x, y), -Infinity) : f.reduce((x, y) => Math.max(x, y), 0)
  const e = t.map((x) => Math.exp(x - m))
  const total = Z === undefined ? e.reduce((x, y) => x + y, 0) : Z * Math.exp(-m)
  return e.map((x) => x / total)
}

// E over p ~ U(0,1) of sum_j exp(p f_j) = sum_j (e^{f_j} - 1) / f_j (1 where f_j = 0)
function expectedZ(f: Float64Array): number {
  return f.reduce((z, x) => z + (x === 0 ? 1 : Math.expm1(x) / x), 0)
}

/**
 * The penalty of one evaluation (Algorithm 1 line 7, Eq. 3, or Eq. 6) in float64, with
 * lambda_eff = lambda / max_j c_j ('max-count', Sec. 2.3) or lambda ('none').
 * @example referencePenalty(w, ev, { lambda: 5e-4, norm: 'squared', normalize: 'max-count', eps: 1e-12 })
 */
export function referencePenalty(w: ArrayLike<number>, ev: ReferenceEvaluation, o: { lambda: number; norm: 'squared' | 'l2'; normalize: 'max-count' | 'none'; eps: number }): number {
  const lambdaEff = o.normalize === 'max-count' && ev.maxCount > 0 ? o.lambda / ev.maxCount : o.lambda
  let r = 0
  if (o.norm === 'squared') {
    // sum_s ||W ⊙ I_s||^2 = sum_j c_j w_j^2
    for (let j = 0; j < w.length; j++) r += ev.counts[j]! * w[j]! * w[j]!
  } else {
    // sum_s sqrt(sum_j I_sj w_j^2 + eps)
    for (const I of ev.kept) r += Math.sqrt(I.reduce((q, j) => q + w[j]! * w[j]!, 0) + o.eps)
  }
  return lambdaEff * r
}
