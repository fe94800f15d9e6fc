// The S sampling experiments of one evaluation (Algorithm 1, lines 2-5), the fast path:
//   p ~ U(0,1) per entry (or one p_s per experiment)
//   P'_j = alpha * softmax_j(p ⊙ f(W)) + (1 - alpha) * softmax_j(p ⊙ f(W_old))     (Eq. 4, 5)
//   I_s = the k entries with the largest P' (or [P' > T]);  c_j = sum_s I_sj
// W may be several tensors (scope 'model'): the segments are one vector, one distribution.
// The readable definition is ./dynamic-prior-reference.ts; the tests hold this file to it.
//
// How it is made fast (one evaluation on cnn2's 421k weights at S = 10 is 8.4 million exps):
// - the temperatures are a counter-based hash of (two keys drawn from the seeded Generator per
//   group and evaluation, s*n + j) (../tensor/counter-random.ts), so they can be drawn four lanes
//   and two threads at a time;
// - scores, exps and P' are float32 (what a PyTorch softmax computes); the normalisers Z are
//   float64 sums in a fixed order;
// - softmax is shifted by M = max(0, max_j f_j) instead of each experiment's maximum: p < 1, so
//   p f_j <= M, exp never overflows, and one pass computes exps and Z together. (Scores more than 87
//   below M are clamped to exp(-87) ~ 1.6e-38; that needs weights above 87 in magnitude.)
// - the sweeps over all n entries are the backend's business (Backend.priorPasses: SIMD kernels
//   on all threads with WASM, the kernels' oracle in JS with the reference backend, the same bits);
//   the sweep that computes P' returns only the candidates P' >= L (L: see lowerBound below), and a
//   radix selection (./selection.ts) finds the k largest among them, on the calling thread while
//   the backend already sweeps for the next experiment;
// - with the 'expected' normalizer, A and B are known before an experiment's sweep, so after the
//   first experiment the sweep computes exps and P' only for the vectors that can hold an entry
//   above the bound (Backend.priorPasses' pruned; the same candidates, a fraction of the exps);
// - the counts are tallied from the kept lists only (never a pass over all n entries), and the
//   penalty reads only the kept entries (dynamic-prior-penalty.ts).
// Where alpha is 0 or 1, or W_old is W (first call), only one softmax is computed.
import type { Backend, FloatArray } from '../tensor/backends/backend.js'
import { chunksOf, type PassBuffers, type PriorPasses } from '../tensor/backends/prior-passes.js'
import { getBackend } from '../tensor/backends/registry.js'
import { floatBelow, floatOfBits } from '../tensor/backends/prior-oracle.js'
import { drawKeys, type TemperatureBits } from '../tensor/counter-random.js'
import type { Generator } from '../tensor/generator.js'
import { HISTOGRAM_BINS, keepTopK, kthLargestF32Bits, selectAbove } from './selection.js'

const fr = Math.fround
const SAMPLE = 2048

/** Working memory of the sampling, shared by all groups (sized for the largest one): the passes' arrays and the selection's. */
export interface WorkBuffers extends PassBuffers {
  /** the sample of P' (float32) and the radix selection's copy of it */
  sample: Float32Array
  sampleScratch: Int32Array
  /** the radix selection's histogram and working keys */
  histogram: Uint32Array
  radix: Int32Array
}

/** What one group keeps from its last evaluation; `kept` holds experiment s at [starts[s], starts[s+1]). */
export interface GroupBuffers {
  kept: Int32Array
  starts: Int32Array
  /** the entries kept by some experiment, increasing, at [0, distinct), and their c_j */
  entries: Int32Array
  counts: Float64Array
  distinct: number
  /** max_j c_j */
  maxCount: number
  /** the tally per entry and one bit per entry, both all zero between evaluations */
  tally: Uint8Array | Uint16Array | Uint32Array
  marks: Uint32Array
}

/** One group's reading of the options, as the fast path and the reference take it (k from sp, or a threshold). */
export interface SamplingConfig {
  S: number
  /** entries kept per experiment (top-k rule), or undefined with a threshold */
  k: number | undefined
  threshold: number | undefined
  alpha: number
  score: 'magnitude' | 'literal'
  temperature: 'per-entry' | 'per-experiment'
  /** random bits per temperature (counter-random.ts) */
  temperatureBits: TemperatureBits
  /** Z from this experiment's temperatures ('sampled') or its expectation over p ~ U(0,1) ('expected') */
  normalizer: 'sampled' | 'expected'
}

