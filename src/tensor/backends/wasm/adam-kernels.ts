// The Adam update (no weight decay, amsgrad or maximize: the common case) as flat WebAssembly
// text, for float32 parameters:
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + ((1 - beta2) g) g
//   p = p + (-stepSize m) / (sqrt(v) / bc2Sqrt + eps)
// Bit for bit the reference backend's arithmetic: that loop computes each line in float64 from
// float32 values and rounds the result when it stores it (and reads m and v back rounded), so
// here each group of four float32 lanes is widened into two f64x2 halves, the same float64
// operations run in the same order (IEEE add, mul, div and sqrt are correctly rounded, in JS as
// in WASM), and the results are narrowed back. The float64 division and square root are the
// cost (~2.5x faster than the JS loop on one thread).
//
//   adam(lane, p, g, m, v, n, h)   byte addresses; n floats; h: seven float64 hyperparameters
import type { WasmFunc } from './assembler.js'

const lines = (xs: string[]): string => xs.join('\n')
const i32 = (n: string): [string, 'i32'] => [n, 'i32']
const v128 = (n: string): [string, 'v128'] => [n, 'v128']
const f64 = (n: string): [string, 'f64'] => [n, 'f64']

/** Order of the float64 hyperparameters at `h`. */
export const ADAM_HYPER = ['beta1', 'c1', 'beta2', 'c2', 'negStepSize', 'bc2Sqrt', 'eps'] as const
const LOCAL = ['b1', 'c1', 'b2', 'c2', 'nss', 'bc', 'ep']

// bytes 8..15 (lanes 2, 3) moved to lanes 0, 1; and lanes 0, 1 of two vectors side by side
const HIGH = '8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15'
const JOIN = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23'

// lanes 0, 1 (or 2, 3) of a float32 vector as an f64x2
const widen = (x: string, high: boolean): string[] =>
  high ? [`local.get $${x}`, `local.get $${x}`, `i8x16.shuffle ${HIGH}`, 'f64x2.promote_low_f32x4'] : [`local.get $${x}`, 'f64x2.promote_low_f32x4']

// One f64x2 half of four lanes; leaves the narrowed results in $m<s>, $v<s>, $p<s> (lanes 0, 1).
const half = (high: boolean, s: string): string[] => [
  ...widen('G', high), 'local.set $gw',
  ...widen('M', high), 'local.get $b1', 'f64x2.mul', 'local.get $c1', 'local.get $gw', 'f64x2.mul', 'f64x2.add',
  'f32x4.demote_f64x2_zero', `local.tee $m${s}`, 'f64x2.promote_low_f32x4', 'local.set $mr',
  ...widen('V', high), 'local.get $b2', 'f64x2.mul', 'local.get $c2', 'local.get $gw', 'f64x2.mul', 'local.get $gw', 'f64x2.mul', 'f64x2.add',
  'f32x4.demote_f64x2_zero', `local.tee $v${s}`, 'f64x2.promote_low_f32x4', 'local.set $vr',
  ...widen('P', high), 'local.get $nss', 'local.get $mr', 'f64x2.mul',
  'local.get $vr', 'f64x2.sqrt', 'local.get $bc', 'f64x2.div', 'local.get $ep', 'f64x2.add', 'f64x2.div', 'f64x2.add',
  'f32x4.demote_f64x2_zero', `local.set $p${s}`,
]

const store = (x: string, name: string): string[] =>
  [`local.get $${x}`, 'local.get $j', 'i32.add', `local.get $${name}0`, `local.get $${name}1`, `i8x16.shuffle ${JOIN}`, 'v128.store']

// The same three lines on one float32 element (the tail of a length that is not a multiple of 4).
const scalar = [
  'local.get $g', 'local.get $j', 'i32.add', 'f32.load', 'f64.promote_f32', 'local.set $gs',
  'local.get $m', 'local.get $j', 'i32.add',
  'local.get $m', 'local.get $j', 'i32.add', 'f32.load', 'f64.promote_f32', 'local.get $sb1', 'f64.mul', 'local.get $sc1', 'local.get $gs', 'f64.mul', 'f64.add',
  'f32.demote_f64', 'local.tee $t', 'f32.store', 'local.get $t', 'f64.promote_f32', 'local.set $ms',
  'local.get $v', 'local.get $j', 'i32.add',
  'local.get $v', 'local.get $j', 'i32.add', 'f32.load', 'f64.promote_f32', 'local.get $sb2', 'f64.mul', 'local.get $sc2', 'local.get $gs', 'f64.mul', 'local.get $gs', 'f64.mul', 'f64.add',
  'f32.demote_f64', 'local.tee $t', 'f32.store', 'local.get $t', 'f64.promote_f32', 'local.set $vs',
  'local.get $p', 'local.get $j', 'i32.add',
  'local.get $p', 'local.get $j', 'i32.add', 'f32.load', 'f64.promote_f32', 'local.get $snss', 'local.get $ms', 'f64.mul',
  'local.get $vs', 'f64.sqrt', 'local.get $sbc', 'f64.div', 'local.get $sep', 'f64.add', 'f64.div', 'f64.add',
  'f32.demote_f64', 'f32.store',
]

/** adam(lane, p, g, m, v, n, h): one Adam step in place over n float32 entries. */
export function adamKernel(): WasmFunc {
  const load = (x: string, into: string): string[] => [`local.get $${x}`, 'local.get $j', 'i32.add', 'v128.load', `local.set $${into}`]
  return {
    name: 'adam',
    export: true,
    params: ['lane', 'p', 'g', 'm', 'v', 'n', 'h'].map(i32),
    locals: [...['j', 'vend', 'end'].map(i32), ['t', 'f32'],
      ...['P', 'G', 'M', 'V', 'gw', 'mr', 'vr', 'm0', 'm1', 'v0', 'v1', 'p0', 'p1', ...LOCAL].map(v128),
      ...['gs', 'ms', 'vs', ...LOCAL.map((l) => `s${l}`)].map(f64)],
    body: lines([
      ...LOCAL.flatMap((l, k) => ['local.get $h', `v128.load64_splat offset=${8 * k}`, `local.set $${l}`,
        'local.get $h', `f64.load offset=${8 * k}`, `local.set $s${l}`]),
      'local.get $n', 'i32.const 4', 'i32.mul', 'local.set $end',
      'local.get $n', 'i32.const -4', 'i32.and', 'i32.const 4', 'i32.mul', 'local.set $vend',
      'i32.const 0', 'local.set $j',
      'block $vdone', 'loop $vloop',
      'local.get $j', 'local.get $vend', 'i32.ge_u', 'br_if $vdone',
      ...load('p', 'P'), ...load('g', 'G'), ...load('m', 'M'), ...load('v', 'V'),
      ...half(false, '0'), ...half(true, '1'),
      ...store('m', 'm'), ...store('v', 'v'), ...store('p', 'p'),
      'local.get $j', 'i32.const 16', 'i32.add', 'local.set $j', 'br $vloop',
      'end', 'end',
      'block $sdone', 'loop $sloop',
      'local.get $j', 'local.get $end', 'i32.ge_u', 'br_if $sdone',
      ...scalar,
      'local.get $j', 'i32.const 4', 'i32.add', 'local.set $j', 'br $sloop',
      'end', 'end',
    ]),
  }
}
