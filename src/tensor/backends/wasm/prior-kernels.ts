// The hot loops of the dynamic-prior regularizer's sampling (Algorithm 1, lines 2-5) as flat
// WebAssembly text: four entries per instruction (f32x4 / i32x4), split over threads by chunk.
//
//   priorRange              the extremes of W and W_old (for the softmax shift M)
//   priorExp1[s], priorExp2[s]  temperatures p_j, e_j = exp(p_j f_j - M) for one (or both) of
//                           f(W), f(W_old), and the softmax normalisers as per-chunk sums
//   priorSelect             P'_j = A e_j + B e'_j (Eq. 5 with A = alpha/Z, B = (1-alpha)/Z'),
//                           and the (index, P'_j) of every entry with P'_j >= L, per chunk
//   priorSelExp...          the selection of one experiment and the exps of the next, one sweep
//   priorPruned...          with a normaliser known in advance: one experiment's temperatures, and
//                           exps and P' only for the vectors that can hold a candidate
// The same computation in plain JS, instruction for instruction, is ../prior-oracle.ts (the kernels' oracle);
// the two give bit-identical results (tested), so this file can be read as its fast twin.
// NOTE on determinism: each chunk sums e in lanes j mod 4, float32 within a block of 256 entries
// and float64 over the blocks, in index order, and writes ((lane0 + lane1) + (lane2 + lane3));
// the caller adds the chunk sums in chunk order. Which thread takes which chunk changes nothing,
// so the result is the same for any thread count.
// The temperatures come from the counter-based stream of ../../counter-random.ts (Wellons'
// lowbias32 hash of the Weyl sequence k2 + c*k1): p_j depends only on (keys, counter), so four
// lanes and two threads can draw in parallel.
import type { WasmFunc } from './assembler.js'
import { LOWBIAS32 } from '../../counter-random.js'

/** Entries per chunk: the unit of the per-chunk sums and of the candidate lists (a multiple of 4). */
export const PRIOR_CHUNK = 8192

/**
 * exp(t) for t <= 0 in float32 (Cephes expf): t = k ln2 + r with |r| <= ln2/2 (ln2 split in two
 * parts so k*ln2 is exact enough), exp(r) by a degree-7 polynomial, times 2^k built in the exponent
 * bits. Relative error ~1 ulp. t is clamped at -87 so 2^k stays a normal float.
 */
export const EXPF = {
  min: -87,
  log2e: 1.4426950408889634,
  ln2hi: 0.693359375,
  ln2lo: -2.12194440e-4,
  poly: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
} as const

/**
 * Short exp polynomials: when every exponent lies in [-span, 0] (weights below `span` in
 * magnitude), exp(t) = c0 + t (c1 + t (c2 + ...)) with these float32 coefficients, a Chebyshev fit
 * of that degree on [-span, 0], at most 1.03 ulp from exp in float32 Horner (the range-reduced
 * EXPF is within ~1 ulp too). The shortest that covers an evaluation's exponents is used: degree d
 * costs 2d arithmetic instructions per 4 exps, EXPF ~26. Small weights are the common case (a
 * freshly initialised cnn2's fc1 is below 0.018 in magnitude, its conv2 below 0.06). Ordered by span.
 */
export const SHORT_EXPS = [
  { degree: 3, span: 0.075, c: [1, 0.9999957084655762, 0.49971482157707214, 0.16054369509220123] },
  { degree: 4, span: 0.22, c: [1, 0.9999982714653015, 0.49993643164634705, 0.16585053503513336, 0.037345245480537415] },
  { degree: 5, span: 0.34, c: [1.0, 0.9999998211860657, 0.49999338388442993, 0.16658304631710052, 0.0411856546998024, 0.007037799805402756] },
] as const

/** The degree of a short polynomial of SHORT_EXPS. */
export type ShortDegree = (typeof SHORT_EXPS)[number]['degree']
/** A short polynomial's degree, or 0 for the range-reduced EXPF. */
export type ExpDegree = 0 | ShortDegree

/** The coefficients c0..cd of the short polynomial of that degree. @example shortExp(3)[0] // 1 */
export function shortExp(degree: ShortDegree): readonly number[] {
  return SHORT_EXPS.find((x) => x.degree === degree)!.c
}

