// 2x2 / stride 2 max pooling (the CNN case) and its backward as flat WebAssembly text.
// Scalar max+argmax code (JS, or WASM `select`, which V8 turns into branches for floats)
// mispredicts on every other tap of random data (~22 ns per output); here four outputs at a time
// are lane masks and v128.bitselect, with no branches (the row remainder is scalar), split over
// threads by plane. The taps replay the reference rule exactly: take v if v > best or v is NaN (so
// ties keep the first maximum and the last NaN wins, as in PyTorch).
import type { WasmFunc } from './assembler.js'

const lines = (xs: string[]): string => xs.join('\n')
const i32 = (n: string): [string, 'i32'] => [n, 'i32']

// take = v > best || v != v
const takeIf = (v: string): string[] => [
  `local.get ${v}`, 'local.get $best', 'f32.gt', `local.get ${v}`, `local.get ${v}`, 'f32.ne', 'i32.or', 'local.set $take',
]
// best = take ? v : best; bi = take ? idx : bi
const choose = (v: string, idx: string[]): string[] => [
  `local.get ${v}`, 'local.get $best', 'local.get $take', 'select', 'local.set $best',
  ...idx, 'local.get $bi', 'local.get $take', 'select', 'local.set $bi',
]

// Four outputs at once: eight consecutive floats of a window row hold taps (0, 1) of outputs
// ox..ox+3; even and odd lanes are split with shuffles, and every tap decision is a lane mask.
const EVENS = '0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27'
const ODDS = '4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31'
// take = v > best | v != v; best = take ? v : best; bi = take ? idx : bi (lane-wise)
const vTake = (v: string, idx: string[]): string[] => [
  `local.get ${v}`, 'local.get $vbest', 'f32x4.gt', `local.get ${v}`, `local.get ${v}`, 'f32x4.ne', 'v128.or', 'local.set $vtake',
  `local.get ${v}`, 'local.get $vbest', 'local.get $vtake', 'v128.bitselect', 'local.set $vbest',
  ...idx, 'local.get $vbi', 'local.get $vtake', 'v128.bitselect', 'local.set $vbi',
]
const vectorStep = [
  // i0 = 2oy*W + 2ox; q = its address; lanes: (i0, i0+2, i0+4, i0+6)
  'local.get $oy', 'i32.const 2', 'i32.mul', 'local.get $W', 'i32.mul', 'local.get $ox', 'i32.const 2', 'i32.mul', 'i32.add', 'local.tee $i0',
  'i32.const 4', 'i32.mul', 'local.get $xp', 'i32.add', 'local.tee $q',
  'v128.load', 'local.get $q', 'v128.load offset=16', 'local.set $w1', 'local.set $w0',
  'local.get $w0', 'local.get $w1', `i8x16.shuffle ${EVENS}`, 'local.set $u0',
  'local.get $w0', 'local.get $w1', `i8x16.shuffle ${ODDS}`, 'local.set $u1',
  'local.get $q', 'local.get $W', 'i32.const 4', 'i32.mul', 'i32.add', 'local.tee $q',
  'v128.load', 'local.get $q', 'v128.load offset=16', 'local.set $w1', 'local.set $w0',
  'local.get $w0', 'local.get $w1', `i8x16.shuffle ${EVENS}`, 'local.set $u2',
  'local.get $w0', 'local.get $w1', `i8x16.shuffle ${ODDS}`, 'local.set $u3',
  'local.get $i0', 'i32x4.splat', 'v128.const i32x4 0 2 4 6', 'i32x4.add', 'local.tee $vi', 'local.set $vbi',
  'local.get $u0', 'local.set $vbest',
  ...vTake('$u1', ['local.get $vi', 'v128.const i32x4 1 1 1 1', 'i32x4.add']),
  ...vTake('$u2', ['local.get $vi', 'local.get $W', 'i32x4.splat', 'i32x4.add']),
  ...vTake('$u3', ['local.get $vi', 'local.get $W', 'i32.const 1', 'i32.add', 'i32x4.splat', 'i32x4.add']),
  'local.get $out', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $vbest', 'v128.store',
  'local.get $argmax', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $vbi', 'v128.store',
  'local.get $o', 'i32.const 4', 'i32.add', 'local.set $o',
  'local.get $ox', 'i32.const 4', 'i32.add', 'local.set $ox',
]

