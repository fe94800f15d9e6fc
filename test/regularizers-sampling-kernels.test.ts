// The dynamic prior's sampling passes: the WebAssembly kernels against their plain-JS oracle
// (src/tensor/backends/prior-oracle.ts, what the reference backend runs), bit for bit, on every
// path the kernels have (one or two softmaxes, each short exp polynomial, literal scores,
// per-experiment temperatures, 16-bit temperatures, the expected normalizer, the threshold rule,
// vector tails, several chunks, two threads, the candidate fallback); the masks against a full
// top-k of every experiment's P' (the candidate bounds must never change them); the float32 exp against
// Math.exp; the temperature stream's statistics; the radix top-k against the quickselect one.
import { afterAll, describe, expect, it } from 'vitest'
import { Generator } from '../src/index.js' // (registers the wasm backend)
import { PRIOR_CHUNK } from '../src/tensor/backends/wasm/prior-kernels.js'
import { allocateGroupBuffers, allocateWork, sampleExperiments, type SamplingConfig } from '../src/regularizers/dynamic-prior-sampling.js'
import type { Backend } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { chunkTotal, expPass, expectedSum, expf, expShort, mixPass } from '../src/tensor/backends/prior-oracle.js'
import { expectedTotal, pruneBounds } from '../src/tensor/backends/prior-passes.js'
import { drawKeys, lowbias32, temperature } from '../src/tensor/counter-random.js'
import { SHORT_EXPS, expDegreeFor } from '../src/tensor/backends/wasm/prior-kernels.js'
import { HISTOGRAM_BINS, keepTopK, kthLargestF32Bits, selectTopK, selectTopKF32 } from '../src/regularizers/selection.js'

const reference = new ReferenceBackend()
const wasms = [new WasmBackend({ threads: 1, parallelFlops: 1e9 }), new WasmBackend({ threads: 2, parallelFlops: 1e9 })]
afterAll(() => wasms.forEach((e) => e.dispose()))

interface Case {
  title: string
  n: number
  cfg: Partial<SamplingConfig> & { sp?: number }
  scale?: number
  /** W_old = W + drift * noise (default 0.01 * scale) */
  drift?: number
  oldIsCur?: boolean
  /** weights: generated from the seed unless given */
  weights?: (n: number) => Float32Array
}

function run(c: Case, backend: Backend): { kept: number[]; entries: number[]; counts: number[] } {
  const g = new Generator(`w${c.n}`)
  const scale = c.scale ?? 0.1
  const w = c.weights ? c.weights(c.n) : Float32Array.from({ length: c.n }, () => scale * g.normal())
  const old = c.oldIsCur ? w : w.map((x) => x + (c.drift ?? 0.01 * scale) * g.normal())
  const S = c.cfg.S ?? 3
  const threshold = c.cfg.threshold
  const cfg: SamplingConfig = {
    S, threshold, alpha: 0.9, score: 'magnitude', temperature: 'per-entry', temperatureBits: 24, normalizer: 'sampled', ...c.cfg,
    k: threshold === undefined ? Math.max(1, Math.round((c.cfg.sp ?? 0.01) * c.n)) : undefined,
  }
  const out = allocateGroupBuffers(c.n, cfg)
  sampleExperiments([w.subarray(0, c.n >> 1), w.subarray(c.n >> 1)], [old.subarray(0, c.n >> 1), old.subarray(c.n >> 1)], c.n, cfg,
    new Generator(3), allocateWork(c.n), out, c.oldIsCur ?? false, backend)
  const kept = Array.from(out.kept.subarray(0, out.starts[S]!))
  // the (entry, c_j) pairs are the kept lists tallied
  const tally = new Map<number, number>()
  for (const j of [...kept].sort((a, b) => a - b)) tally.set(j, (tally.get(j) ?? 0) + 1)
  const entries = Array.from(out.entries.subarray(0, out.distinct))
  const counts = Array.from(out.counts.subarray(0, out.distinct))
  expect(entries).toEqual([...tally.keys()])
  expect(counts).toEqual([...tally.values()])
  expect(out.maxCount).toBe(Math.max(0, ...counts))
  expect(out.tally.every((x) => x === 0) && out.marks.every((x) => x === 0)).toBe(true)
  return { kept, entries, counts }
}

