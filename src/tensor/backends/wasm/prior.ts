// The dynamic prior's sampling passes (Backend.priorPasses, see ../prior-passes.ts) as the SIMD
// kernels of ./prior-kernels.ts, split over the engine's threads by chunk. W and W_old are copied
// into scratch memory once per evaluation (the kernels replace them by their scores); every
// experiment then sweeps that memory only. The results are the bits of the oracle
// (../prior-oracle.ts) for any thread count.
import type { WasmEngine } from './engine.js'
import type { Task } from './threads.js'
import { PRIOR_CHUNK, priorExpName, priorParams, priorPrunedName, priorSelExpName } from './prior-kernels.js'
import { float32Bits } from '../prior-oracle.js'
import { LITERAL, MAGNITUDE, chunksOf, concat, plan, round4, expectedTotal, pruneBounds, samplePrime, totals, type PriorPasses, type PriorPassesInput, type Range } from '../prior-passes.js'

/** The passes as SIMD kernels on the engine's threads (see PriorPasses). */
export function wasmPriorPasses(e: WasmEngine, { w1, w2, n, keys, magnitude, bits, normalizer, work }: PriorPassesInput): PriorPasses {
  const two = w2 !== null
  const n4 = round4(n)
  const chunks = chunksOf(n)
  const arrays = two ? 2 : 1
  // W, W_old, e1, e2, chunk sums (float64), range (4 floats, then 2 float64 sums), then per slot: candidate indices, values and counts per chunk
  const [f1, f2, e1, e2, sp, rp, ...slots] = e.reserve([n4, two ? n4 : 0, n4, two ? n4 : 0, 2 * arrays * chunks, 8, n4, n4, chunks, n4, n4, chunks]) as number[]
  const slot = (q: number): { outIdx: number; outVal: number; counts: number } => ({ outIdx: slots[3 * q]!, outVal: slots[3 * q + 1]!, counts: slots[3 * q + 2]! })
  // reserve() is the only call that can grow the memory: these views stay valid for the evaluation
  const view = e.f32
  const i32 = new Int32Array(view.buffer)
  concat(w1, view.subarray(f1! / 4, f1! / 4 + n4), n)
  if (w2) concat(w2, view.subarray(f2! / 4, f2! / 4 + n4), n)
  const { and, xor } = magnitude ? MAGNITUDE : LITERAL
  // the extremes of W and W_old, and their scores in place of them
  e.run([{ fn: 'priorRange', args: [f1!, two ? f2! : f1!, n4, rp!, and, xor, normalizer === 'expected' ? 1 : 0] }])
  const { m1, m2, variant } = plan(Array.from(view.subarray(rp! / 4, rp! / 4 + 4)) as Range, two, magnitude)
  // the sums of g(f) for the 'expected' normaliser, written by priorRange after the extremes
  const gSums = new Float64Array(view.buffer, rp! + 16, 2).slice()
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
    k1: keys.k1, k2: keys.k2, half: bits === 16 ? 1 : 0, ma: bitsOf(m1), mb: bitsOf(m2),
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
  const passes: PriorPasses = {
    exp(c0, step) {
      run(priorExpName(variant), { c0, step })
    },
    totals: () => totals(new Float64Array(view.buffer, sp!, arrays * chunks), n, arrays),
    select(A, B, L, q, meanwhile) {
      run('priorSelect', { ...coefficients(A, B, L), ...slot(q) }, meanwhile)
      return candidateCount(q)
    },
    pruned(A, B, L, c0, step, q, meanwhile) {
      const [ta, tb] = pruneBounds(A, B, L, m1, m2, two)
      run(priorPrunedName(variant), { ...coefficients(A, B, L), ...slot(q), c0, step, ta: bitsOf(ta), tb: bitsOf(two ? tb : Infinity) }, meanwhile)
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
    expectedTotals: () => {
      if (normalizer !== 'expected') throw new Error("priorPasses: expectedTotals() needs normalizer 'expected' in the input")
      const a = expectedTotal(gSums[0]!, n4, n, m1)
      return two ? [a, expectedTotal(gSums[1]!, n4, n, m2)] : [a]
    },
  }
  const candidateCount = (q: number): number => {
    const at = slot(q).counts / 4
    let c = 0
    for (let i = 0; i < chunks; i++) c += i32[at + i]!
    return c
  }
  return passes
}
