// The SGEMM kernels as flat WebAssembly text, assembled by ./assembler.ts.
//
// C[m,n] (+)= A[m,k] B[k,n] in the Goto/BLIS structure:
//   gemm:   for each NC-wide column block, each KC-deep slice:  pack B (kc x nc) into NR-wide panels
//             for each MC-tall row block:                      pack A (mc x kc) into MR-tall panels
//               macro: every (MR x NR) tile of the block -> micro
//   micro:  MR x NR accumulators held in v128 locals (registers); per k step it loads NR/4 vectors
//           of B, splats MR scalars of A and does MR*NR/4 f32x4 mul+add pairs.
// A and B are read through byte strides (rowStride, colStride), so op(A)/op(B) transposes are
// only a change of strides in the packing. C lives in WASM memory padded to multiples of MR rows
// and NR columns, so the micro-kernel never needs an edge case; the caller copies out the valid part.
// NOTE: each C entry sums its k products in the same fixed order (KC slices in order, k ascending
// inside a slice) whatever the thread split, so results are bit-identical run to run.
import { assemble, type WasmFunc } from './assembler.js'
import { adamKernel } from './adam-kernels.js'
import { convKernels } from './conv-kernels.js'
import { elementwiseKernels } from './elementwise-kernels.js'
import { poolKernels } from './pool-kernels.js'
import { sumKernels } from './sum-kernels.js'
import { priorKernels } from './prior-kernels.js'

/** Register tile and cache-block sizes (measurements in the header of ./wasm-backend.ts). */
export interface GemmTiling {
  /** rows of the register tile */
  mr: number
  /** f32x4 vectors per tile row: NR = 4 * nv columns */
  nv: number
  /** block sizes: A block mc x kc stays in L2, B panel kc x NR in L1, B block kc x nc in L3 */
  mc: number
  kc: number
  nc: number
  /** k-loop unroll factor of the micro-kernel */
  ku: number
}

export const DEFAULT_TILING: GemmTiling = { mr: 4, nv: 2, mc: 128, kc: 320, nc: 4096, ku: 1 }

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
// dst = the f32 lanes `lanes` (0-3 from a, 4-7 from b) of a and b, as an i8x16.shuffle
const shuffle = (a: string, b: string, lanes: number[], dst: string): string[] =>
  [`local.get ${a}`, `local.get ${b}`, `i8x16.shuffle ${lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(' ')}`, `local.set ${dst}`]
const lines = (xs: string[]): string => xs.join('\n')