const uniformWeights = (b: number) => (n: number): Float32Array => {
  const g = new Generator(`u${n}`)
  return Float32Array.from({ length: n }, () => b * (2 * g.uniform() - 1))
}

const big = 8 * PRIOR_CHUNK + 4 * 7 + 3 // several chunks, a tail vector, >= 2^16 entries: split over threads
const cases: Case[] = [
  // weights uniform in (-b, b), b just under one polynomial's span and above the next shorter's: that exp
  ...SHORT_EXPS.map(({ degree, span }): Case => {
    const b = 0.95 * span
    return { title: `two softmaxes (alpha 0.9), |w| < ${b.toFixed(3)}: the degree-${degree} exp`, n: 1003, cfg: {}, drift: 1e-3 * b, weights: uniformWeights(b) }
  }),
  { title: 'two softmaxes, W_old far from W', n: 1003, cfg: {}, scale: 0.05, drift: 0.02 },
  { title: 'two softmaxes, weights up to ~4 (full exp with range reduction)', n: 1003, cfg: { sp: 0.05 }, scale: 1 },
  { title: 'first call (W_old = W): one softmax', n: 517, cfg: { sp: 0.1 }, oldIsCur: true },
  { title: 'alpha = 1 (W only)', n: 600, cfg: { alpha: 1, sp: 0.3 } },
  { title: 'alpha = 0 (W_old only)', n: 601, cfg: { alpha: 0, sp: 0.02 }, scale: 2 },
  { title: "score 'literal' (-w)", n: 999, cfg: { score: 'literal', sp: 0.05 }, scale: 0.5 },
  { title: "temperature 'per-experiment'", n: 998, cfg: { temperature: 'per-experiment', sp: 0.1 } },
  { title: 'threshold rule', n: 2001, cfg: { threshold: 1.02 / 2001, S: 4 } },
  { title: '16-bit temperatures (two per hash), odd n', n: 1001, cfg: { temperatureBits: 16, sp: 0.05 } },
  { title: "16-bit temperatures, 'per-experiment'", n: 998, cfg: { temperatureBits: 16, temperature: 'per-experiment', sp: 0.1 } },
  { title: "normalizer 'expected'", n: 1003, cfg: { normalizer: 'expected', sp: 0.05 }, scale: 0.5 },
  { title: "normalizer 'expected', first call, literal score", n: 517, cfg: { normalizer: 'expected', score: 'literal', sp: 0.1 }, oldIsCur: true },
  { title: `${big} entries, sp 0.01, S 5 (chunks, tail, threads)`, n: big, cfg: { S: 5 }, scale: 0.05 },
  { title: `${big} entries, sp 0.1, large weights`, n: big, cfg: { sp: 0.1 }, scale: 3 },
  { title: `${big} entries, threshold rule`, n: big, cfg: { threshold: 1.01 / big }, scale: 0.5 },
  { title: `${big} entries, 16 bits and the expected normalizer`, n: big, cfg: { S: 4, temperatureBits: 16, normalizer: 'expected' }, scale: 0.05 },
  {
    // the sampled positions hold the largest weights, so the sample overestimates the k-th
    // largest P': fewer than k candidates, and the selection falls back to all entries
    title: 'candidate fallback (sample points hold the top entries)', n: 16384, cfg: { sp: 0.2, alpha: 1 },
    weights: (n) => Float32Array.from({ length: n }, (_, j) => (j % 8 === 0 ? 5 + (j % 7) * 0.01 : 0.01 * ((j * 7919) % 13))),
  },
]