/** maxPool2x2(lane, x, out, argmax, H, W, OH, OW, p0, p1): planes [p0, p1) of a [planes, H, W] input. */
function maxPool2x2Kernel(): WasmFunc {
  const idx = (d: string[]): string[] => ['local.get $i0', ...d]
  return {
    name: 'maxPool2x2',
    export: true,
    params: ['lane', 'x', 'out', 'argmax', 'H', 'W', 'OH', 'OW', 'p0', 'p1'].map(i32),
    locals: [...['plane', 'oy', 'ox', 'xp', 'q', 'i0', 'o', 'bi', 'take'].map(i32),
      ...['v0', 'v1', 'v2', 'v3', 'best'].map((n): [string, 'f32'] => [n, 'f32']),
      ...['w0', 'w1', 'u0', 'u1', 'u2', 'u3', 'vi', 'vbi', 'vbest', 'vtake'].map((n): [string, 'v128'] => [n, 'v128'])],
    body: lines([
      // o = output index of (p0, 0, 0)
      'local.get $p0', 'local.get $OH', 'i32.mul', 'local.get $OW', 'i32.mul', 'local.set $o',
      'local.get $p0', 'local.set $plane',
      'loop $planes',
      'local.get $x', 'local.get $plane', 'local.get $H', 'i32.mul', 'local.get $W', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $xp',
      'i32.const 0', 'local.set $oy',
      'loop $rows',
      'i32.const 0', 'local.set $ox',
      'block $vdone', 'loop $vcols',
      'local.get $ox', 'i32.const 4', 'i32.add', 'local.get $OW', 'i32.gt_s', 'br_if $vdone',
      ...vectorStep, 'br $vcols', 'end', 'end',
      'block $cdone',
      'local.get $ox', 'local.get $OW', 'i32.ge_s', 'br_if $cdone',
      'loop $cols',
      // i0 = 2oy*W + 2ox (index inside the plane), q = its address
      'local.get $oy', 'i32.const 2', 'i32.mul', 'local.get $W', 'i32.mul', 'local.get $ox', 'i32.const 2', 'i32.mul', 'i32.add', 'local.tee $i0',
      'i32.const 4', 'i32.mul', 'local.get $xp', 'i32.add', 'local.tee $q',
      'f32.load', 'local.set $v0', 'local.get $q', 'f32.load offset=4', 'local.set $v1',
      'local.get $q', 'local.get $W', 'i32.const 4', 'i32.mul', 'i32.add', 'local.tee $q',
      'f32.load', 'local.set $v2', 'local.get $q', 'f32.load offset=4', 'local.set $v3',
      'local.get $v0', 'local.set $best', 'local.get $i0', 'local.set $bi',
      ...takeIf('$v1'), ...choose('$v1', idx(['i32.const 1', 'i32.add'])),
      ...takeIf('$v2'), ...choose('$v2', idx(['local.get $W', 'i32.add'])),
      ...takeIf('$v3'), ...choose('$v3', idx(['local.get $W', 'i32.add', 'i32.const 1', 'i32.add'])),
      'local.get $out', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $best', 'f32.store',
      'local.get $argmax', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'local.get $bi', 'i32.store',
      'local.get $o', 'i32.const 1', 'i32.add', 'local.set $o',
      'local.get $ox', 'i32.const 1', 'i32.add', 'local.tee $ox', 'local.get $OW', 'i32.lt_s', 'br_if $cols', 'end', 'end',
      'local.get $oy', 'i32.const 1', 'i32.add', 'local.tee $oy', 'local.get $OH', 'i32.lt_s', 'br_if $rows', 'end',
      'local.get $plane', 'i32.const 1', 'i32.add', 'local.tee $plane', 'local.get $p1', 'i32.lt_s', 'br_if $planes', 'end',
    ]),
  }
}

/** maxPoolBackward(lane, gradOut, argmax, gradX, HW, OHW, p0, p1): zero the planes, then gradX[argmax] += gradOut. */
function maxPoolBackwardKernel(): WasmFunc {
  return {
    name: 'maxPoolBackward',
    export: true,
    params: ['lane', 'gradOut', 'argmax', 'gradX', 'HW', 'OHW', 'p0', 'p1'].map(i32),
    locals: ['plane', 'gx', 'o', 'end', 'addr'].map(i32),
    body: lines([
      'local.get $p0', 'local.get $OHW', 'i32.mul', 'local.set $o',
      'local.get $p0', 'local.set $plane',
      'loop $planes',
      'local.get $gradX', 'local.get $plane', 'local.get $HW', 'i32.mul', 'i32.const 4', 'i32.mul', 'i32.add', 'local.tee $gx',
      'i32.const 0', 'local.get $HW', 'i32.const 4', 'i32.mul', 'memory.fill',
      'local.get $o', 'local.get $OHW', 'i32.add', 'local.set $end',
      'block $empty', 'local.get $OHW', 'i32.eqz', 'br_if $empty',
      'loop $outs',
      'local.get $gx', 'local.get $argmax', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'i32.load', 'i32.const 4', 'i32.mul', 'i32.add', 'local.tee $addr',
      'local.get $addr', 'f32.load', 'local.get $gradOut', 'local.get $o', 'i32.const 4', 'i32.mul', 'i32.add', 'f32.load', 'f32.add', 'f32.store',
      'local.get $o', 'i32.const 1', 'i32.add', 'local.tee $o', 'local.get $end', 'i32.lt_s', 'br_if $outs', 'end',
      'end',
      'local.get $plane', 'i32.const 1', 'i32.add', 'local.tee $plane', 'local.get $p1', 'i32.lt_s', 'br_if $planes', 'end',
    ]),
  }
}

export function poolKernels(): WasmFunc[] {
  return [maxPool2x2Kernel(), maxPoolBackwardKernel()]
}
