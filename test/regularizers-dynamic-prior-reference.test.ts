// The fast path of the dynamic prior (float32 SIMD kernels, candidate bounds, threads) against the
// readable reference (Algorithm 1 in float64, src/regularizers/dynamic-prior-reference.ts):
// - fed the same temperatures, the masks are equal except for entries whose P' is within float32
//   rounding of the k-th largest (counted and reported);
// - over 200 evaluations on fixed weights with independent streams, each entry's selection
//   frequency agrees with the reference's within a binomial bound;
// - the penalty and its gradient agree to float32 precision;
// - the same for the two approximations (16-bit temperatures, the expected normalizer), and the
//   reference itself keeps the spec's invariants.
import { describe, expect, it } from 'vitest'
import { Generator, Tensor } from '../src/index.js'
import { DynamicPriorRegularizer, keptCount, referenceEvaluation, referencePenalty, type DynamicPriorOptions } from '../src/regularizers/index.js'
import type { NamedParam } from '../src/regularizers/params.js'
import type { SamplingConfig } from '../src/regularizers/dynamic-prior-sampling.js'
import { drawKeys } from '../src/tensor/counter-random.js'

function weights(n: number, seed: string, scale: number): Float32Array {
  const g = new Generator(seed)
  return Float32Array.from({ length: n }, () => scale * g.normal())
}
const param = (w: Float32Array, shape: number[]): NamedParam => ['w', new Tensor(w.slice(), shape).requiresGrad_()]

function config(n: number, o: DynamicPriorOptions): SamplingConfig {
  return {
    S: o.S ?? 10, k: keptCount(o.sp ?? 0.01, n), threshold: undefined, alpha: o.alpha ?? 0.9, score: 'magnitude',
    temperature: 'per-entry', temperatureBits: o.temperatureBits ?? 24, normalizer: o.normalizer ?? 'sampled',
  }
}

/**
 * Two evaluations (the second with W_old != W) by the fast path and by the reference, from one
 * seed; per experiment, the entries the two disagree on, and whether each lies within `tol`
 * (relative) of the reference's k-th largest P'.
 */
function compare(n: number, o: DynamicPriorOptions, tol: number) {
  const w = weights(n, `w${n}`, 0.05)
  const drift = weights(n, `d${n}`, 0.03)
  const shape = [n / 100, 100]
  const fast = new DynamicPriorRegularizer({ ...o, generator: new Generator(5) })
  const gen = new Generator(5)
  const cfg = config(n, o)
  let wOld = w
  const report = { experiments: 0, differing: 0, nearTies: 0, farOff: 0 }
  let last = { fastPenalty: 0, refPenalty: 0, grad: new Float32Array(0) as ArrayLike<number>, refGrad: new Float64Array(0) }
  for (const cur of [w, w.map((x, j) => x + drift[j]!)]) {
    const p = param(cur, shape)
    const penalty = fast.penalty([p])
    penalty.backward()
    const masks = fast.lastMasks('w').data
    const kth: number[] = []
    const P: Float64Array[] = []
    const ev = referenceEvaluation(Float64Array.from(cur), Float64Array.from(wOld), cfg, drawKeys(gen), { observe: (_s, Ps) => {
      P.push(Ps.slice())
      kth.push(Ps.slice().sort((a, b) => b - a)[cfg.k! - 1]!)
    } })
    for (let s = 0; s < cfg.S; s++) {
      report.experiments++
      const ref = new Set(ev.kept[s])
      for (let j = 0; j < n; j++) {
        if ((masks[s * n + j] === 1) === ref.has(j)) continue
        report.differing++
        if (Math.abs(P[s]![j]! - kth[s]!) <= tol * kth[s]!) report.nearTies++
        else report.farOff++
      }
    }
    const lambdaEff = fast.lastSample().groups[0]!.lambdaEff
    last = {
      fastPenalty: penalty.item(), refPenalty: referencePenalty(cur, ev, { lambda: fast.options.lambda, norm: 'squared', normalize: 'max-count', eps: 1e-12 }),
      grad: p[1].grad!.data as ArrayLike<number>, refGrad: Float64Array.from(cur, (x, j) => 2 * lambdaEff * ev.counts[j]! * x),
    }
    wOld = cur
  }
  return { report, last }
}

