// The bounds experiment of Sec. 2.3 / Fig. 2: L1, L2 and the proposed penalty of random vectors
// against their density, with the "thresholded uniform prior" and no momentum, and a numerical
// check of Eq. 7. For a vector w of N entries with a fraction `density` of nonzeros (N(0,1) values):
//   L1 = sum |w_j|       L2 = R_L2(w) = sqrt(sum w_j^2)
//   proposed = lambda_eff * sum_s sqrt(sum_j w_j^2 I_sj)                                   (Eq. 6)
// where experiment s keeps a uniformly random k-subset (k = max(1, round(sp*N)): the top k of
// i.i.d. U(0,1) scores) and, with T > 0, each of those only if its own U(0,1) draw exceeds T; so
// P(I_sj = 1) = q = k(1-T)/N, the paper's s_p(1-T)/N with s_p read as a count.
// Eq. 7 comes from Jensen per experiment, E sqrt(x_s) <= sqrt(E x_s) = sqrt(q) R_L2, summed over s:
//   E[proposed] <= lambda_eff * S * sqrt(q) * R_L2 = lambda' * sqrt(k S (1-T) / N) * R_L2,  lambda' = lambda_eff * sqrt(S)
// The paper prints lambda' without the sqrt(S); `boundPrinted` (lambda' = lambda_eff) is checked too.
// NOTE: Eq. 7 bounds an expectation, so each row compares means over `seeds` draws, not single draws,
// and a mean a little above the bound can be sampling noise: the verdict compares the mean excess
// (proposed - bound, paired per draw) with twice its standard error.
import { Generator } from '../tensor/generator.js'
import { fillUniform } from './uniform-fill.js'
import { selectTopK } from './selection.js'
import { keptCount } from './dynamic-prior-options.js'

/** Options of boundsExperiment (the check of Eq. 7, Fig. 2); names follow the paper. */
export interface BoundsOptions {
  /** Vector size (default 10000). */
  N?: number
  /** Densities to try, each in (0, 1] (default: 13 log-spaced points from 1e-3 to 1). */
  densities?: number[]
  /** Experiments per evaluation (default 10). */
  S?: number
  /** Fraction kept per experiment (default 0.01). */
  sp?: number
  /** Threshold of the uniform prior, in [0, 1) (default 0: keep the whole k-subset). */
  T?: number
  /** Base strength (default 1). */
  lambda?: number
  /** 'max-count' (default): lambda_eff = lambda / max_j c_j per draw, as the regularizer; 'none': lambda. */
  normalize?: 'max-count' | 'none'
  /** Independent draws (vector and masks) per density (default 10). */
  seeds?: number
  /** Source of all randomness (default new Generator(0)). */
  generator?: Generator
}

/** One density of the bounds experiment: the mean penalties and whether Eq. 7 held. */
export interface BoundsRow {
  /** fraction of nonzero entries in the test vectors */
  density: number
  nonzeros: number
  /** means over the draws */
  l1: number
  l2: number
  proposed: number
  /** Eq. 7's right side with lambda' = lambda_eff * sqrt(S) (the form that follows from Jensen) */
  bound: number
  /** Eq. 7's right side as printed, lambda' = lambda_eff */
  boundPrinted: number
  /** mean proposed <= mean bound */
  holds: boolean
  holdsPrinted: boolean
  /** 'holds'; 'within noise' (mean excess <= 2 standard errors); 'violated' */
  verdict: Verdict
  verdictPrinted: Verdict
}

/** Whether a bound held on the means, held within sampling noise, or was violated. */
export type Verdict = 'holds' | 'within noise' | 'violated'

/** log-spaced values from 10^a to 10^b, `count` of them. @example logSpace(-3, 0, 4) // [0.001, 0.01, 0.1, 1] */
export function logSpace(a: number, b: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => 10 ** (count === 1 ? a : a + ((b - a) * i) / (count - 1)))
}

/**
 * Run the Fig. 2 sweep; one row per density.
 * @example boundsExperiment({ N: 1000, seeds: 5 }).filter((r) => !r.holds)
 */