/** The shortest exp that is exact to ~1 ulp for every exponent in [-span, 0]. @example expDegreeFor(0.02) // 3 */
export function expDegreeFor(span: number): ExpDegree {
  return SHORT_EXPS.find((x) => span < x.span)?.degree ?? 0
}

/** Entries per block: e is summed in float32 lanes per block, the block sums in float64. */
export const PRIOR_BLOCK = 256

const lines = (xs: string[]): string => xs.join('\n')
const v = (n: string): [string, 'v128'] => [n, 'v128']
const i32 = (n: string): [string, 'i32'] => [n, 'i32']
const f32bits = new Int32Array(1)
const f32view = new Float32Array(f32bits.buffer)
// a float32 constant in all four lanes (one instruction)
const f32c = (x: number): string => {
  f32view[0] = x
  return i32c(f32bits[0]!)
}
const i32c = (x: number): string => `v128.const i32x4 ${x | 0} ${x | 0} ${x | 0} ${x | 0}`

// $h <- lowbias32($h), lane-wise
const lowbias = (h: string): string[] => {
  const xorShift = (s: number): string[] => [`local.get ${h}`, `local.get ${h}`, `i32.const ${s}`, 'i32x4.shr_u', 'v128.xor', `local.set ${h}`]
  const mul = (m: number): string[] => [`local.get ${h}`, i32c(m), 'i32x4.mul', `local.set ${h}`]
  const L = LOWBIAS32
  return [...xorShift(L.shift1), ...mul(L.mul1), ...xorShift(L.shift2), ...mul(L.mul2), ...xorShift(L.shift3)]
}

// $t <- exp($t) for $t <= 0: EXPF (uses $k, $r), or the short polynomial of that degree
const expf = (t: string, degree: ExpDegree): string[] => {
  if (degree !== 0) {
    const [top, ...lower] = [...shortExp(degree)].reverse()
    return [f32c(top!), ...lower.flatMap((c) => [`local.get ${t}`, 'f32x4.mul', f32c(c), 'f32x4.add']), `local.set ${t}`]
  }
  const [p0, ...rest] = EXPF.poly
  return [
    `local.get ${t}`, f32c(EXPF.min), 'f32x4.max', `local.tee ${t}`,
    f32c(EXPF.log2e), 'f32x4.mul', 'f32x4.nearest', 'local.set $k',
    `local.get ${t}`, 'local.get $k', f32c(EXPF.ln2hi), 'f32x4.mul', 'f32x4.sub',
    'local.get $k', f32c(EXPF.ln2lo), 'f32x4.mul', 'f32x4.sub', 'local.set $r',
    f32c(p0!),
    ...rest.flatMap((c) => ['local.get $r', 'f32x4.mul', f32c(c), 'f32x4.add']),
    // y = (q * r^2 + r) + 1
    'local.get $r', 'local.get $r', 'f32x4.mul', 'f32x4.mul', 'local.get $r', 'f32x4.add', f32c(1), 'f32x4.add',
    // * 2^k: (k + 127) << 23 as float bits
    'local.get $k', 'i32x4.trunc_sat_f32x4_s', i32c(127), 'i32x4.add', 'i32.const 23', 'i32x4.shl', 'f32x4.mul',
    `local.set ${t}`,
  ]
}

// $mask <- lanes j+l < $cend (for the last, partial vector of a chunk)
const tailMask = [
  'local.get $j', 'i32x4.splat', 'v128.const i32x4 0 1 2 3', 'i32x4.add', 'local.get $cend', 'i32x4.splat', 'i32x4.lt_s', 'local.set $mask',
]

interface Hooks {
  /** at the start and end of each chunk (cs = its first entry) */
  chunkInit: string[]
  chunkFinish: string[]
  /** at the end of each block of PRIOR_BLOCK entries */
  blockFinish: string[]
  /** the 4 entries at $j; `masked`: the last, partial vector ($mask set) */
  body: (masked: boolean) => string[]
}