/** micro(ap, bp, c, kc, ldc, acc): one MR x NR tile; ldc in bytes; acc != 0 adds to C. */
function microKernel(t: GemmTiling): WasmFunc {
  const { mr, nv } = t
  const acc = (r: number, v: number): string => `$c${r}_${v}`
  const rowPtr = (r: number): string[] =>
    r === 0 ? ['local.get $c'] : ['local.get $c', 'local.get $ldc', `i32.const ${r}`, 'i32.mul', 'i32.add']
  const load = range(mr).flatMap((r) => [...rowPtr(r), 'local.set $q',
    ...range(nv).flatMap((v) => ['local.get $q', `v128.load offset=${16 * v}`, `local.set ${acc(r, v)}`])])
  const zero = range(mr).flatMap((r) => range(nv).flatMap((v) => ['f32.const 0', 'f32x4.splat', `local.set ${acc(r, v)}`]))
  // one k step at unrolled position u (pointer offsets instead of increments)
  const stepAt = (u: number): string[] => [
    ...range(nv).flatMap((v) => ['local.get $bp', `v128.load offset=${16 * (nv * u + v)}`, `local.set $b${v}`]),
    ...range(mr).flatMap((r) => [
      'local.get $ap', `v128.load32_splat offset=${4 * (mr * u + r)}`, 'local.set $a',
      ...range(nv).flatMap((v) => [`local.get ${acc(r, v)}`, 'local.get $a', `local.get $b${v}`, 'f32x4.mul', 'f32x4.add', `local.set ${acc(r, v)}`]),
    ]),
  ]
  const advance = (u: number): string[] => [
    'local.get $ap', `i32.const ${4 * mr * u}`, 'i32.add', 'local.set $ap',
    'local.get $bp', `i32.const ${16 * nv * u}`, 'i32.add', 'local.set $bp',
  ]
  const ku = t.ku
  const loops = [
    // kc / ku unrolled iterations, then kc % ku single steps
    'local.get $kc', `i32.const ${ku}`, 'i32.div_u', 'local.tee $n', 'if',
    'loop $k', ...range(ku).flatMap(stepAt), ...advance(ku),
    'local.get $n', 'i32.const 1', 'i32.sub', 'local.tee $n', 'br_if $k', 'end', 'end',
    ...(ku > 1 ? [
      'local.get $kc', `i32.const ${ku}`, 'i32.rem_u', 'local.tee $n', 'if',
      'loop $rest', ...stepAt(0), ...advance(1),
      'local.get $n', 'i32.const 1', 'i32.sub', 'local.tee $n', 'br_if $rest', 'end', 'end',
    ] : []),
  ]
  const store = range(mr).flatMap((r) => [...rowPtr(r), 'local.set $q',
    ...range(nv).flatMap((v) => ['local.get $q', `local.get ${acc(r, v)}`, `v128.store offset=${16 * v}`])])
  return {
    name: 'micro',
    params: [['ap', 'i32'], ['bp', 'i32'], ['c', 'i32'], ['kc', 'i32'], ['ldc', 'i32'], ['acc', 'i32']],
    locals: [['q', 'i32'], ['n', 'i32'], ['a', 'v128'], ...range(nv).map((v): [string, 'v128'] => [`b${v}`, 'v128']),
      ...range(mr).flatMap((r) => range(nv).map((v): [string, 'v128'] => [acc(r, v).slice(1), 'v128']))],
    body: lines([
      'local.get $acc', 'if', ...load, 'else', ...zero, 'end',
      ...loops,
      ...store,
    ]),
  }
}

/**
 * pack(src, laneStride, kStride, lanes, kc, dst) copies a lanes x kc block (element (l, p) at
 * src + l*laneStride + p*kStride) into panels of `width` lanes: dst[panel][p][lane], zero-filled
 * past `lanes`. Used for A (lanes = rows, width MR) and B (lanes = columns, width NR).
 */