describe('dynamic prior sampling: WASM kernels = the oracle, bit for bit', () => {
  for (const c of cases) {
    it(c.title, () => {
      const js = run(c, reference)
      for (const e of wasms) {
        const wasm = run(c, e)
        expect(wasm.kept).toEqual(js.kept)
        expect(wasm.counts).toEqual(js.counts)
      }
      expect(js.kept.length).toBeGreaterThan(0)
    })
  }
})

describe('dynamic prior sampling: the bounds never change the masks', () => {
  // The kernels return only candidates above a bound (a sample for the first experiments, then an
  // earlier experiment's P' at rank ~k + 5 sqrt(k)); the masks must be the top k of all n entries.
  for (const normalizer of ['sampled', 'expected'] as const) {
    it(`every experiment keeps the top k of P over all entries, computed one experiment at a time from the oracle (normalizer '${normalizer}'${normalizer === 'expected' ? ': the pruned sweeps' : ''})`, () => {
      const n = 40_000
      const k = 400
      const S = 6
      const g = new Generator('bounds')
      const w = Float32Array.from({ length: n }, () => 0.1 * g.normal())
      const old = w.map((x) => x + 1e-3 * g.normal())
      const cfg: SamplingConfig = { S, k, threshold: undefined, alpha: 0.9, score: 'magnitude', temperature: 'per-entry', temperatureBits: 24, normalizer }
      // the oracle: each experiment's exps, normalisers and P' for all n entries, then a full top-k
      const keys = drawKeys(new Generator(3))
      const fa = w.map(Math.abs)
      const fb = old.map(Math.abs)
      const m1 = Math.max(0, ...fa)
      const m2 = Math.max(0, ...fb)
      const variant = { arrays: 2 as const, degree: expDegreeFor(Math.max(m1, m2)) }
      const [ea, eb, p] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
      const sums = new Float64Array(2 * Math.ceil(n / PRIOR_CHUNK))
      const expected: number[][] = []
      for (let e = 0; e < S; e++) {
        expPass(fa, fb, ea, eb, n, e * n, 1, keys, m1, m2, variant, sums)
        const [za, zb] = normalizer === 'sampled' ? [chunkTotal(sums, n, 2, 0), chunkTotal(sums, n, 2, 1)] : [expectedTotal(expectedSum(fa, n), n, n, m1), expectedTotal(expectedSum(fb, n), n, n, m2)]
        mixPass(ea, eb, n, Math.fround(0.9 / za), Math.fround(0.1 / zb), p)
        const top = new Int32Array(k)
        selectTopK(Float64Array.from(p), n, k, new Float64Array(n), top, 0)
        expected.push(Array.from(top))
      }
      for (const backend of [reference, ...wasms]) {
        const out = allocateGroupBuffers(n, cfg)
        sampleExperiments([w], [old], n, cfg, new Generator(3), allocateWork(n), out, false, backend)
        for (let e = 0; e < S; e++) expect(Array.from(out.kept.subarray(out.starts[e]!, out.starts[e + 1]!))).toEqual(expected[e])
      }
    })
  }

  it('the pruned sweep finds every candidate of exp then select, and its bounds leave exps for a small share of the entries', () => {
    const n = 40_000
    const g = new Generator('prune')
    const w = Float32Array.from({ length: n }, () => 0.05 * g.normal())
    const old = w.map((x) => x + 1e-3 * g.normal())
    const keys = drawKeys(new Generator(4))
    for (const backend of [reference, wasms[1]!]) {
      const work = allocateWork(n)
      const passes = backend.priorPasses({ w1: [w], w2: [old], n, keys, magnitude: true, bits: 24, normalizer: 'expected', work })
      passes.exp(0, 1)
      const [za, zb] = passes.expectedTotals()
      const [A, B] = [Math.fround(0.9 / za!), Math.fround(0.1 / zb!)]
      // L: about the 500th largest P' of this experiment
      const all = passes.select(A, B, 0, 0)
      passes.gather(0, all)
      const L = Array.from(work.values.subarray(0, all)).sort((a, b) => b - a)[499]!
      const c = passes.select(A, B, L, 1)
      passes.gather(1, c)
      const full = Array.from(work.candidates.subarray(0, c))
      const cp = passes.pruned(A, B, L, 0, 1, 0)
      passes.gather(0, cp)
      expect(Array.from(work.candidates.subarray(0, cp))).toEqual(full)
      expect(cp).toBeGreaterThanOrEqual(500)
      // the entries that pass the bounds on t = p f (the kernel computes exps for their vectors)
      const m1 = Math.max(0, ...w.map(Math.abs))
      const m2 = Math.max(0, ...old.map(Math.abs))
      const [ta, tb] = pruneBounds(A, B, L, m1, m2, true)
      let pass = 0
      for (let j = 0; j < n; j++) {
        const p = temperature(j, keys.k1, keys.k2)
        if (Math.fround(p * Math.abs(w[j]!)) >= ta || Math.fround(p * Math.abs(old[j]!)) >= tb) pass++
      }
      expect(pass).toBeGreaterThanOrEqual(cp)
      expect(pass).toBeLessThan(2 * cp)
    }
  })
})