// Loop over the chunks of [j0, j1) and the blocks of each chunk; in each block the full vectors,
// then the partial one (only at j1, when j1 is not a multiple of 4).
const chunked = (h: Hooks): string[] => {
  const minInto = (x: string, limit: string): string[] => [`local.get ${x}`, `local.get ${limit}`, `local.get ${x}`, `local.get ${limit}`, 'i32.lt_s', 'select', `local.set ${x}`]
  return [
    'local.get $j0', 'local.set $j',
    'block $done', 'loop $chunks',
    'local.get $j', 'local.get $j1', 'i32.ge_s', 'br_if $done',
    'local.get $j', 'local.set $cs',
    'local.get $j', `i32.const ${PRIOR_CHUNK}`, 'i32.add', 'local.set $cend', ...minInto('$cend', '$j1'),
    ...h.chunkInit,
    'block $bdone', 'loop $blocks',
    'local.get $j', 'local.get $cend', 'i32.ge_s', 'br_if $bdone',
    'local.get $j', `i32.const ${PRIOR_BLOCK}`, 'i32.add', 'local.set $bend', ...minInto('$bend', '$cend'),
    'block $vdone', 'loop $vectors',
    'local.get $j', 'i32.const 4', 'i32.add', 'local.get $bend', 'i32.gt_s', 'br_if $vdone',
    ...h.body(false),
    'local.get $j', 'i32.const 4', 'i32.add', 'local.set $j',
    'br $vectors', 'end', 'end',
    'local.get $j', 'local.get $bend', 'i32.lt_s', 'if', ...tailMask, ...h.body(true), 'end',
    ...h.blockFinish,
    'local.get $bend', 'local.set $j',
    'br $blocks', 'end', 'end',
    ...h.chunkFinish,
    'br $chunks', 'end', 'end',
  ]
}

const chunkLocals = [...['j', 'cs', 'cend', 'bend'].map(i32), v('mask')]

/** Which exp kernel: one or two softmaxes, and which exp (a short polynomial's degree, 0: EXPF). */
export interface PriorExpVariant {
  arrays: 1 | 2
  degree: ExpDegree
}

/** The export names of a variant's kernels: priorExp2d5, and priorSelExp2d5 (select, then the next exp). */
export const priorExpName = (x: PriorExpVariant): string => `priorExp${x.arrays}d${x.degree}`
export const priorSelExpName = (x: PriorExpVariant): string => `priorSelExp${x.arrays}d${x.degree}`
export const priorPrunedName = (x: PriorExpVariant): string => `priorPruned${x.arrays}d${x.degree}`

// One loop body and its per-chunk bookkeeping; a kernel is one or more parts run in one sweep.
interface Part {
  params: string[]
  locals: [string, 'i32' | 'v128'][]
  /** before the loop */
  setup: string[]
  hooks: Hooks
}

const at = (arr: string): string[] => [`local.get ${arr}`, 'local.get $j', 'i32.const 4', 'i32.mul', 'i32.add']

/**
 * The temperatures p of the 4 entries at $j: counter c = c0 + step*j, and the draws of
 * ../../counter-random.ts: with half = 0, h = lowbias32(k2 + c*k1) (the Weyl value advanced by
 * 4 k1 step per vector) and p = (h >>> 8) * 2^-24; with half = 1, h = lowbias32(k2 + (c >>> 1)*k1)
 * and p = the high or low 16 bits of h by the parity of c, times 2^-16.
 */