export function boundsExperiment(options: BoundsOptions = {}): BoundsRow[] {
  const N = options.N ?? 10000
  const densities = options.densities ?? logSpace(-3, 0, 13)
  const S = options.S ?? 10
  const sp = options.sp ?? 0.01
  const T = options.T ?? 0
  const lambda = options.lambda ?? 1
  const normalize = options.normalize ?? 'max-count'
  const seeds = options.seeds ?? 10
  const gen = options.generator ?? new Generator(0)
  const fail = (what: string, v: unknown): never => {
    throw new Error(`boundsExperiment: option ${what}, got ${JSON.stringify(v)}`)
  }
  if (!Number.isInteger(N) || N < 1) fail('N must be an integer >= 1', N)
  if (!Number.isInteger(S) || S < 1) fail('S must be an integer >= 1', S)
  if (!(sp > 0 && sp <= 1)) fail('sp must be in (0, 1]', sp)
  if (!(T >= 0 && T < 1)) fail('T must be in [0, 1)', T)
  if (!(lambda >= 0 && Number.isFinite(lambda))) fail('lambda must be a finite number >= 0', lambda)
  if (!Number.isInteger(seeds) || seeds < 1) fail('seeds must be an integer >= 1', seeds)
  if (normalize !== 'max-count' && normalize !== 'none') fail("normalize must be 'max-count' or 'none'", normalize)
  densities.forEach((d) => (d > 0 && d <= 1 ? 0 : fail('densities must each be in (0, 1]', d)))

  const k = keptCount(sp, N)
  const q = (k * (1 - T)) / N
  const w = new Float64Array(N)
  const u = new Float64Array(N)
  const scratch = new Float64Array(N)
  const kept = new Int32Array(k)
  const counts = new Float64Array(N)
  return densities.map((density) => {
    const nonzeros = Math.max(1, Math.round(density * N))
    const acc = { l1: 0, l2: 0, proposed: 0, bound: 0 }
    const excess: number[] = []
    const excessPrinted: number[] = []
    for (let seed = 0; seed < seeds; seed++) {
      w.fill(0)
      const positions = gen.permutation(N)
      for (let i = 0; i < nonzeros; i++) w[positions[i]!] = gen.normal()
      let l1 = 0
      let sq = 0
      for (let j = 0; j < N; j++) {
        l1 += Math.abs(w[j]!)
        sq += w[j]! * w[j]!
      }
      counts.fill(0)
      let sumSqrt = 0
      for (let s = 0; s < S; s++) {
        fillUniform(gen, u)
        selectTopK(u, N, k, scratch, kept, 0)
        let xs = 0
        for (let i = 0; i < k; i++) {
          const j = kept[i]!
          if (T > 0 && !(gen.uniform() > T)) continue
          counts[j]!++
          xs += w[j]! * w[j]!
        }
        sumSqrt += Math.sqrt(xs)
      }
      let maxCount = 0
      for (let j = 0; j < N; j++) if (counts[j]! > maxCount) maxCount = counts[j]!
      const lambdaEff = normalize === 'max-count' && maxCount > 0 ? lambda / maxCount : lambda
      acc.l1 += l1
      acc.l2 += Math.sqrt(sq)
      const proposed = lambdaEff * sumSqrt
      const bound = lambdaEff * S * Math.sqrt(q) * Math.sqrt(sq)
      acc.proposed += proposed
      acc.bound += bound
      excess.push(proposed - bound)
      excessPrinted.push(proposed - bound / Math.sqrt(S))
    }
    const row = {
      density,
      nonzeros,
      l1: acc.l1 / seeds,
      l2: acc.l2 / seeds,
      proposed: acc.proposed / seeds,
      bound: acc.bound / seeds,
      boundPrinted: acc.bound / seeds / Math.sqrt(S),
    }
    return {
      ...row,
      holds: row.proposed <= row.bound,
      holdsPrinted: row.proposed <= row.boundPrinted,
      verdict: verdict(excess),
      verdictPrinted: verdict(excessPrinted),
    }
  })
}

/** 'holds' when the mean excess is <= 0, 'within noise' when it is <= 2 standard errors. */
function verdict(excess: number[]): Verdict {
  const n = excess.length
  const mean = excess.reduce((a, b) => a + b, 0) / n
  if (mean <= 0) return 'holds'
  const variance = n > 1 ? excess.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : Infinity
  return mean <= 2 * Math.sqrt(variance / n) ? 'within noise' : 'violated'
}