function packKernel(name: string, width: number): WasmFunc {
  const full = range(width).flatMap((l) => [
    'local.get $dst', 'local.get $q', 'f32.load', `f32.store offset=${4 * l}`,
    ...(l < width - 1 ? ['local.get $q', 'local.get $laneStride', 'i32.add', 'local.set $q'] : []),
  ])
  // contiguous lanes (laneStride == 4): whole vectors; only when width is a multiple of 4
  const vectors = width % 4 === 0
    ? range(width / 4).flatMap((v) => ['local.get $dst', 'local.get $s', `v128.load offset=${16 * v}`, `v128.store offset=${16 * v}`])
    : ['local.get $s', 'local.set $q', ...full]
  // contiguous k (kStride == 4, e.g. a row-major A or a transposed B): 4 lanes x 4 k steps at a
  // time as four vector loads and a 4x4 transpose in registers, instead of 16 scalar copies
  const transposed = width % 4 === 0 ? [
    'local.get $kStride', 'i32.const 4', 'i32.eq', 'if',
    'block $tdone', 'loop $tloop',
    'local.get $p', 'i32.const 4', 'i32.lt_s', 'br_if $tdone',
    ...range(width / 4).flatMap((gi) => [
      'local.get $s', `i32.const ${4 * gi}`, 'local.get $laneStride', 'i32.mul', 'i32.add', 'local.set $q',
      ...range(4).flatMap((i) => [
        ...(i > 0 ? ['local.get $q', 'local.get $laneStride', 'i32.add', 'local.set $q'] : []),
        'local.get $q', 'v128.load', `local.set $r${i}`,
      ]),
      // t0 = (r0[0] r1[0] r0[1] r1[1]), t1 = (r0[2] r1[2] r0[3] r1[3]), t2/t3 likewise from r2, r3
      ...shuffle('$r0', '$r1', [0, 4, 1, 5], '$t0'), ...shuffle('$r0', '$r1', [2, 6, 3, 7], '$t1'),
      ...shuffle('$r2', '$r3', [0, 4, 1, 5], '$t2'), ...shuffle('$r2', '$r3', [2, 6, 3, 7], '$t3'),
      // k step j of lanes 4gi..4gi+3 = (r0[j] r1[j] r2[j] r3[j])
      ...shuffle('$t0', '$t2', [0, 1, 4, 5], '$r0'), ...shuffle('$t0', '$t2', [2, 3, 6, 7], '$r1'),
      ...shuffle('$t1', '$t3', [0, 1, 4, 5], '$r2'), ...shuffle('$t1', '$t3', [2, 3, 6, 7], '$r3'),
      ...range(4).flatMap((j) => ['local.get $dst', `local.get $r${j}`, `v128.store offset=${4 * width * j + 16 * gi}`]),
    ]),
    'local.get $dst', `i32.const ${16 * width}`, 'i32.add', 'local.set $dst',
    'local.get $s', 'i32.const 16', 'i32.add', 'local.set $s',
    'local.get $p', 'i32.const 4', 'i32.sub', 'local.set $p',
    'br $tloop', 'end', 'end',
    'end',
  ] : []
  const advance = [
    'local.get $dst', `i32.const ${4 * width}`, 'i32.add', 'local.set $dst',
    'local.get $s', 'local.get $kStride', 'i32.add', 'local.set $s',
    'local.get $p', 'i32.const 1', 'i32.sub', 'local.tee $p',
  ]
  return {
    name,
    params: [['src', 'i32'], ['laneStride', 'i32'], ['kStride', 'i32'], ['lanes', 'i32'], ['kc', 'i32'], ['dst', 'i32']],
    locals: [['p', 'i32'], ['s', 'i32'], ['q', 'i32'], ['l', 'i32'], ['t', 'i32'],
      ...['r0', 'r1', 'r2', 'r3', 't0', 't1', 't2', 't3'].map((v): [string, 'v128'] => [v, 'v128'])],
    body: lines([
      'block $done', 'loop $panel',
      'local.get $lanes', 'i32.const 0', 'i32.le_s', 'br_if $done',
      'local.get $src', 'local.set $s', 'local.get $kc', 'local.set $p',
      'local.get $lanes', `i32.const ${width}`, 'i32.ge_s',
      'if',
      'local.get $laneStride', 'i32.const 4', 'i32.eq',
      'if',
      'loop $vec', ...vectors, ...advance, 'br_if $vec', 'end',
      'else',
      ...transposed,
      'local.get $p', 'if',
      'loop $full', 'local.get $s', 'local.set $q', ...full, ...advance, 'br_if $full', 'end',
      'end',
      'end',
      'else', // the last, partial panel: lane by lane, zeros past the edge
      'loop $part', 'local.get $s', 'local.set $q', 'i32.const 0', 'local.set $l',
      'loop $lane',
      'local.get $dst', 'local.get $l', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $t',
      'local.get $l', 'local.get $lanes', 'i32.lt_s',
      'if', 'local.get $t', 'local.get $q', 'f32.load', 'f32.store', 'else', 'local.get $t', 'f32.const 0', 'f32.store', 'end',
      'local.get $q', 'local.get $laneStride', 'i32.add', 'local.set $q',
      'local.get $l', 'i32.const 1', 'i32.add', 'local.tee $l', `i32.const ${width}`, 'i32.lt_s', 'br_if $lane',
      'end',
      ...advance, 'br_if $part', 'end',
      'end',
      'local.get $src', 'local.get $laneStride', `i32.const ${width}`, 'i32.mul', 'i32.add', 'local.set $src',
      'local.get $lanes', `i32.const ${width}`, 'i32.sub', 'local.set $lanes',
      'br $panel', 'end', 'end',
    ]),
  }
}

