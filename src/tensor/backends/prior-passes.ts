// The dynamic prior's sampling sweeps as a backend primitive (Backend.priorPasses): for one
// evaluation of one group, the passes over all n entries that an experiment of Algorithm 1
// (lines 4-5) needs, so that src/regularizers/dynamic-prior-sampling.ts can run the S experiments
// (bounds, exact top-k, counts) without knowing where the passes run:
//   exp(c0, step)   temperatures p_j and e_j = exp(p_j f_j - M) for f(W) (and f(W_old)), with the
//                   softmax normalisers Z = sum_j e_j (Eq. 4)
//   select(A, B, L) P'_j = A e_j + B e'_j (Eq. 5, A = alpha/Z, B = (1-alpha)/Z') and the entries
//                   with P'_j >= L
// This file holds the interface, the helpers every implementation shares, and the reference
// backend's implementation, which runs the kernels' oracle (./prior-oracle.ts): the same bits as
// the WebAssembly kernels (./wasm/prior.ts), so training gives the same bits on every backend.
import type { FloatArray } from './backend.js'
import type { SamplingKeys, TemperatureBits } from '../counter-random.js'
import { chunkTotal, expPass, expectedSum, floatBelow, mixPass, prunedPass } from './prior-oracle.js'
import { PRIOR_CHUNK, expDegreeFor, type PriorExpVariant } from './wasm/prior-kernels.js'

const fr = Math.fround

/** The arrays the passes write, owned by the caller and shared by all groups (see allocateWork). */
export interface PassBuffers {
  /** the chunk sums of pass 1 */
  sums: Float64Array
  /** candidate values P' (or, in the reference passes, all of them) and their indices */
  values: Float32Array
  /** the bits of `values` (the same memory) */
  keys: Int32Array
  candidates: Int32Array
  /** reference passes only (allocated on first use): the scores f(W), f(W_old) and their exps */
  fa: Float32Array
  fb: Float32Array
  ea: Float32Array
  eb: Float32Array
}

/** One evaluation of one group: W (w1, the segments of n entries in all), W_old (w2, or null for one softmax), the stream. */
export interface PriorPassesInput {
  w1: FloatArray[]
  w2: FloatArray[] | null
  n: number
  keys: SamplingKeys
  /** f(w) = |w| (true) or -w (the literal score) */
  magnitude: boolean
  /** the temperatures' random bits */
  bits: TemperatureBits
  /** 'expected': expectedTotals() will be asked for (the sweeps then also sum g(f)) */
  normalizer: 'sampled' | 'expected'
  work: PassBuffers
}

/**
 * The passes of one evaluation. select writes its candidates to one of two slots, so that the
 * selection among one experiment's candidates (`meanwhile`) can run while the backend sweeps for
 * the next.
 */
export interface PriorPasses {
  /** exps of the experiment with counter base c0 */
  exp(c0: number, step: number): void
  /** the normalisers Z (one or two) of the last exps */
  totals(): number[]
  /** the candidates P' >= L (float32 bound) with P' = A e1 + B e2, into `slot`; returns their number */
  select(A: number, B: number, L: number, slot: number, meanwhile?: () => void): number
  /**
   * With a normaliser known in advance ('expected': A, B fixed before the sweep), the candidates
   * P' >= L of the experiment with counter base c0, into `slot`, computing exps only where
   * pruneBounds says a candidate can be; returns their number. Same candidates as exp then select.
   */
  pruned(A: number, B: number, L: number, c0: number, step: number, slot: number, meanwhile?: () => void): number
  /** select, then the exps of the experiment with counter base c0 (one sweep where the backend can) */
  selectThenExp(A: number, B: number, L: number, c0: number, step: number, slot: number, meanwhile?: () => void): number
  /** the c candidates of `slot` into work.values / work.candidates, in index order */
  gather(slot: number, c: number): void
  /** P' of the entries 0, stride, 2 stride, ... into out (float32), for a sample of the distribution */
  sample(A: number, B: number, out: Float32Array, stride: number): void
  /**
   * The normalisers' expectations over p ~ U(0,1) (normalizer 'expected' in the input), computed
   * once per evaluation: E[Z] = sum_j E[exp(p f_j - M)] with the shift M of totals().
   */
  expectedTotals(): number[]
}

/** n rounded up to a multiple of 4 (whole SIMD vectors), and the number of chunks of n entries. */
export const round4 = (n: number): number => Math.ceil(n / 4) * 4
export const chunksOf = (n: number): number => Math.ceil(n / PRIOR_CHUNK)

/** The score f(w) = |w| (magnitude) or -w (literal), as float32 bit masks: f = (w & and) ^ xor. */
export const MAGNITUDE = { and: 0x7fffffff, xor: 0 }
export const LITERAL = { and: -1, xor: 1 << 31 }

/** The extremes of one evaluation: lo/hi of W (a) and W_old (b), each with 0 included, in float32, as the priorRange kernel writes them. */
export type Range = [loA: number, hiA: number, loB: number, hiB: number]

/**
 * From the extremes: the softmax shifts M = max(0, max_j f_j) (so p f_j - M <= 0 for p in [0, 1)),
 * and the shortest exp that covers every exponent p f - M (a short polynomial for small weights).
 */
