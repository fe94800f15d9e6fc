// The S sampling experiments of one evaluation (Algorithm 1, lines 2-5), on raw arrays:
//   p ~ U(0,1) per entry (or one p_s per experiment)
//   P'_j = alpha * softmax_j(p ⊙ f(W)) + (1 - alpha) * softmax_j(p ⊙ f(W_old))     (Eq. 4, 5)
//   I_s = the k entries with the largest P' (or [P' > T]);  c_j = sum_s I_sj
// W may be several tensors (scope 'model'): the segments are one vector, one distribution.
//
// How it is made fast (one evaluation on cnn2's 421k weights at S = 10 is 8.4 million exps):
// - the temperatures are a counter-based hash of (two keys drawn from the seeded Generator per
//   group and evaluation, s*n + j), so they can be drawn four lanes and two threads at a time;
// - scores, exps and P' are float32 (what a PyTorch softmax computes); the normalisers Z are
//   float64 sums in a fixed order;
// - softmax is shifted by M = max(0, max_j f_j) instead of each experiment's maximum: p < 1, so
//   p f_j <= M, exp never overflows, and one pass computes exps and Z together. (Scores more than 87
//   below M are clamped to exp(-87) ~ 1.6e-38; that needs weights above 87 in magnitude.)
// - with the WASM backend the two passes run as SIMD kernels on all threads
//   (../tensor/backends/wasm/prior-kernels.ts), and pass 2 returns only the candidates P' >= L
//   (L: see lowerBound below); a radix selection (./selection.ts) finds the k largest among them,
//   on the calling thread while the workers already sweep for the next experiment. With the
//   reference backend ./prior-math.ts computes the same bits in plain JS.
// - the counts are tallied from the kept lists only (never a pass over all n entries), and the
//   penalty reads only the kept entries (dynamic-prior-penalty.ts).
// Where alpha is 0 or 1, or W_old is W (first call), only one softmax is computed.
import type { FloatArray } from '../tensor/backends/backend.js'
import { PRIOR_CHUNK, expDegreeFor, priorExpName, priorParams, priorSelExpName, type PriorExpVariant } from '../tensor/backends/wasm/prior-kernels.js'
import type { WasmEngine } from '../tensor/backends/wasm/engine.js'
import { getBackend } from '../tensor/backends/registry.js'
import { WasmBackend } from '../tensor/backends/wasm/wasm-backend.js'
import type { Task } from '../tensor/backends/wasm/threads.js'
import type { Generator } from '../tensor/generator.js'
import { chunkTotal, expPass, float32Bits, floatBelow, floatOfBits, mixPass, type SamplingKeys } from './prior-math.js'
import { HISTOGRAM_BINS, keepTopK, kthLargestF32Bits, selectAbove } from './selection.js'

const fr = Math.fround
const SAMPLE = 2048

