// The options of the dynamic informative-prior regularizer, their defaults, and their checks.
// Each option that is not a plain number selects one reading of a point the paper leaves open
// (docs/06-the-papers-regularizer.md says which reading each value selects); the default, the
// project's reading, is listed first.
import type { Generator } from '../tensor/generator.js'
import type { ParamFilter } from './params.js'

/** Options of DynamicPriorRegularizer; each non-numeric option picks one reading of the paper (default first). */
export interface DynamicPriorOptions {
  /** Strength (default 5e-4, the L2 baseline's default, so the two compare at equal lambda). */
  lambda?: number
  /** Sampling experiments per evaluation, an integer >= 1 (the paper's S; default 10). */
  S?: number
  /** Fraction of entries kept per experiment, in (0, 1] (the paper's s_p; default 0.01). */
  sp?: number
  /** Momentum between the current and the previous distribution, in [0, 1] (Eq. 5; default 0.9). */
  alpha?: number
  /** f(w) inside the softmax: 'magnitude' |w| (the text's reading, default) or 'literal' -w (Eq. 4 as printed). */
  score?: 'magnitude' | 'literal'
  /** 'per-entry': one p_j ~ U(0,1) per entry (Algorithm 1, default); 'per-experiment': one p_s (Eq. 4). */
  temperature?: 'per-entry' | 'per-experiment'
  /** 'squared': sum_s ||W ⊙ I_s||^2 (Algorithm 1, Eq. 3; default); 'l2': sum_s sqrt(...) (Eq. 6). */
  norm?: 'squared' | 'l2'
  /** 'max-count': lambda / max_j c_j (Sec. 2.3; default); 'none': lambda as given. */
  normalize?: 'max-count' | 'none'
  /** The paper's absolute rule I = [P' > threshold], in [0, 1), instead of keeping the top sp. */
  threshold?: number
  /** 'per-tensor': one distribution per parameter tensor (default); 'model': all tensors as one vector. */
  scope?: 'per-tensor' | 'model'
  /** Source of the temperatures (default: the global generator at each call). */
  generator?: Generator
  /** Which parameters are regularized (default: weights of Linear and Conv2d layers). */
  filter?: ParamFilter
  /** Added under the square root of the 'l2' norm so its gradient stays finite (default 1e-12). */
  eps?: number
  /**
   * Which implementation samples: 'fast' (float32 SIMD kernels on the backend, default) or
   * 'reference' (Algorithm 1 as written in float64, dynamic-prior-reference.ts; slow, for reading
   * and checking). Both draw the same temperatures from one seed.
   */
  implementation?: 'fast' | 'reference'
  /** Random bits per temperature p_j: 24 (one hash per entry, default) or 16 (two per hash; an approximation for speed). */
  temperatureBits?: 24 | 16
  /**
   * The softmax normalisers Z = sum_j exp(p_j f_j): 'sampled' from the experiment's temperatures
   * (the paper, default) or 'expected', their expectation over p ~ U(0,1), once per evaluation (an
   * approximation for speed; temperature 'per-entry' only).
   */
  normalizer?: 'sampled' | 'expected'
}

/** DynamicPriorOptions after defaults and checks, as the regularizer reports them (generator and filter left out). */
export interface ResolvedDynamicPriorOptions {
  lambda: number
  S: number
  sp: number
  alpha: number
  score: 'magnitude' | 'literal'
  temperature: 'per-entry' | 'per-experiment'
  norm: 'squared' | 'l2'
  normalize: 'max-count' | 'none'
  threshold: number | undefined
  scope: 'per-tensor' | 'model'
  eps: number
  implementation: 'fast' | 'reference'
  temperatureBits: 24 | 16
  normalizer: 'sampled' | 'expected'
}

/**
 * The defaults of DynamicPriorOptions (lambda 5e-4, S 10, sp 0.01, alpha 0.9, ...), in one place for docs and logs.
 * @example DYNAMIC_PRIOR_DEFAULTS.sp // 0.01
 */