/** Working memory for groups of up to n entries (the JS-only arrays ea, eb stay empty until used). */
export function allocateWork(n: number): WorkBuffers {
  const none = new Float32Array(0)
  const values = new Float32Array(n)
  return {
    sums: new Float64Array(2 * chunksOf(n)), values, keys: new Int32Array(values.buffer), candidates: new Int32Array(n),
    sample: new Float32Array(SAMPLE), sampleScratch: new Int32Array(SAMPLE), histogram: new Uint32Array(HISTOGRAM_BINS), radix: new Int32Array(n),
    fa: none, fb: none, ea: none, eb: none,
  }
}

/** The per-group memory of a group of n entries. */
export function allocateGroupBuffers(n: number, cfg: SamplingConfig): GroupBuffers {
  const keptCapacity = cfg.k !== undefined ? cfg.S * cfg.k : Math.max(16, cfg.S * Math.ceil(0.01 * n))
  const distinct = Math.min(n, keptCapacity)
  // c_j <= S: the narrowest tally keeps the random increments in cache (1 byte per entry at S < 256)
  const tally = cfg.S < 2 ** 8 ? new Uint8Array(n) : cfg.S < 2 ** 16 ? new Uint16Array(n) : new Uint32Array(n)
  return {
    kept: new Int32Array(keptCapacity), starts: new Int32Array(cfg.S + 1),
    entries: new Int32Array(distinct), counts: new Float64Array(distinct), distinct: 0, maxCount: 0,
    tally, marks: new Uint32Array(Math.ceil(n / 32)),
  }
}