/** macro(pa, pb, c, mc, nc, kc, ldc, acc): all MR x NR tiles of one packed block pair. */
function macroKernel(t: GemmTiling): WasmFunc {
  const nr = 4 * t.nv
  return {
    name: 'macro',
    params: [['pa', 'i32'], ['pb', 'i32'], ['c', 'i32'], ['mc', 'i32'], ['nc', 'i32'], ['kc', 'i32'], ['ldc', 'i32'], ['acc', 'i32']],
    locals: [['i', 'i32'], ['ap', 'i32'], ['cc', 'i32']],
    body: lines([
      'loop $cols',
      'local.get $pa', 'local.set $ap', 'local.get $c', 'local.set $cc', 'local.get $mc', 'local.set $i',
      'loop $rows',
      'local.get $ap', 'local.get $pb', 'local.get $cc', 'local.get $kc', 'local.get $ldc', 'local.get $acc', 'call $micro',
      'local.get $ap', 'local.get $kc', `i32.const ${4 * t.mr}`, 'i32.mul', 'i32.add', 'local.set $ap',
      'local.get $cc', 'local.get $ldc', `i32.const ${t.mr}`, 'i32.mul', 'i32.add', 'local.set $cc',
      'local.get $i', `i32.const ${t.mr}`, 'i32.sub', 'local.tee $i', 'i32.const 0', 'i32.gt_s', 'br_if $rows',
      'end',
      'local.get $pb', 'local.get $kc', `i32.const ${4 * nr}`, 'i32.mul', 'i32.add', 'local.set $pb',
      'local.get $c', `i32.const ${4 * nr}`, 'i32.add', 'local.set $c',
      'local.get $nc', `i32.const ${nr}`, 'i32.sub', 'local.tee $nc', 'i32.const 0', 'i32.gt_s', 'br_if $cols',
      'end',
    ]),
  }
}

// x = min(limit, total - start)
const minRest = (dst: string, total: string, start: string, limit: string): string[] => [
  `local.get ${total}`, `local.get ${start}`, 'i32.sub', 'local.set $tmp',
  `local.get ${limit}`, 'local.get $tmp', `local.get ${limit}`, 'local.get $tmp', 'i32.lt_s', 'select', `local.set ${dst}`,
]
const addScaled = (base: string, idx: string, stride: string): string[] =>
  [`local.get ${base}`, `local.get ${idx}`, `local.get ${stride}`, 'i32.mul', 'i32.add']

/**
 * gemm(lane, batch, sa, sb, sc, a, ars, acs, b, brs, bcs, c, ldc, m, n, k, mb, kb, nb, acc0): for
 * each of `batch` products (pointers advance by sa, sb, sc bytes) C = A B (C += A B if acc0 != 0)
 * with A(i,p) at a + i*ars + p*acs, B(p,j) at b + p*brs + j*bcs, C(i,j) at c + i*ldc + 4j.
 * mb/kb/nb are the block sizes (at most MC/KC/NC; the caller evens them out, see blockSizes).
 * `lane` (the executing thread) selects its packing buffers at lane * packBytes(t).
 */