/** Working memory of the sampling, shared by all groups (sized for the largest one). */
export interface WorkBuffers {
  /** the chunk sums of pass 1 */
  sums: Float64Array
  /** candidate values P' (or, without WASM, all of them) and their indices */
  values: Float32Array
  /** the bits of `values` (the same memory) */
  keys: Int32Array
  candidates: Int32Array
  /** the sample of P' (float32) and the radix selection's copy of it */
  sample: Float32Array
  sampleScratch: Int32Array
  /** the radix selection's histogram and working keys */
  histogram: Uint32Array
  radix: Int32Array
  /** without WASM only (allocated on first use): the scores f(W), f(W_old) and their exps */
  fa: Float32Array
  fb: Float32Array
  ea: Float32Array
  eb: Float32Array
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

export interface SamplingConfig {
  S: number
  /** entries kept per experiment (top-k rule), or undefined with a threshold */
  k: number | undefined
  threshold: number | undefined
  alpha: number
  score: 'magnitude' | 'literal'
  temperature: 'per-entry' | 'per-experiment'
}

const round4 = (n: number): number => Math.ceil(n / 4) * 4
const chunksOf = (n: number): number => Math.ceil(n / PRIOR_CHUNK)

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

let own: WasmBackend | null = null

/**
 * Where the sampling runs: the wasm backend's engine when it is active; with the reference
 * backend null, i.e. the plain-JS definition (like every reference kernel); with any other
 * backend (GPU.js) an engine of its own, made on first use (the result is the same bits either way).
 * @example samplingEngine()?.threads
 */
export function samplingEngine(): WasmEngine | null {
  const b = getBackend()
  if (b instanceof WasmBackend) return b.wasmEngine
  if (b.name === 'reference') return null
  own ??= new WasmBackend() // (its thread count: PRIORGRAD_THREADS, else all cores)
  return own.wasmEngine
}

/** Two 32-bit keys from the seeded generator: all the randomness of one group's evaluation. */
export function drawKeys(gen: Generator): SamplingKeys {
  return { k1: Math.floor(gen.uniform() * 2 ** 32) | 1, k2: Math.floor(gen.uniform() * 2 ** 32) | 0 }
}

// The score f(w) = |w| (magnitude) or -w (literal), as float32 bit masks: f = (w & and) ^ xor
const MAGNITUDE = { and: 0x7fffffff, xor: 0 }
const LITERAL = { and: -1, xor: 1 << 31 }

// The extremes of one evaluation: lo/hi of W (a) and W_old (b), each with 0 included, in float32,
// as the priorRange kernel writes them.
type Range = [loA: number, hiA: number, loB: number, hiB: number]

// From the extremes: the softmax shifts M = max(0, max_j f_j) (so p f_j - M <= 0 for p in [0, 1)),
// and the shortest exp that covers every exponent p f - M (a short polynomial for small weights).
function plan(r: Range, two: boolean, magnitude: boolean): { m1: number; m2: number; variant: PriorExpVariant } {
  const shift = (lo: number, hi: number): { m: number; span: number } => {
    const m = (magnitude ? Math.max(hi, -lo) : -lo) + 0 // + 0 turns -0 into 0
    return { m, span: magnitude ? m : hi - lo }
  }
  const a = shift(r[0], r[1])
  const b = two ? shift(r[2], r[3]) : { m: 0, span: 0 }
  return { m1: a.m, m2: b.m, variant: { arrays: two ? 2 : 1, degree: expDegreeFor(Math.max(a.span, b.span)) } }
}

// the segments of W one after another into dst (float32), then zeros up to a multiple of 4
function concat(src: FloatArray[], dst: Float32Array, n: number): void {
  let off = 0
  for (const w of src) {
    dst.set(w, off)
    off += w.length
  }
  dst.fill(0, n, round4(n))
}

/**
 * Pass 1 (exps and chunk sums) and pass 2 (P' and the entries above a bound) of one experiment.
 * Pass 2 writes its candidates to one of two slots, so that the selection among one experiment's
 * candidates (`meanwhile`) runs while the workers sweep for the next.
 */
interface Passes {
  /** exps of the experiment with counter base c0 */
  exp(c0: number, step: number): void
  /** the normalisers Z (one or two) of the last exps */
  totals(): number[]
  /** the candidates P' >= L (float32 bound) with P' = A e1 + B e2, into `slot`; returns their number */
  select(A: number, B: number, L: number, slot: number, meanwhile?: () => void): number
  /** select, then the exps of the experiment with counter base c0 (one sweep with WASM) */
  selectThenExp(A: number, B: number, L: number, c0: number, step: number, slot: number, meanwhile?: () => void): number
  /** the c candidates of `slot` into work.values / work.candidates, in index order */
  gather(slot: number, c: number): void
  /** P' of the entries 0, stride, 2 stride, ... into out (float32), for the sample */
  sample(A: number, B: number, out: Float32Array, stride: number): void
}

/**
 * Run the S experiments on W (`cur`, one array per segment, n entries in all) and W_old (`old`,
 * same lengths), filling `out.kept`, `out.starts` and the counts (`out.entries`, `out.counts`). Returns true when `out.kept`
 * was regrown (threshold rule only). `oldIsCur` says W_old holds the same values as W (first call).
 * With an engine the passes run as WASM kernels; the result is the same bits either way.
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
  engine: WasmEngine | null = null,
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
  const passes = engine ? wasmPasses(engine, work, n, w1, two ? old : null, keys, magnitude) : jsPasses(work, n, w1, two ? old : null, keys, magnitude)
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
  for (let s = 0; s < cfg.S; s++) {
    const z = passes.totals()
    const [A, B] = two ? [fr(alpha / z[0]!), fr((1 - alpha) / z[1]!)] : [fr(1 / z[0]!), 0]
    let L = -Infinity
    if (k === undefined) L = floatBelow(cfg.threshold!)
    else if (narrow) L = previous ? boundFrom(previous, A, B) : lowerBound(passes, n, k, A, B, work)
    // the candidates of experiment s and the exps of experiment s + 1, while the caller
    // finishes experiment s - 1
    const slot = s & 1
    const next = s + 1 < cfg.S ? base(s + 1) : null
    let c = next === null ? passes.select(A, B, L, slot, pending) : passes.selectThenExp(A, B, L, next, step, slot, pending)
    if (k !== undefined && c < k) {
      // the bound overestimated the k-th largest (rare): redo experiment s with every entry
      passes.exp(base(s), step)
      c = passes.select(A, B, -Infinity, slot)
      if (next !== null) passes.exp(next, step)
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

function lowerBound(passes: Passes, n: number, k: number, A: number, B: number, work: WorkBuffers): number {
  const { sample } = work
  passes.sample(A, B, sample, Math.floor(n / SAMPLE))
  const r = (k * SAMPLE) / n
  const rank = Math.min(SAMPLE, Math.ceil(r + 3 * Math.sqrt(r) + 8))
  // P' >= 0 (A, B, e >= 0): its float32 bits sort like the values
  const { key } = kthLargestF32Bits(new Int32Array(sample.buffer, 0, SAMPLE), SAMPLE, rank, work.histogram, work.sampleScratch)
  return floatOfBits(key)
}

function jsPasses(work: WorkBuffers, n: number, w1: FloatArray[], w2: FloatArray[] | null, keys: SamplingKeys, magnitude: boolean): Passes {
  if (work.ea.length < round4(n)) {
    for (const k of ['fa', 'fb', 'ea', 'eb'] as const) work[k] = new Float32Array(round4(n))
  }
  const { fa, fb, ea, eb, values, candidates, sums } = work
  const { and, xor } = magnitude ? MAGNITUDE : LITERAL
  // W (and W_old) as float32, their extremes, then the scores f in place
  const r: Range = [0, 0, 0, 0]
  const load = (w: FloatArray[], f: Float32Array, at: number): void => {
    concat(w, f, n)
    for (let j = 0; j < n; j++) {
      r[at] = Math.min(r[at]!, f[j]!)
      r[at + 1] = Math.max(r[at + 1]!, f[j]!)
    }
    const bits = new Int32Array(f.buffer, f.byteOffset, n)
    for (let j = 0; j < n; j++) bits[j] = (bits[j]! & and) ^ xor
  }
  load(w1, fa, 0)
  if (w2) load(w2, fb, 2)
  const { m1, m2, variant } = plan(r, w2 !== null, magnitude)
  const e2 = w2 ? eb : ea
  return {
    exp(c0, step) {
      expPass(fa, w2 ? fb : null, ea, w2 ? eb : null, n, c0, step, keys, m1, m2, variant, sums)
    },
    totals: () => totals(sums, n, variant.arrays),
    selectThenExp(A, B, L, c0, step, slot, meanwhile) {
      const c = this.select(A, B, L, slot, meanwhile)
      this.exp(c0, step)
      return c
    },
    // (one slot: work.values itself; `meanwhile` has read the previous candidates before they are overwritten)
    select(A, B, L, _slot, meanwhile) {
      meanwhile?.()
      mixPass(ea, e2, n, A, B, values)
      let c = 0
      for (let j = 0; j < n; j++) {
        if (values[j]! >= L) {
          values[c] = values[j]!
          candidates[c++] = j
        }
      }
      return c
    },
    gather() {},
    sample: (A, B, out, stride) => samplePrime(ea, 0, e2, 0, A, B, out, stride),
  }
}

function wasmPasses(e: WasmEngine, work: WorkBuffers, n: number, w1: FloatArray[], w2: FloatArray[] | null, keys: SamplingKeys, magnitude: boolean): Passes {
  const two = w2 !== null
  const n4 = round4(n)
  const chunks = chunksOf(n)
  const arrays = two ? 2 : 1
  // W, W_old, e1, e2, chunk sums (float64), range, then per slot: candidate indices, values and counts per chunk
  const [f1, f2, e1, e2, sp, rp, ...slots] = e.reserve([n4, two ? n4 : 0, n4, two ? n4 : 0, 2 * arrays * chunks, 4, n4, n4, chunks, n4, n4, chunks]) as number[]
  const slot = (q: number): { outIdx: number; outVal: number; counts: number } => ({ outIdx: slots[3 * q]!, outVal: slots[3 * q + 1]!, counts: slots[3 * q + 2]! })
  // reserve() is the only call that can grow the memory: these views stay valid for the evaluation
  const view = e.f32
  const i32 = new Int32Array(view.buffer)
  concat(w1, view.subarray(f1! / 4, f1! / 4 + n4), n)
  if (w2) concat(w2, view.subarray(f2! / 4, f2! / 4 + n4), n)
  const { and, xor } = magnitude ? MAGNITUDE : LITERAL
  // the extremes of W and W_old, and their scores in place of them
  e.run([{ fn: 'priorRange', args: [f1!, two ? f2! : f1!, n4, rp!, and, xor] }])
  const { m1, m2, variant } = plan(Array.from(view.subarray(rp! / 4, rp! / 4 + 4)) as Range, two, magnitude)
  const bitsOf = float32Bits
  // whole chunks per task: ~8 per thread when the work pays for a fork/join (small tasks, so the
  // caller's selection work in `meanwhile` does not leave it with the last long task)
  const parallel = e.threads > 1 && n >= 1 << 14 ? Math.min(chunks, 8 * e.threads) : 1
  const perTask = Math.ceil(chunks / parallel) * PRIOR_CHUNK
  const tasks = (fn: string, args: (j0: number, j1: number) => number[]): Task[] => {
    const ts: Task[] = []
    for (let j0 = 0; j0 < n; j0 += perTask) ts.push({ fn, args: args(j0, Math.min(n, j0 + perTask)) })
    return ts
  }
  // the kernels' arguments by parameter name (prior-kernels.ts)
  const fixed: Record<string, number> = {
    wa: f1!, wb: f2!, ea: e1!, eb: two ? e2! : e1!, sums: sp!,
    k1: keys.k1, k2: keys.k2, ma: bitsOf(m1), mb: bitsOf(m2),
  }
  const run = (fn: string, vars: Record<string, number>, meanwhile?: () => void): void => {
    const names = priorParams(fn)
    const value = (p: string): number => {
      const x = vars[p] ?? fixed[p]
      if (x === undefined) throw new Error(`sampleExperiments: no value for parameter ${p} of kernel ${fn}`)
      return x
    }
    e.run(tasks(fn, (j0, j1) => names.map((p) => (p === 'j0' ? j0 : p === 'j1' ? j1 : value(p)))), meanwhile)
  }
  const coefficients = (A: number, B: number, L: number): Record<string, number> => ({ A: bitsOf(A), B: bitsOf(B), L: bitsOf(L) })
  const eb2 = fixed['eb']!
  const passes: Passes = {
    exp(c0, step) {
      run(priorExpName(variant), { c0, step })
    },
    totals: () => totals(new Float64Array(view.buffer, sp!, arrays * chunks), n, arrays),
    select(A, B, L, q, meanwhile) {
      run('priorSelect', { ...coefficients(A, B, L), ...slot(q) }, meanwhile)
      return candidateCount(q)
    },
    selectThenExp(A, B, L, c0, step, q, meanwhile) {
      run(priorSelExpName(variant), { ...coefficients(A, B, L), ...slot(q), c0, step }, meanwhile)
      return candidateCount(q)
    },
    // the candidates of each chunk, one after another (index order), into work.values / candidates
    gather(q) {
      const { outIdx, outVal, counts } = slot(q)
      const idx = i32.subarray(outIdx / 4, outIdx / 4 + n)
      const val = i32.subarray(outVal / 4, outVal / 4 + n)
      const { candidates, keys } = work
      let c = 0
      for (let i = 0; i < chunks; i++) {
        for (let from = i * PRIOR_CHUNK, j = from, end = from + i32[counts / 4 + i]!; j < end; j++) {
          candidates[c] = idx[j]!
          keys[c++] = val[j]!
        }
      }
    },
    sample: (A, B, out, stride) => samplePrime(view, e1! / 4, view, eb2 / 4, A, B, out, stride),
  }
  const candidateCount = (q: number): number => {
    const at = slot(q).counts / 4
    let c = 0
    for (let i = 0; i < chunks; i++) c += i32[at + i]!
    return c
  }
  return passes
}

// out[i] = P' of entry i*stride (the float32 store rounds the sum: fround(fround(A e) + fround(B e')))
function samplePrime(ea: Float32Array, a0: number, eb: Float32Array, b0: number, A: number, B: number, out: Float32Array, stride: number): void {
  for (let i = 0; i < out.length; i++) out[i] = fr(A * ea[a0 + i * stride]!) + fr(B * eb[b0 + i * stride]!)
}

// Z = the chunk sums of each array added in chunk order
const totals = (sums: Float64Array, n: number, arrays: number): number[] =>
  arrays === 2 ? [chunkTotal(sums, n, 2, 0), chunkTotal(sums, n, 2, 1)] : [chunkTotal(sums, n, 1, 0)]
