// im2col and col2im as flat WebAssembly text (see ./conv.ts for the math). In JS these two
// memory-bound loops cost as much as the GEMM itself (conv2 of cnn2: im2col 4.8 ms, col2im
// 5.2 ms vs GEMM 8 ms); in WASM they run several times faster and split over threads by
// channel (or by image when there are fewer channels than threads).
//
// Both take the executing thread's lane first, like every export (unused here: no scratch).
// Both read the geometry from an i32 table in memory (GEOM_* word offsets below), with the
// valid output-column range [lo[j], hi[j]) of every kernel column j precomputed by the caller,
// so the inner loops have no bounds tests: zeros left and right of the range, a copy inside
// (by whole f32x4 vectors when the stride is 1).
import type { WasmFunc } from './assembler.js'

/**
 * Word offsets of the geometry table; IS is the column stride between images in the col matrix
 * (OH*OW, or that rounded up to a tile multiple); lo[] starts at LO, hi[] right after (KW each).
 */
export const GEOM = { N: 0, C: 1, H: 2, W: 3, KH: 4, KW: 5, SH: 6, SW: 7, PH: 8, PW: 9, OH: 10, OW: 11, IS: 12, LO: 13 }

const lines = (xs: string[]): string => xs.join('\n')
const i32 = (n: string): [string, 'i32'] => [n, 'i32']
const GEOM_LOCALS = ['N', 'C', 'H', 'W', 'KH', 'KW', 'sh', 'sw', 'ph', 'pw', 'OH', 'OW', 'IS']
const loadGeometry = GEOM_LOCALS.flatMap((name, w) => ['local.get $g', `i32.load offset=${4 * w}`, `local.set $${name}`])

// for (v = from; v < limit; v++) { body }   (body runs at least once: callers guarantee from < limit)
const forLoop = (v: string, from: string[], limit: string, body: string[]): string[] => [
  ...from, `local.set $${v}`,
  `loop $${v}_loop`, ...body,
  `local.get $${v}`, 'i32.const 1', 'i32.add', `local.tee $${v}`, `local.get $${limit}`, 'i32.lt_s', `br_if $${v}_loop`,
  'end',
]

// lo = table[LO + j], hi = table[LO + KW + j]
const loadRange = [
  'local.get $g', 'local.get $j', 'i32.const 4', 'i32.mul', 'i32.add', `i32.load offset=${4 * GEOM.LO}`, 'local.set $lo',
  'local.get $g', 'local.get $j', 'local.get $KW', 'i32.add', 'i32.const 4', 'i32.mul', 'i32.add', `i32.load offset=${4 * GEOM.LO}`, 'local.set $hi',
]

// row pointer of (c, i, j): base + ((c*KH + i)*KW + j) * ld * 4, then + n*IS*4
const rowPtr = (base: string): string[] => [
  `local.get $${base}`, 'local.get $c', 'local.get $KH', 'i32.mul', 'local.get $i', 'i32.add', 'local.get $KW', 'i32.mul', 'local.get $j', 'i32.add',
  'local.get $ld', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add',
  'local.get $n', 'local.get $IS', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $d',
]

// xr = x + ((n*C + c)*H*W + iy*W - pw + j) * 4, the input address of output column 0 (may be "virtual")
const inputRow = (x: string): string[] => [
  `local.get $${x}`, 'local.get $n', 'local.get $C', 'i32.mul', 'local.get $c', 'i32.add', 'local.get $H', 'i32.mul', 'local.get $iy', 'i32.add',
  'local.get $W', 'i32.mul', 'local.get $pw', 'i32.sub', 'local.get $j', 'i32.add', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $xr',
]

// iy = oy*sh - ph + i; leaves (iy <u H) on the stack: false for rows in the padding
const rowValid = ['local.get $oy', 'local.get $sh', 'i32.mul', 'local.get $ph', 'i32.sub', 'local.get $i', 'i32.add', 'local.tee $iy', 'local.get $H', 'i32.lt_u']