/**
 * Run the S experiments on W (`cur`, one array per segment, n entries in all) and W_old (`old`,
 * same lengths), filling `out.kept`, `out.starts` and the counts (`out.entries`, `out.counts`). Returns true when `out.kept`
 * was regrown (threshold rule only). `oldIsCur` says W_old holds the same values as W (first call).
 * The passes run on `backend` (by default the current one); the result is the same bits on every backend.
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
  backend: Backend = getBackend(),
): boolean {
  if (cfg.S * n >= 2 ** 32) {
    throw new Error(`DynamicPriorRegularizer: S * n = ${cfg.S} * ${n} reaches 2^32, past the range of the temperature counter; use fewer experiments or scope 'per-tensor'`)
  }
  const { alpha } = cfg
  const needA = alpha > 0 || oldIsCur
  const needB = alpha < 1 && !oldIsCur
  const magnitude = cfg.score === 'magnitude'
  const two = needA && needB
  // the first array is W unless only W_old is used (alpha = 0)
  const w1 = needA ? cur : old
  const keys = drawKeys(gen)
  const passes: PriorPasses = backend.priorPasses({ w1, w2: two ? old : null, n, keys, magnitude, bits: cfg.temperatureBits, normalizer: cfg.normalizer, work })
  const { starts } = out
  let grown = false
  starts[0] = 0
  out.maxCount = 0
  const k = cfg.k
  const narrow = k !== undefined && n >= 4 * SAMPLE && k <= n / 4
  // the bound for the next experiments: P' at rank ~k + 5 sqrt(k) of a finished one, and its A, B
  let previous: { value: number; A: number; B: number } | null = null
  const boundRank = narrow ? Math.ceil(k + 5 * Math.sqrt(k) + 16) : 0
  // the exact selection among experiment s's c candidates (in `slot`), its kept list and tally
  const finish = (s: number, c: number, slot: number, A: number, B: number): void => {
    passes.gather(slot, c)
    const from = starts[s]!
    let kept: number
    if (k !== undefined) {
      const kth = kthLargestF32Bits(work.keys, c, k, work.histogram, work.radix, 'sampleExperiments', boundRank)
      kept = keepTopK(work.keys, c, kth, out.kept, from, work.candidates)
      if (boundRank > 0 && boundRank <= c) previous = { value: floatOfBits(kth.boundKey), A, B }
    } else {
      const r = selectAbove(work.values, c, cfg.threshold!, out.kept, from)
      if (r.out !== out.kept) grown = true
      out.kept = r.out
      kept = r.count
      // the selection wrote positions in the candidate list: map them to entries
      const idx = out.kept
      for (let q = from; q < from + kept; q++) idx[q] = work.candidates[idx[q]!]!
    }
    starts[s + 1] = from + kept
    tally(out, from, from + kept)
  }
  const step = cfg.temperature === 'per-entry' ? 1 : 0
  const base = (s: number): number => (s * n) | 0
  let pending: (() => void) | undefined
  passes.exp(base(0), step)
  // 'expected': Z and Z' once per evaluation, the same for every experiment; then, once an
  // experiment has given a bound, the later ones need exps only where a candidate can be (pruned)
  const expected = cfg.normalizer === 'expected' ? passes.expectedTotals() : null
  const pruning = expected !== null && narrow
  for (let s = 0; s < cfg.S; s++) {
    const z = expected ?? passes.totals()
    const [A, B] = two ? [fr(alpha / z[0]!), fr((1 - alpha) / z[1]!)] : [fr(1 / z[0]!), 0]
    const slot = s & 1
    const next = s + 1 < cfg.S ? base(s + 1) : null
    let c: number
    if (pruning && s > 0) {
      if (!previous && pending) {
        // finish experiment s - 1 now: its k-th largest gives the bound
        pending()
        pending = undefined
      }
      const L = previous ? boundFrom(previous, A, B) : -Infinity
      c = passes.pruned(A, B, L, base(s), step, slot, pending)
      if (c < k!) {
        passes.exp(base(s), step)
        c = passes.select(A, B, -Infinity, slot)
      }
    } else {
      let L = -Infinity
      if (k === undefined) L = floatBelow(cfg.threshold!)
      else if (narrow) L = previous ? boundFrom(previous, A, B) : lowerBound(passes, n, k, A, B, work)
      // the candidates of experiment s and the exps of experiment s + 1, while the caller
      // finishes experiment s - 1 (pruned experiments need no exps in advance)
      const fused = next !== null && !pruning
      c = fused ? passes.selectThenExp(A, B, L, next, step, slot, pending) : passes.select(A, B, L, slot, pending)
      if (k !== undefined && c < k) {
        // the bound overestimated the k-th largest (rare): redo experiment s with every entry
        passes.exp(base(s), step)
        c = passes.select(A, B, -Infinity, slot)
        if (fused) passes.exp(next, step)
      }
    }
    const cs = c
    pending = () => finish(s, cs, slot, A, B)
  }
  pending!()
  count(out)
  return grown
}

// c_j += 1 for the entries kept[from..to), marking each entry's first count
function tally(out: GroupBuffers, from: number, to: number): void {
  const { kept, tally, marks } = out
  let max = out.maxCount
  for (let q = from; q < to; q++) {
    const j = kept[q]!
    const c = ++tally[j]!
    if (c === 1) marks[j >>> 5]! |= 1 << (j & 31)
    if (c > max) max = c
  }
  out.maxCount = max
}

// The (entry, c_j) pairs of the tallied entries in increasing order. Touches only the kept
// entries, a narrow tally and one bit per entry (read 32 entries a word), never all n counts:
// the tally and the bits are cleared where they were set.
function count(out: GroupBuffers): void {
  const { tally, marks } = out
  const total = out.starts[out.starts.length - 1]!
  const size = Math.min(total, tally.length)
  if (out.entries.length < size) {
    out.entries = new Int32Array(size)
    out.counts = new Float64Array(size)
  }
  const { entries, counts } = out
  let d = 0
  for (let w = 0; w < marks.length; w++) {
    let m = marks[w]!
    if (m === 0) continue
    marks[w] = 0
    while (m !== 0) {
      const low = m & -m
      const j = w * 32 + 31 - Math.clz32(low)
      entries[d] = j
      counts[d++] = tally[j]!
      tally[j] = 0
      m ^= low
    }
  }
  out.distinct = d
}

// Bounds L for the candidates of the k largest (every entry with P' >= L). Whenever at least k
// entries pass, the k largest are among them (the k-th largest is >= L), so the bound only
// decides how much work the exact selection does, never its result; when fewer pass (rare), the
// caller takes all entries.
// The first experiments take the value of rank ~(expected rank of the k-th largest + 3 standard
// deviations + 8) in an evenly spaced sample (~2k candidates at sp = 0.01). Later ones reuse a
// finished experiment's P' at rank k + 5 sqrt(k) + 16 (the experiments are independent draws of
// the same distribution, so its rank in another experiment varies by ~sqrt(k)), rescaled by the
// change of A and B: ~k + 5 sqrt(k) candidates. (That rank is found once, as a fraction of the
// k-th largest; later experiments apply the fraction to their own k-th largest.)
function boundFrom(prev: { value: number; A: number; B: number }, A: number, B: number): number {
  return prev.value * Math.min(A / prev.A, prev.B > 0 ? B / prev.B : Infinity)
}

function lowerBound(passes: PriorPasses, n: number, k: number, A: number, B: number, work: WorkBuffers): number {
  const { sample } = work
  passes.sample(A, B, sample, Math.floor(n / SAMPLE))
  const r = (k * SAMPLE) / n
  const rank = Math.min(SAMPLE, Math.ceil(r + 3 * Math.sqrt(r) + 8))
  // P' >= 0 (A, B, e >= 0): its float32 bits sort like the values
  const { key } = kthLargestF32Bits(new Int32Array(sample.buffer, 0, SAMPLE), SAMPLE, rank, work.histogram, work.sampleScratch)
  return floatOfBits(key)
}