describe('dynamic prior sampling: the arithmetic', () => {
  it("the 'expected' normaliser's g(f) = (exp(f) - 1) / f is within float32 rounding of the exact one, and its sum is the kernel's", () => {
    let worst = 0
    for (let i = 0; i <= 20_000; i++) {
      const f = Math.fround(-3 + (6 * i) / 20_000)
      const exact = f === 0 ? 1 : Math.expm1(f) / f
      worst = Math.max(worst, Math.abs(expectedSum(Float32Array.of(f), 1) - exact) / exact)
    }
    expect(worst).toBeLessThan(4 * 2 ** -23)
    const g = new Generator('g')
    for (const scale of [0.05, 2]) {
      const n = 4 * 3001
      const w = Float32Array.from({ length: n }, () => scale * g.normal())
      const work = allocateWork(n)
      const [ref, wasm] = [reference, wasms[1]!].map((b) => {
        const passes = b.priorPasses({ w1: [w], w2: null, n, keys: { k1: 1, k2: 2 }, magnitude: true, bits: 24, normalizer: 'expected', work })
        passes.exp(0, 1)
        return passes.expectedTotals()
      })
      expect(wasm).toEqual(ref)
    }
  })

  it('expf is within 2 float32 ulps of Math.exp on [-87, 0]', () => {
    let worst = 0
    for (let i = 0; i <= 200_000; i++) {
      const t = Math.fround(-87 * (i / 200_000) ** 2)
      const exact = Math.exp(t)
      worst = Math.max(worst, Math.abs(expf(t) - exact) / exact)
    }
    expect(worst).toBeLessThan(2 * 2 ** -23)
  })

  it('each short polynomial is within ~1 ulp of Math.exp on its [-span, 0], and is the one chosen up to its span', () => {
    for (const { degree, span } of SHORT_EXPS) {
      let worst = 0
      for (let i = 0; i <= 100_000; i++) {
        const t = Math.fround(-span * (i / 100_000))
        worst = Math.max(worst, Math.abs(expShort(t, degree) - Math.exp(t)) / Math.exp(t))
      }
      expect(worst, `degree ${degree}`).toBeLessThan(1.1 * 2 ** -23)
    }
    const degrees = [0.01, 0.074, 0.076, 0.21, 0.23, 0.33, 0.35, 5].map(expDegreeFor)
    expect(degrees).toEqual([3, 3, 4, 4, 5, 5, 0, 0])
  })

  it('temperatures are uniform on [0, 1) with 24 bits, uncorrelated across counters and keys', () => {
    const N = 1 << 18
    const bins = new Array<number>(64).fill(0)
    let mean = 0
    let lag = 0
    let cross = 0
    let prev = 0.5
    for (let c = 0; c < N; c++) {
      const p = temperature(c, 0x2545f491, 7)
      const q = temperature(c, 0x2545f493, 7) // the neighbouring key
      bins[Math.floor(p * 64)]!++
      mean += p
      lag += (p - 0.5) * (prev - 0.5)
      cross += (p - 0.5) * (q - 0.5)
      prev = p
    }
    for (let c = 0; c < 100; c++) expect(temperature(c, 3, 5) * 2 ** 24 % 1).toBe(0)
    // 16 bits: the two halves of one hash, high half for the even counter
    for (let c = 0; c < 100; c += 2) {
      const h = lowbias32((5 + 3 * (c / 2)) | 0) >>> 0
      expect([temperature(c, 3, 5, 16), temperature(c + 1, 3, 5, 16)]).toEqual([(h >>> 16) / 65536, (h & 0xffff) / 65536])
    }
    // chi-square with 63 degrees of freedom: mean 63, sd ~11.2; 120 is ~5 sd
    const chi = bins.reduce((a, b) => a + (b - N / 64) ** 2 / (N / 64), 0)
    expect(chi).toBeLessThan(120)
    expect(Math.abs(mean / N - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N))
    // correlations (times 12 = divided by the variance): sd 1/sqrt(N) ~ 0.002
    expect(Math.abs((12 * lag) / N)).toBeLessThan(0.01)
    expect(Math.abs((12 * cross) / N)).toBeLessThan(0.01)
  })

  it('selectTopKF32 (radix) keeps the same positions as selectTopK (quickselect), ties to the lower position', () => {
    const g = new Generator(11)
    for (const [n, k, levels] of [[1000, 10, 0], [1000, 500, 0], [4096, 1, 0], [5000, 123, 7], [300, 300, 3], [7, 3, 1]] as const) {
      const v = Float32Array.from({ length: n }, () => (levels ? Math.floor(g.uniform() * levels) / 8 : g.uniform() * 1e-3))
      const a = new Int32Array(k)
      const b = new Int32Array(k)
      selectTopKF32(v, n, k, a, 0, new Uint32Array(HISTOGRAM_BINS), new Int32Array(n))
      selectTopK(Float64Array.from(v), n, k, new Float64Array(n), b, 0)
      expect(Array.from(a)).toEqual(Array.from(b))
    }
    expect(() => selectTopKF32(Float32Array.of(1, -2), 2, 1, new Int32Array(1), 0, new Uint32Array(HISTOGRAM_BINS), new Int32Array(2))).toThrow(/^selectTopKF32: values must be finite and non-negative/)
  })

  it('keepTopK writes the labels of the k largest in position order, ties to the lower position', () => {
    const v = Float32Array.of(0.5, 2, 1, 2, 2, 0)
    const keys = new Int32Array(v.buffer)
    const kth = kthLargestF32Bits(keys, 6, 3, new Uint32Array(HISTOGRAM_BINS), new Int32Array(6))
    const out = new Int32Array(5).fill(-1)
    expect(keepTopK(keys, 6, kth, out, 1, Int32Array.of(10, 11, 12, 13, 14, 15))).toBe(3)
    expect(Array.from(out)).toEqual([-1, 11, 13, 14, -1])
    const two = kthLargestF32Bits(keys, 6, 2, new Uint32Array(HISTOGRAM_BINS), new Int32Array(6))
    expect(keepTopK(keys, 6, two, out, 0)).toBe(2)
    expect(Array.from(out.subarray(0, 2))).toEqual([1, 3])
  })

  it('kthLargestF32Bits: the k-th largest as bits, and how many of its ties are among the k largest', () => {
    const g = new Generator(12)
    const v = Float32Array.from({ length: 3000 }, () => Math.floor(g.uniform() * 50) * 1e-4)
    const sorted = Array.from(v).sort((a, b) => b - a)
    for (const k of [1, 7, 100, 2999, 3000]) {
      const { key, need } = kthLargestF32Bits(new Int32Array(v.buffer), 3000, k, new Uint32Array(HISTOGRAM_BINS), new Int32Array(3000))
      const x = new Float32Array(new Int32Array([key]).buffer)[0]!
      expect(x).toBe(sorted[k - 1])
      expect(need).toBe(k - sorted.filter((y) => y > x).length)
    }
    expect(() => kthLargestF32Bits(new Int32Array(2), 2, 3, new Uint32Array(HISTOGRAM_BINS), new Int32Array(2))).toThrow('kthLargestF32Bits: k must be an integer in [1, 2], got 3')
  })

  it('kthLargestF32Bits with boundRank r: a key at or below the r-th largest, with about r keys at or above it', () => {
    const g = new Generator(13)
    const n = 20000
    const v = Float32Array.from({ length: n }, () => g.uniform() ** 3 * 1e-3)
    const keys = new Int32Array(v.buffer)
    const sorted = Array.from(keys).sort((a, b) => b - a)
    for (const [k, r] of [[200, 287], [1, 50], [5000, 5400], [10, n]] as const) {
      const { key, boundKey } = kthLargestF32Bits(keys, n, k, new Uint32Array(HISTOGRAM_BINS), new Int32Array(n), 'test', r)
      expect(key).toBe(sorted[k - 1])
      expect(boundKey).toBeLessThanOrEqual(sorted[r - 1]!)
      const atOrAbove = sorted.filter((x) => x >= boundKey).length
      expect(atOrAbove).toBeGreaterThanOrEqual(r)
      // at most one more bin of the first pass's ~2^11 over the key range: far fewer than n
      expect(atOrAbove - r).toBeLessThan(n / 50)
    }
    // no bound asked for, or a rank past n: 0; all keys equal: that key
    expect(kthLargestF32Bits(keys, n, 5, new Uint32Array(HISTOGRAM_BINS), new Int32Array(n)).boundKey).toBe(0)
    expect(kthLargestF32Bits(keys, n, 5, new Uint32Array(HISTOGRAM_BINS), new Int32Array(n), 'test', n + 1).boundKey).toBe(0)
    const same = new Int32Array(new Float32Array(100).fill(0.25).buffer)
    expect(kthLargestF32Bits(same, 100, 3, new Uint32Array(HISTOGRAM_BINS), new Int32Array(100), 'test', 10)).toEqual({ key: same[0], need: 3, boundKey: same[0] })
  })

  it('rejects S * N past the 32-bit temperature counter', () => {
    const cfg: SamplingConfig = { S: 2 ** 20, k: 1, threshold: undefined, alpha: 1, score: 'magnitude', temperature: 'per-entry', temperatureBits: 24, normalizer: 'sampled' }
    const w = new Float32Array(4096)
    expect(() => sampleExperiments([w], [w], 4096, cfg, new Generator(0), allocateWork(4096), allocateGroupBuffers(4096, { ...cfg, S: 1 }), true))
      .toThrow(/S \* n = 1048576 \* 4096 reaches 2\^32/)
  })
})

describe('dynamic prior sampling: where it runs', () => {
  it('the passes are the given backend\'s priorPasses primitive (one call per evaluation); the result is the same on every backend', () => {
    const calls: string[] = []
    const spy = (b: Backend, name: string): Backend =>
      Object.assign(Object.create(b) as Backend, { priorPasses: (i: Parameters<Backend['priorPasses']>[0]) => (calls.push(name), b.priorPasses(i)) })
    const c: Case = { title: 'spy', n: 3001, cfg: { S: 2 } }
    const a = run(c, spy(reference, 'reference'))
    const b = run(c, spy(wasms[1]!, 'wasm'))
    expect(calls).toEqual(['reference', 'wasm'])
    expect(b).toEqual(a)
  })
})