// address of output column ox: d + ox*4, and of its input: xr + ox*sw*4
const colAddr = ['local.get $d', 'local.get $ox', 'i32.const 4', 'i32.mul', 'i32.add']
const inAddr = ['local.get $xr', 'local.get $ox', 'local.get $sw', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add']

// while (ox < limit) { body; ox++ }
const whileOx = (limit: string, body: string[]): string[] => [
  'block $w_done', 'loop $w_next', 'local.get $ox', `local.get $${limit}`, 'i32.ge_s', 'br_if $w_done',
  ...body, 'local.get $ox', 'i32.const 1', 'i32.add', 'local.set $ox', 'br $w_next', 'end', 'end',
]

// with unit stride (sw == 1), first whole vectors: while (ox + 4 <= hi) { body4; ox += 4 }
const vectorsWhileUnitStride = (body4: string[]): string[] => [
  'local.get $sw', 'i32.const 1', 'i32.eq', 'if',
  'block $v_done', 'loop $v_next', 'local.get $ox', 'i32.const 4', 'i32.add', 'local.get $hi', 'i32.gt_s', 'br_if $v_done',
  ...body4, 'local.get $ox', 'i32.const 4', 'i32.add', 'local.set $ox', 'br $v_next', 'end', 'end',
  'end',
]

const COMMON_LOCALS = [...GEOM_LOCALS, 'c', 'i', 'j', 'n', 'oy', 'ox', 'iy', 'lo', 'hi', 'd', 'xr'].map(i32)

/** im2col(lane, g, x, col, ld, c0, c1, n0, n1): col rows of channels [c0, c1), columns of images [n0, n1). */
function im2colKernel(): WasmFunc {
  const perOutputRow = [
    ...rowValid,
    'if',
    ...inputRow('x'),
    'i32.const 0', 'local.set $ox',
    ...whileOx('lo', [...colAddr, 'f32.const 0', 'f32.store']),
    ...vectorsWhileUnitStride([...colAddr, ...inAddr, 'v128.load', 'v128.store']),
    ...whileOx('hi', [...colAddr, ...inAddr, 'f32.load', 'f32.store']),
    ...whileOx('OW', [...colAddr, 'f32.const 0', 'f32.store']),
    'else',
    'local.get $d', 'i32.const 0', 'local.get $OW', 'i32.const 4', 'i32.mul', 'memory.fill',
    'end',
    'local.get $d', 'local.get $OW', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $d',
  ]
  return {
    name: 'im2col',
    export: true,
    params: ['lane', 'g', 'x', 'col', 'ld', 'c0', 'c1', 'n0', 'n1'].map(i32),
    locals: COMMON_LOCALS,
    body: lines([
      ...loadGeometry,
      ...forLoop('c', ['local.get $c0'], 'c1', forLoop('i', ['i32.const 0'], 'KH', forLoop('j', ['i32.const 0'], 'KW', [
        ...loadRange,
        ...forLoop('n', ['local.get $n0'], 'n1', [...rowPtr('col'), ...forLoop('oy', ['i32.const 0'], 'OH', perOutputRow)]),
      ]))),
    ]),
  }
}

/** col2im(lane, g, dcol, ld, dx, c0, c1, n0, n1): zero and accumulate the dx planes (n, c) in the ranges. */
function col2imKernel(): WasmFunc {
  const perOutputRow = [
    ...rowValid,
    'if',
    ...inputRow('dx'),
    'local.get $lo', 'local.set $ox',
    ...vectorsWhileUnitStride([...inAddr, ...inAddr, 'v128.load', ...colAddr, 'v128.load', 'f32x4.add', 'v128.store']),
    ...whileOx('hi', [...inAddr, ...inAddr, 'f32.load', ...colAddr, 'f32.load', 'f32.add', 'f32.store']),
    'end',
    'local.get $d', 'local.get $OW', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $d',
  ]
  const zeroPlanes = forLoop('n', ['local.get $n0'], 'n1', [
    'local.get $dx', 'local.get $n', 'local.get $C', 'i32.mul', 'local.get $c', 'i32.add',
    'local.get $H', 'i32.mul', 'local.get $W', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add',
    'i32.const 0', 'local.get $H', 'local.get $W', 'i32.mul', 'i32.const 4', 'i32.mul', 'memory.fill',
  ])
  return {
    name: 'col2im',
    export: true,
    params: ['lane', 'g', 'col', 'ld', 'dx', 'c0', 'c1', 'n0', 'n1'].map(i32),
    locals: COMMON_LOCALS,
    body: lines([
      ...loadGeometry,
      ...forLoop('c', ['local.get $c0'], 'c1', [
        ...zeroPlanes,
        ...forLoop('i', ['i32.const 0'], 'KH', forLoop('j', ['i32.const 0'], 'KW', [
          ...loadRange,
          ...forLoop('n', ['local.get $n0'], 'n1', [...rowPtr('col'), ...forLoop('oy', ['i32.const 0'], 'OH', perOutputRow)]),
        ])),
      ]),
    ]),
  }
}

export function convKernels(): WasmFunc[] {
  return [im2colKernel(), col2imKernel()]
}