export function plan(r: Range, two: boolean, magnitude: boolean): { m1: number; m2: number; variant: PriorExpVariant } {
  const shift = (lo: number, hi: number): { m: number; span: number } => {
    const m = (magnitude ? Math.max(hi, -lo) : -lo) + 0 // + 0 turns -0 into 0
    return { m, span: magnitude ? m : hi - lo }
  }
  const a = shift(r[0], r[1])
  const b = two ? shift(r[2], r[3]) : { m: 0, span: 0 }
  return { m1: a.m, m2: b.m, variant: { arrays: two ? 2 : 1, degree: expDegreeFor(Math.max(a.span, b.span)) } }
}

/** The segments of W one after another into dst (float32), then zeros up to a multiple of 4. */
export function concat(src: FloatArray[], dst: Float32Array, n: number): void {
  let off = 0
  for (const w of src) {
    dst.set(w, off)
    off += w.length
  }
  dst.fill(0, n, round4(n))
}

/** The reference backend's passes: the kernels' oracle in plain JS (the same bits as the kernels). */
export function referencePriorPasses({ w1, w2, n, keys, magnitude, bits, normalizer, work }: PriorPassesInput): PriorPasses {
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
    const raw = new Int32Array(f.buffer, f.byteOffset, n)
    for (let j = 0; j < n; j++) raw[j] = (raw[j]! & and) ^ xor
  }
  load(w1, fa, 0)
  if (w2) load(w2, fb, 2)
  const { m1, m2, variant } = plan(r, w2 !== null, magnitude)
  const e2 = w2 ? eb : ea
  return {
    exp(c0, step) {
      expPass(fa, w2 ? fb : null, ea, w2 ? eb : null, n, c0, step, keys, m1, m2, variant, sums, bits)
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
    pruned(A, B, L, c0, step, _slot, meanwhile) {
      meanwhile?.()
      const [ta, tb] = pruneBounds(A, B, L, m1, m2, w2 !== null)
      return prunedPass(fa, w2 ? fb : null, n, c0, step, keys, m1, m2, variant, A, B, L, ta, tb, values, candidates, bits)
    },
    gather() {},
    sample: (A, B, out, stride) => samplePrime(ea, 0, e2, 0, A, B, out, stride),
    expectedTotals: () => {
      if (normalizer !== 'expected') throw new Error("priorPasses: expectedTotals() needs normalizer 'expected' in the input")
      const n4 = round4(n)
      const a = expectedTotal(expectedSum(fa, n4), n4, n, m1)
      return w2 ? [a, expectedTotal(expectedSum(fb, n4), n4, n, m2)] : [a]
    },
  }
}

/** out[i] = P' of entry i*stride (the float32 store rounds the sum: fround(fround(A e) + fround(B e'))) */
export function samplePrime(ea: Float32Array, a0: number, eb: Float32Array, b0: number, A: number, B: number, out: Float32Array, stride: number): void {
  for (let i = 0; i < out.length; i++) out[i] = fr(A * ea[a0 + i * stride]!) + fr(B * eb[b0 + i * stride]!)
}

/** Z = the chunk sums of each array added in chunk order */
export const totals = (sums: Float64Array, n: number, arrays: number): number[] =>
  arrays === 2 ? [chunkTotal(sums, n, 2, 0), chunkTotal(sums, n, 2, 1)] : [chunkTotal(sums, n, 1, 0)]

/**
 * The 'expected' normaliser E over p ~ U(0,1) of sum_j exp(p f_j - m) = exp(-m) sum_j g(f_j),
 * g(f) = (exp(f) - 1) / f, from `sum`, the sum of g over the n4 scores of which n are real and
 * the rest zero padding (g(0) = 1 each; expectedSum, or the kernel priorRange).
 * @example expectedTotal(expectedSum(f, 8), 8, 5, m)
 */
export function expectedTotal(sum: number, n4: number, n: number, m: number): number {
  return Math.exp(-m) * (sum - (n4 - n))
}

/**
 * Bounds (ta, tb) on t = fround(p f) and t' such that every entry with P' = A exp(t - m1) +
 * B exp(t' - m2) >= L has t >= ta or t' >= tb: with u = max(t, t'), P' <= exp(u) (A exp(-m1) +
 * B exp(-m2)), so P' >= L needs u >= ln(L / (A exp(-m1) + B exp(-m2))) (B = 0 with one array).
 * Both bounds are that value, lowered by a margin far above the float32 rounding of t, exp and
 * P' (~1e-6), so the pruning never drops a candidate.
 * @example pruneBounds(0.9 / z1, 0.1 / z2, L, m1, m2, true)
 */
export function pruneBounds(A: number, B: number, L: number, m1: number, m2: number, two: boolean): [number, number] {
  if (!(L > 0)) return [-Infinity, -Infinity]
  const t = Math.log(L) - Math.log(A * Math.exp(-m1) + (two ? B * Math.exp(-m2) : 0))
  const bound = floatBelow(t - 1e-4 - 1e-6 * Math.abs(t))
  return [bound, two ? bound : Infinity]
}