const TEMPERATURES = {
  params: ['c0', 'step', 'k1', 'k2', 'half'],
  locals: ['vstep', 'vstep4', 'ctr', 'cv', 'vc4', 'vk1', 'vk2', 'h', 'p'].map(v),
  setup: [
    // vstep = k1 step (0, 1, 2, 3), the Weyl value's advance per vector 4 k1 step, the counters'
    // advance 4 step, and the keys, in all lanes, once
    'local.get $k1', 'local.get $step', 'i32.mul', 'i32x4.splat', 'v128.const i32x4 0 1 2 3', 'i32x4.mul', 'local.set $vstep',
    'local.get $k1', 'local.get $step', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32x4.splat', 'local.set $vstep4',
    'local.get $step', 'i32.const 4', 'i32.mul', 'i32x4.splat', 'local.set $vc4',
    'local.get $k1', 'i32x4.splat', 'local.set $vk1', 'local.get $k2', 'i32x4.splat', 'local.set $vk2',
  ],
  // at the start of each chunk: ctr = k2 + k1*(c0 + step*cs) + k1*step*(0, 1, 2, 3)
  chunkInit: [
    'local.get $k2', 'local.get $k1', 'local.get $c0', 'local.get $step', 'local.get $cs', 'i32.mul', 'i32.add', 'i32.mul', 'i32.add',
    'i32x4.splat', 'local.get $vstep', 'i32x4.add', 'local.set $ctr',
    // cv = c0 + step*cs + step*(0, 1, 2, 3): the counters themselves (16-bit draws)
    'local.get $c0', 'local.get $step', 'local.get $cs', 'i32.mul', 'i32.add', 'i32x4.splat',
    'local.get $step', 'i32x4.splat', 'v128.const i32x4 0 1 2 3', 'i32x4.mul', 'i32x4.add', 'local.set $cv',
  ],
  /** sets $p */
  body: [
    'local.get $half', 'if',
    // 16 bits: h = lowbias32(k2 + k1 (c >>> 1)) for the counters c of the 4 entries (advanced by 4
    // step per vector); odd c take the low half of h, even c the high half
    'local.get $cv', 'i32.const 1', 'i32x4.shr_u', 'local.get $vk1', 'i32x4.mul', 'local.get $vk2', 'i32x4.add', 'local.set $h', ...lowbias('$h'),
    'local.get $h', i32c(0xffff), 'v128.and', 'local.get $h', 'i32.const 16', 'i32x4.shr_u',
    'local.get $cv', i32c(1), 'v128.and', i32c(1), 'i32x4.eq', 'v128.bitselect',
    'f32x4.convert_i32x4_s', f32c(2 ** -16), 'f32x4.mul', 'local.set $p',
    'local.get $cv', 'local.get $vc4', 'i32x4.add', 'local.set $cv',
    'else',
    // 24 bits: h = the Weyl values k2 + k1 c of the 4 entries (advanced by 4 k1 step per vector), hashed
    'local.get $ctr', 'local.tee $h', 'local.get $vstep4', 'i32x4.add', 'local.set $ctr', ...lowbias('$h'),
    'local.get $h', 'i32.const 8', 'i32x4.shr_u', 'f32x4.convert_i32x4_s', f32c(2 ** -24), 'f32x4.mul', 'local.set $p',
    'end',
  ],
}

/**
 * The exp part: the temperatures p (TEMPERATURES), the score f read from wa/wb (priorRange wrote
 * them), e = exp(p*f - m) stored at e, and per chunk q the sum of e (float32 lanes per block,
 * float64 over blocks, see PRIOR_BLOCK) at sums + 8*(arrays*q + a). ma, mb are float32 bit
 * patterns. Entries past j1 are stored as 0.
 */