function gemmDriver(t: GemmTiling): WasmFunc {
  const i32 = (n: string): [string, 'i32'] => [n, 'i32']
  return {
    name: 'gemm',
    export: true,
    params: ['lane', 'batch', 'sa', 'sb', 'sc', 'a', 'ars', 'acs', 'b', 'brs', 'bcs', 'c', 'ldc', 'm', 'n', 'k', 'mb', 'kb', 'nb', 'acc0'].map(i32),
    locals: ['pa', 'pb', 'jc', 'ncur', 'pc', 'kcur', 'ic', 'mcur', 'tmp'].map(i32),
    body: lines([
      'local.get $lane', `i32.const ${packBytes(t)}`, 'i32.mul', 'local.tee $pa', `i32.const ${4 * t.mc * t.kc}`, 'i32.add', 'local.set $pb',
      'loop $batch',
      'i32.const 0', 'local.set $jc',
      'loop $jloop', ...minRest('$ncur', '$n', '$jc', '$nb'),
      'i32.const 0', 'local.set $pc',
      'loop $ploop', ...minRest('$kcur', '$k', '$pc', '$kb'),
      ...addScaled('$b', '$pc', '$brs'), 'local.get $jc', 'local.get $bcs', 'i32.mul', 'i32.add',
      'local.get $bcs', 'local.get $brs', 'local.get $ncur', 'local.get $kcur', 'local.get $pb', 'call $packB',
      'i32.const 0', 'local.set $ic',
      'loop $iloop', ...minRest('$mcur', '$m', '$ic', '$mb'),
      ...addScaled('$a', '$ic', '$ars'), 'local.get $pc', 'local.get $acs', 'i32.mul', 'i32.add',
      'local.get $ars', 'local.get $acs', 'local.get $mcur', 'local.get $kcur', 'local.get $pa', 'call $packA',
      'local.get $pa', 'local.get $pb',
      ...addScaled('$c', '$ic', '$ldc'), 'local.get $jc', 'i32.const 4', 'i32.mul', 'i32.add',
      'local.get $mcur', 'local.get $ncur', 'local.get $kcur', 'local.get $ldc', 'local.get $pc', 'local.get $acc0', 'i32.or', 'call $macro',
      'local.get $ic', 'local.get $mb', 'i32.add', 'local.tee $ic', 'local.get $m', 'i32.lt_s', 'br_if $iloop', 'end',
      'local.get $pc', 'local.get $kb', 'i32.add', 'local.tee $pc', 'local.get $k', 'i32.lt_s', 'br_if $ploop', 'end',
      'local.get $jc', 'local.get $nb', 'i32.add', 'local.tee $jc', 'local.get $n', 'i32.lt_s', 'br_if $jloop', 'end',
      'local.get $a', 'local.get $sa', 'i32.add', 'local.set $a',
      'local.get $b', 'local.get $sb', 'i32.add', 'local.set $b',
      'local.get $c', 'local.get $sc', 'i32.add', 'local.set $c',
      'local.get $batch', 'i32.const 1', 'i32.sub', 'local.tee $batch', 'br_if $batch', 'end',
    ]),
  }
}

/** Bytes of one thread's packing buffers: an A block (MC x KC) and a B block (KC x NC). */
export function packBytes(t: GemmTiling): number {
  return 4 * (t.mc * t.kc + t.kc * t.nc)
}

/**
 * Even block sizes: k = 288 runs as one 288-deep slice rather than 256 + 32 (a short slice pays
 * the full C load/store per tile for little work); mb stays a multiple of MR and nb of NR.
 */
export function blockSizes(t: GemmTiling, m: number, k: number, n: number): { mb: number; kb: number; nb: number } {
  const even = (len: number, max: number, unit: number): number => {
    const blocks = Math.max(1, Math.ceil(len / max))
    return Math.min(max, Math.ceil(Math.ceil(len / blocks) / unit) * unit)
  }
  return { mb: even(m, t.mc, t.mr), kb: even(k, t.kc, 1), nb: even(n, t.nc, 4 * t.nv) }
}

/** The assembled module: gemm, im2col, col2im, maxPool2x2, maxPoolBackward, … (imports env.memory: up to `maxPages` 64 KiB pages, shared or not). */
export function moduleBytes(t: GemmTiling, maxPages: number, shared: boolean): Uint8Array {
  if (t.mc % t.mr !== 0 || t.nc % (4 * t.nv) !== 0) throw new Error(`moduleBytes: mc ${t.mc} must be a multiple of mr ${t.mr} and nc ${t.nc} of ${4 * t.nv}`)
  return assemble([microKernel(t), packKernel('packA', t.mr), packKernel('packB', 4 * t.nv), macroKernel(t), gemmDriver(t), ...convKernels(), ...poolKernels(), ...elementwiseKernels(), ...sumKernels(), adamKernel(), ...priorKernels()], 1, maxPages, shared)
}