export const DYNAMIC_PRIOR_DEFAULTS = {
  lambda: 5e-4,
  S: 10,
  sp: 0.01,
  alpha: 0.9,
  score: 'magnitude',
  temperature: 'per-entry',
  norm: 'squared',
  normalize: 'max-count',
  scope: 'per-tensor',
  eps: 1e-12,
  implementation: 'fast',
  temperatureBits: 24,
  normalizer: 'sampled',
} as const

const NAME = 'DynamicPriorRegularizer'

function choice<T extends string>(option: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (!allowed.includes(value)) {
    throw new Error(`${NAME}: option ${option} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value
}

/** Check every option and fill in the defaults; throws naming the first bad option. */
export function resolveDynamicPriorOptions(o: DynamicPriorOptions): ResolvedDynamicPriorOptions {
  const d = DYNAMIC_PRIOR_DEFAULTS
  const lambda = o.lambda ?? d.lambda
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
    throw new Error(`${NAME}: option lambda must be a finite number >= 0, got ${lambda}`)
  }
  const S = o.S ?? d.S
  if (typeof S !== 'number' || !Number.isInteger(S) || S < 1) throw new Error(`${NAME}: option S must be an integer >= 1, got ${S}`)
  if (o.sp !== undefined && o.threshold !== undefined) {
    throw new Error(`${NAME}: options sp and threshold are alternatives (top-sp or the absolute rule P' > threshold); give one, got sp=${o.sp} and threshold=${o.threshold}`)
  }
  const sp = o.sp ?? d.sp
  if (typeof sp !== 'number' || !(sp > 0 && sp <= 1)) throw new Error(`${NAME}: option sp must be in (0, 1], got ${sp}`)
  const alpha = o.alpha ?? d.alpha
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new Error(`${NAME}: option alpha must be in [0, 1], got ${alpha}`)
  const threshold = o.threshold
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold >= 0 && threshold < 1))) {
    throw new Error(`${NAME}: option threshold must be in [0, 1) (P' is a probability), got ${threshold}`)
  }
  const eps = o.eps ?? d.eps
  if (typeof eps !== 'number' || !(eps > 0 && Number.isFinite(eps))) throw new Error(`${NAME}: option eps must be a finite number > 0, got ${eps}`)
  const temperatureBits = o.temperatureBits ?? d.temperatureBits
  if (temperatureBits !== 24 && temperatureBits !== 16) throw new Error(`${NAME}: option temperatureBits must be 24 or 16, got ${JSON.stringify(temperatureBits)}`)
  const temperature = choice('temperature', o.temperature, ['per-entry', 'per-experiment'], d.temperature)
  const normalizer = choice('normalizer', o.normalizer, ['sampled', 'expected'], d.normalizer)
  if (normalizer === 'expected' && temperature === 'per-experiment') {
    throw new Error(`${NAME}: option normalizer 'expected' needs temperature 'per-entry' (one scalar p_s per experiment averages nothing), got temperature 'per-experiment'`)
  }
  if (o.filter !== undefined && typeof o.filter !== 'function') throw new Error(`${NAME}: option filter must be a function (name, param, module) => boolean`)
  return {
    lambda,
    S,
    sp,
    alpha,
    threshold,
    eps,
    score: choice('score', o.score, ['magnitude', 'literal'], d.score),
    temperature,
    norm: choice('norm', o.norm, ['squared', 'l2'], d.norm),
    normalize: choice('normalize', o.normalize, ['max-count', 'none'], d.normalize),
    scope: choice('scope', o.scope, ['per-tensor', 'model'], d.scope),
    implementation: choice('implementation', o.implementation, ['fast', 'reference'], d.implementation),
    temperatureBits,
    normalizer,
  }
}

/** Entries kept per experiment: k = max(1, round(sp * N)). @example keptCount(0.01, 421642) // 4216 */
export function keptCount(sp: number, n: number): number {
  return Math.max(1, Math.min(n, Math.round(sp * n)))
}