function expPart(x: PriorExpVariant): Part {
  const ab = x.arrays === 2 ? ['a', 'b'] : ['a']
  const score = (w: string, f: string): string[] => [...at(w), 'v128.load', `local.set ${f}`]
  const mask = (masked: boolean): string[] => (masked ? ['local.get $t', 'local.get $mask', 'v128.and', 'local.set $t'] : [])
  // e = exp(p f - m), stored and added to the block sums
  const one = (n: string, masked: boolean): string[] => [
    ...score(`$w${n}`, '$f'), 'local.get $p', 'local.get $f', 'f32x4.mul', `local.get $vm${n}`, 'f32x4.sub', 'local.set $t',
    ...expf('$t', x.degree), ...mask(masked),
    ...at(`$e${n}`), 'local.get $t', 'v128.store',
    `local.get $s${n}`, 'local.get $t', 'f32x4.add', `local.set $s${n}`,
  ]
  const body = (masked: boolean): string[] => [...TEMPERATURES.body, ...ab.flatMap((n) => one(n, masked))]
  const zero = (r: string): string[] => [f32c(0), `local.set ${r}`]
  // lo += lanes 0,1 of the block sums as float64; hi += lanes 2,3
  const blockFinish = ab.flatMap((n) => [
    `local.get $lo${n}`, `local.get $s${n}`, 'f64x2.promote_low_f32x4', 'f64x2.add', `local.set $lo${n}`,
    `local.get $hi${n}`, `local.get $s${n}`, `local.get $s${n}`, 'i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15',
    'f64x2.promote_low_f32x4', 'f64x2.add', `local.set $hi${n}`, ...zero(`$s${n}`),
  ])
  // sums + 8*(arrays*(cs / CHUNK) + a) <- (lo0 + lo1) + (hi0 + hi1)
  const chunkFinish = ab.flatMap((n, a) => [
    'local.get $sums', 'local.get $cs', `i32.const ${PRIOR_CHUNK}`, 'i32.div_u', `i32.const ${x.arrays}`, 'i32.mul', `i32.const ${a}`, 'i32.add', 'i32.const 8', 'i32.mul', 'i32.add',
    `local.get $lo${n}`, 'f64x2.extract_lane 0', `local.get $lo${n}`, 'f64x2.extract_lane 1', 'f64.add',
    `local.get $hi${n}`, 'f64x2.extract_lane 0', `local.get $hi${n}`, 'f64x2.extract_lane 1', 'f64.add',
    'f64.add', 'f64.store',
  ])
  const splat = (param: string, local: string, op: string): string[] => [`local.get ${param}`, ...(op === 'f32x4.splat' ? ['f32.reinterpret_i32'] : []), op, `local.set ${local}`]
  return {
    params: [...ab.map((n) => `w${n}`), ...ab.map((n) => `e${n}`), 'sums', 'j0', 'j1', ...TEMPERATURES.params, ...ab.map((n) => `m${n}`)],
    locals: [...TEMPERATURES.locals, ...['t', 'k', 'r', 'f', ...ab.map((n) => `vm${n}`)].map(v), ...ab.flatMap((n) => [v(`lo${n}`), v(`hi${n}`), v(`s${n}`)])],
    setup: [
      ...TEMPERATURES.setup,
      // the shifts, in all lanes, once
      ...ab.flatMap((n) => splat(`$m${n}`, `$vm${n}`, 'f32x4.splat')),
    ],
    hooks: { chunkInit: [...TEMPERATURES.chunkInit, ...ab.flatMap((n) => [...zero(`$lo${n}`), ...zero(`$hi${n}`), ...zero(`$s${n}`)])], chunkFinish, blockFinish, body },
  }
}

/**
 * Writing candidates: the lanes of $pv (P of the 4 entries at $j) with P >= L are written in index
 * order as (j, P) to outIdx/outVal from slot cs of their chunk [cs, cs + CHUNK), and their number
 * to counts + 4*(cs / CHUNK). A, B, L arrive as float32 bit patterns, splatted into $va, $vb, $vl.
 */
const EMIT = {
  params: ['counts', 'outIdx', 'outVal'],
  locals: [i32('w'), i32('bits'), ...['va', 'vb', 'vl', 'pv'].map(v)],
  setup: (['A', 'B', 'L'] as const).flatMap((x) => [`local.get $${x}`, 'f32.reinterpret_i32', 'f32x4.splat', `local.set $v${x.toLowerCase()}`]),
  chunkInit: ['local.get $cs', 'local.set $w'],
  chunkFinish: [
    'local.get $counts', 'local.get $cs', `i32.const ${PRIOR_CHUNK}`, 'i32.div_u', 'i32.const 4', 'i32.mul', 'i32.add',
    'local.get $w', 'local.get $cs', 'i32.sub', 'i32.store',
  ],
  /** the lanes of $pv >= L (and in the tail mask), written */
  ifAbove: (masked: boolean): string[] => [
    'local.get $vl', 'f32x4.ge', ...(masked ? ['local.get $mask', 'v128.and'] : []), 'i32x4.bitmask', 'local.tee $bits',
    'if', ...[0, 1, 2, 3].flatMap(emitLane), 'end',
  ],
}

function emitLane(l: number): string[] {
  return [
    'local.get $bits', `i32.const ${1 << l}`, 'i32.and', 'if',
    'local.get $outIdx', 'local.get $w', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $j', `i32.const ${l}`, 'i32.add', 'i32.store',
    'local.get $outVal', 'local.get $w', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $pv', `f32x4.extract_lane ${l}`, 'f32.store',
    'local.get $w', 'i32.const 1', 'i32.add', 'local.set $w',
    'end',
  ]
}

/**
 * The select part: P = A*ea + B*eb (float32; with one array eb is ea and B = 0), and the entries
 * with P >= L written (EMIT).
 */