describe('dynamic prior: the fast path against the reference (Algorithm 1 in float64)', () => {
  // float32 P' carries ~1e-7 relative rounding per operation, and the exps ~1 ulp: 1e-5 is generous
  // for a near tie and still far below the spacing of distinct P' values around the k-th largest.
  const TOL = 1e-5
  for (const [title, o] of [
    ['exact reading (defaults)', {}],
    ['16-bit temperatures', { temperatureBits: 16 }],
    ["normalizer 'expected'", { normalizer: 'expected' }],
    ['both approximations, sp 0.05', { temperatureBits: 16, normalizer: 'expected', sp: 0.05 }],
  ] as [string, DynamicPriorOptions][]) {
    it(`${title}: the same masks but for near ties of the k-th largest P', the same penalty and gradient`, () => {
      const { report, last } = compare(20_000, o, TOL)
      // reported in the test's name on failure; all differing entries must be near ties
      expect(report.farOff, JSON.stringify(report)).toBe(0)
      // near ties are rare: at most one entry in a few experiments
      expect(report.nearTies, JSON.stringify(report)).toBeLessThanOrEqual(report.experiments / 4)
      if (report.differing === 0) {
        expect(Math.abs(last.fastPenalty - last.refPenalty)).toBeLessThanOrEqual(1e-6 * last.refPenalty)
        for (let j = 0; j < last.grad.length; j++) expect(last.grad[j]).toBeCloseTo(last.refGrad[j]!, 9)
      }
    })
  }

  it('selection frequencies over 200 evaluations on fixed weights agree within a binomial bound (independent streams)', () => {
    const n = 2000
    const o: DynamicPriorOptions = { sp: 0.05, S: 10 }
    const w = weights(n, 'freq', 0.3)
    const evaluations = 200
    const trials = evaluations * (o.S ?? 10)
    const frequency = (implementation: 'fast' | 'reference', seed: number): Float64Array => {
      const r = new DynamicPriorRegularizer({ ...o, implementation, generator: new Generator(seed) })
      const p = param(w, [n])
      const total = new Float64Array(n)
      for (let e = 0; e < evaluations; e++) {
        r.penalty([p])
        r.lastCounts('w').data.forEach((c, j) => (total[j] += c))
      }
      return total.map((c) => c / trials)
    }
    const fast = frequency('fast', 1)
    const ref = frequency('reference', 2)
    let worst = 0
    for (let j = 0; j < n; j++) {
      // two independent binomial proportions: sd of the difference sqrt(2 q (1 - q) / trials); with
      // 2000 entries, 5 sd (p ~ 6e-7 each) plus one count keeps false alarms away
      const q = (fast[j]! + ref[j]!) / 2
      const bound = 5 * Math.sqrt((2 * q * (1 - q)) / trials) + 1 / trials
      worst = Math.max(worst, Math.abs(fast[j]! - ref[j]!) / bound)
    }
    expect(worst).toBeLessThan(1)
    // and the distribution is far from uniform (the test has teeth): the largest weights are kept often
    expect(Math.max(...fast)).toBeGreaterThan(5 * (o.sp ?? 0.05))
  })
})

describe('dynamic prior: implementation \'reference\' through the regularizer', () => {
  it('keeps exactly k entries per experiment, counts sum to S*k, and S = 1, sp = 1 gives lambda ||W||^2', () => {
    const w = weights(300, 'r', 0.1)
    const r = new DynamicPriorRegularizer({ implementation: 'reference', sp: 0.1, S: 4, generator: new Generator(0) })
    r.penalty([param(w, [300])])
    const masks = r.lastMasks('w')
    for (let s = 0; s < 4; s++) expect(masks.narrow(0, s, 1).sum().item()).toBe(30)
    expect(r.lastCounts('w').sum().item()).toBe(120)
    const l2 = new DynamicPriorRegularizer({ implementation: 'reference', sp: 1, S: 1, lambda: 0.5, generator: new Generator(0) })
    const expected = 0.5 * w.reduce((a, x) => a + x * x, 0)
    expect(l2.penalty([param(w, [300])]).item()).toBeCloseTo(expected, 5)
  })

  it('gives the same masks as the fast path on a small model with the same seed, and runs scope \'model\'', () => {
    const mk = (implementation: 'fast' | 'reference') => new DynamicPriorRegularizer({ implementation, sp: 0.2, S: 3, scope: 'model', generator: new Generator(9) })
    const params: NamedParam[] = [['a', new Tensor(weights(60, 'a', 1), [6, 10])], ['b', new Tensor(weights(40, 'b', 1), [40])]]
    const [f, r] = [mk('fast'), mk('reference')]
    f.penalty(params)
    r.penalty(params)
    expect(r.lastMasks('a').data).toEqual(f.lastMasks('a').data)
    expect(r.lastMasks('b').data).toEqual(f.lastMasks('b').data)
  })

  it('rejects temperatureBits other than 24 or 16, and the expected normalizer with per-experiment temperatures, naming the options', () => {
    expect(() => new DynamicPriorRegularizer({ temperatureBits: 8 as 16 })).toThrow("DynamicPriorRegularizer: option temperatureBits must be 24 or 16, got 8")
    expect(() => new DynamicPriorRegularizer({ normalizer: 'expected', temperature: 'per-experiment' })).toThrow(
      "DynamicPriorRegularizer: option normalizer 'expected' needs temperature 'per-entry' (one scalar p_s per experiment averages nothing), got temperature 'per-experiment'")
    expect(() => new DynamicPriorRegularizer({ implementation: 'slow' as 'fast' })).toThrow("option implementation must be one of 'fast', 'reference', got \"slow\"")
    expect(() => new DynamicPriorRegularizer({ normalizer: 'mean' as 'expected' })).toThrow("option normalizer must be one of 'sampled', 'expected', got \"mean\"")
  })
})