function selectPart(arrays: 1 | 2): Part {
  const eb = arrays === 2 ? '$eb' : '$ea'
  const body = (masked: boolean): string[] => [
    ...at('$ea'), 'v128.load', 'local.get $va', 'f32x4.mul', ...at(eb), 'v128.load', 'local.get $vb', 'f32x4.mul', 'f32x4.add', 'local.tee $pv',
    ...EMIT.ifAbove(masked),
  ]
  return {
    params: [...(arrays === 2 ? ['ea', 'eb'] : ['ea']), ...EMIT.params, 'j0', 'j1', 'A', 'B', 'L'],
    locals: EMIT.locals,
    setup: EMIT.setup,
    hooks: { chunkInit: EMIT.chunkInit, blockFinish: [], chunkFinish: EMIT.chunkFinish, body },
  }
}

/**
 * The pruned part, for a normaliser known before the sweep (the 'expected' one): the temperatures
 * p (TEMPERATURES) and t = p*f for the scores f in wa (and wb), and only where a lane of the vector
 * has t >= ta (or t' >= tb), which every entry with P >= L has (the caller's bound), the exps
 * e = exp(t - m), P = A*e + B*e' and the (j, P) with P >= L, emitted as in the select part. The
 * exps of a vector are those of the exp part, so P has the same bits as exp then select.
 */
function prunedPart(x: PriorExpVariant): Part {
  const two = x.arrays === 2
  // e = exp(t - m) into $t
  const exp = (u: string, m: string): string[] => [`local.get ${u}`, `local.get ${m}`, 'f32x4.sub', 'local.set $t', ...expf('$t', x.degree)]
  const body = (masked: boolean): string[] => [
    ...TEMPERATURES.body,
    ...at('$wa'), 'v128.load', 'local.get $p', 'f32x4.mul', 'local.tee $ua', 'local.get $vta', 'f32x4.ge',
    ...(two ? [...at('$wb'), 'v128.load', 'local.get $p', 'f32x4.mul', 'local.tee $ub', 'local.get $vtb', 'f32x4.ge', 'v128.or'] : []),
    ...(masked ? ['local.get $mask', 'v128.and'] : []), 'i32x4.bitmask',
    'if',
    // P = A e + B e' (with one array B = 0 and e' = e, as in the select part)
    ...exp('$ua', '$vma'), 'local.get $t', 'local.get $va', 'f32x4.mul', 'local.set $pv',
    ...(two ? exp('$ub', '$vmb') : []), 'local.get $t', 'local.get $vb', 'f32x4.mul', 'local.get $pv', 'f32x4.add', 'local.tee $pv',
    ...EMIT.ifAbove(masked),
    'end',
  ]
  const ab = two ? ['a', 'b'] : ['a']
  const splat = (name: string): string[] => [`local.get $${name}`, 'f32.reinterpret_i32', 'f32x4.splat', `local.set $v${name}`]
  return {
    params: [...ab.map((n) => `w${n}`), ...EMIT.params, 'j0', 'j1', ...TEMPERATURES.params, ...ab.map((n) => `m${n}`), 'A', 'B', 'L', ...ab.map((n) => `t${n}`)],
    locals: [...TEMPERATURES.locals, ...EMIT.locals, ...['t', 'k', 'r', 'ua', 'ub', 'vma', 'vmb', 'vta', 'vtb'].map(v)],
    setup: [...TEMPERATURES.setup, ...EMIT.setup, ...ab.flatMap((n) => [...splat(`m${n}`), ...splat(`t${n}`)])],
    hooks: { chunkInit: [...TEMPERATURES.chunkInit, ...EMIT.chunkInit], blockFinish: [], chunkFinish: EMIT.chunkFinish, body },
  }
}

// A kernel running `parts` in one sweep over [j0, j1), in order within each vector (j0 a multiple
// of PRIOR_CHUNK). Parameters are the parts' in order, each name once (see priorParams).
function kernel(name: string, parts: Part[]): WasmFunc {
  const once = <T>(xs: T[], key: (x: T) => string): T[] => xs.filter((x, i) => xs.findIndex((y) => key(y) === key(x)) === i)
  const params = once(['lane', ...parts.flatMap((p) => p.params)], (x) => x)
  PARAMS.set(name, params.slice(1))
  const all = (f: (h: Hooks) => string[]): string[] => parts.flatMap((p) => f(p.hooks))
  return {
    name,
    export: true,
    params: params.map(i32),
    locals: once([...chunkLocals, ...parts.flatMap((p) => p.locals)], ([n]) => n),
    body: lines([
      ...parts.flatMap((p) => p.setup),
      ...chunked({
        chunkInit: all((h) => h.chunkInit), blockFinish: all((h) => h.blockFinish), chunkFinish: all((h) => h.chunkFinish),
        body: (masked) => all((h) => h.body(masked)),
      }),
    ]),
  }
}

const PARAMS = new Map<string, string[]>()

/**
 * The parameter names (after `lane`) of a kernel, so callers pass arguments by name.
 * @example priorParams('priorSelect') // ['ea', 'eb', 'counts', 'outIdx', 'outVal', 'j0', 'j1', 'A', 'B', 'L']
 */
export function priorParams(name: string): string[] {
  if (PARAMS.size === 0) priorKernels()
  const p = PARAMS.get(name)
  if (!p) throw new Error(`priorParams: no kernel named ${name}`)
  return p
}

/**
 * The normaliser's expectation term g(f) = E over p ~ U(0,1) of exp(p f) = (exp(f) - 1) / f, in
 * float32: for |f| <= 1/2 its series 1 + f/2 + f^2/6 + ... to f^7 (the next term is below float32
 * rounding), else (expf(f) - 1) / f. Coefficients 1/(k+1)!, k = 0..7, as float32.
 */
export const EXPECTED_SERIES = Array.from({ length: 8 }, (_, k) => {
  let f = 1
  for (let i = 2; i <= k + 1; i++) f *= i
  return Math.fround(1 / f)
})

/**
 * priorRange(lane, wa, wb, n4, out, andMask, xorMask, expect) over n4 floats (a multiple of 4; pad with
 * zeros): out[0..1] = min(0, min wa), max(0, max wa); out[2..3] the same for wb (WASM's min/max:
 * min(0, -0) = -0; NaN would propagate, but none reaches here). In the same sweep each array is
 * replaced by its scores f = (w & andMask) ^ xorMask as bits (|w|, or -w for the literal score);
 * wb only when it is another array than wa. With expect = 1, also the sums of g(f) (EXPECTED_SERIES) over the n4
 * scores as float64 at out + 16 (wa) and out + 24 (wb): lanes 0, 1 and 2, 3 in two float64 pairs,
 * in index order, written as (l0 + l1) + (l2 + l3) (the 'expected' normaliser, times exp(-M)).
 */
function priorRangeKernel(): WasmFunc {
  const upd = (lo: string, hi: string, w: string): string[] => [
    `local.get ${w}`, 'local.get $j', 'i32.const 4', 'i32.mul', 'i32.add', 'v128.load', 'local.tee $x',
    `local.get ${lo}`, 'f32x4.min', `local.set ${lo}`, 'local.get $x', `local.get ${hi}`, 'f32x4.max', `local.set ${hi}`,
  ]
  // the scores in place of the weights, and g of them added to the float64 lanes lo, hi
  const toScore = (w: string, lo: string, hi: string): string[] => [
    'local.get $x', 'local.get $vand', 'v128.and', 'local.get $vxor', 'v128.xor', 'local.set $s',
    `local.get ${w}`, 'local.get $j', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $s', 'v128.store',
    'local.get $expect', 'if',
    // the series by Horner, highest coefficient first
    f32c(EXPECTED_SERIES[7]!), ...EXPECTED_SERIES.slice(0, 7).reverse().flatMap((c) => ['local.get $s', 'f32x4.mul', f32c(c), 'f32x4.add']), 'local.set $g',
    // (expf(f) - 1) / f where |f| > 1/2 (only vectors that have such a lane pay for it)
    'local.get $s', 'f32x4.abs', f32c(0.5), 'f32x4.gt', 'i32x4.bitmask', 'if',
    'local.get $s', 'local.set $t', ...expf('$t', 0), 'local.get $t', f32c(1), 'f32x4.sub', 'local.get $s', 'f32x4.div', 'local.set $t',
    'local.get $g', 'local.get $t', 'local.get $s', 'f32x4.abs', f32c(0.5), 'f32x4.le', 'v128.bitselect', 'local.set $g',
    'end',
    `local.get ${lo}`, 'local.get $g', 'f64x2.promote_low_f32x4', 'f64x2.add', `local.set ${lo}`,
    `local.get ${hi}`, 'local.get $g', 'local.get $g', 'i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15',
    'f64x2.promote_low_f32x4', 'f64x2.add', `local.set ${hi}`,
    'end',
  ]
  // lanes reduced as op(op(l0, l1), op(l2, l3))
  const reduce = (r: string, op: string, at: number): string[] => [
    'local.get $out', `local.get ${r}`, 'f32x4.extract_lane 0', `local.get ${r}`, 'f32x4.extract_lane 1', op,
    `local.get ${r}`, 'f32x4.extract_lane 2', `local.get ${r}`, 'f32x4.extract_lane 3', op, op, `f32.store offset=${4 * at}`,
  ]
  const total = (lo: string, hi: string, offset: number): string[] => [
    'local.get $out', `local.get ${lo}`, 'f64x2.extract_lane 0', `local.get ${lo}`, 'f64x2.extract_lane 1', 'f64.add',
    `local.get ${hi}`, 'f64x2.extract_lane 0', `local.get ${hi}`, 'f64x2.extract_lane 1', 'f64.add', 'f64.add', `f64.store offset=${offset}`,
  ]
  return {
    name: 'priorRange',
    export: true,
    params: ['lane', 'wa', 'wb', 'n4', 'out', 'andMask', 'xorMask', 'expect'].map(i32),
    locals: [i32('j'), ...['la', 'ha', 'lb', 'hb', 'x', 'vand', 'vxor', 's', 'g', 't', 'k', 'r', 'gla', 'gha', 'glb', 'ghb'].map(v)],
    body: lines([
      ...['$la', '$ha', '$lb', '$hb'].flatMap((r) => [f32c(0), `local.set ${r}`]),
      'local.get $andMask', 'i32x4.splat', 'local.set $vand', 'local.get $xorMask', 'i32x4.splat', 'local.set $vxor',
      'block $done', 'loop $next',
      'local.get $j', 'local.get $n4', 'i32.ge_s', 'br_if $done',
      ...upd('$la', '$ha', '$wa'), ...toScore('$wa', '$gla', '$gha'),
      ...upd('$lb', '$hb', '$wb'), 'local.get $wb', 'local.get $wa', 'i32.ne', 'if', ...toScore('$wb', '$glb', '$ghb'), 'end',
      'local.get $j', 'i32.const 4', 'i32.add', 'local.set $j',
      'br $next', 'end', 'end',
      ...reduce('$la', 'f32.min', 0), ...reduce('$ha', 'f32.max', 1), ...reduce('$lb', 'f32.min', 2), ...reduce('$hb', 'f32.max', 3),
      ...total('$gla', '$gha', 16), ...total('$glb', '$ghb', 24),
    ]),
  }
}

const EXP_VARIANTS: PriorExpVariant[] = ([0, ...SHORT_EXPS.map((x) => x.degree)] as ExpDegree[]).flatMap((degree) => [{ arrays: 1, degree }, { arrays: 2, degree }])

/**
 * The regularizer's kernels, assembled into the engine's module next to GEMM and conv: per exp
 * variant priorExp (one experiment's exps) and priorSelExp (experiment s's selection, then
 * experiment s+1's exps into the same arrays, in one sweep: each vector is read before it is
 * overwritten), plus priorSelect (two arrays) and priorRange.
 */
export function priorKernels(): WasmFunc[] {
  return [
    ...EXP_VARIANTS.map((x) => kernel(priorExpName(x), [expPart(x)])),
    ...EXP_VARIANTS.map((x) => kernel(priorSelExpName(x), [selectPart(x.arrays), expPart(x)])),
    ...EXP_VARIANTS.map((x) => kernel(priorPrunedName(x), [prunedPart(x)])),
    kernel('priorSelect', [selectPart(2)]),
    priorRangeKernel(),
  ]
}

/** Names of the exported kernels (for the thread pool's export table). */
export const PRIOR_EXPORTS = [...EXP_VARIANTS.flatMap((x) => [priorExpName(x), priorSelExpName(x), priorPrunedName(x)]), 'priorSelect', 'priorRange']
