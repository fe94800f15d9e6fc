// The sum primitive (out[o, i] = sum_k x[o, k, i]) as flat WebAssembly text, float32, with the
// reference backend's arithmetic bit for bit:
//   sumRows(lane, x, out, rows, size)              inner = 1: each row summed in a float64 local,
//                                                  k in order, rounded once (as the reference's JS number)
//   sumCols(lane, x, out, outer, size, inner, n)   inner > 1: columns [i0, i0 + n) of each row
//                                                  o: out[o, i] = 0, then += x[o, k, i] for k in
//                                                  order, four columns per f32x4 add (each add
//                                                  rounded to float32, as the reference's stores)
// Byte addresses; `x` and `out` of sumCols already point at column i0.
import type { WasmFunc } from './assembler.js'
import { byteLoop } from './elementwise-kernels.js'

const lines = (xs: string[]): string => xs.join('\n')
const i32 = (n: string): [string, 'i32'] => [n, 'i32']

export const SUM_EXPORTS = ['sumRows', 'sumCols']

// out[j] += src[j], four lanes (v128) or one (f32) at byte offset $j
const addInto = (t: 'v128' | 'f32'): string[] => [
  'local.get $out', 'local.get $j', 'i32.add',
  'local.get $out', 'local.get $j', 'i32.add', `${t}.load`,
  'local.get $src', 'local.get $j', 'i32.add', `${t}.load`,
  t === 'v128' ? 'f32x4.add' : 'f32.add', `${t}.store`,
]

function sumRows(): WasmFunc {
  return {
    name: 'sumRows',
    export: true,
    params: ['lane', 'x', 'out', 'rows', 'size'].map(i32),
    locals: [...['end'].map(i32), ['acc', 'f64']],
    body: lines([
      'block $done',
      'local.get $rows', 'i32.eqz', 'br_if $done',
      'loop $row',
      'f64.const 0', 'local.set $acc',
      // end = x + 4 size
      'local.get $x', 'local.get $size', 'i32.const 4', 'i32.mul', 'i32.add', 'local.set $end',
      'block $kdone', 'loop $k',
      'local.get $x', 'local.get $end', 'i32.ge_u', 'br_if $kdone',
      'local.get $acc', 'local.get $x', 'f32.load', 'f64.promote_f32', 'f64.add', 'local.set $acc',
      'local.get $x', 'i32.const 4', 'i32.add', 'local.set $x', 'br $k',
      'end', 'end',
      'local.get $out', 'local.get $acc', 'f32.demote_f64', 'f32.store',
      'local.get $out', 'i32.const 4', 'i32.add', 'local.set $out',
      'local.get $rows', 'i32.const 1', 'i32.sub', 'local.tee $rows', 'br_if $row',
      'end',
      'end',
    ]),
  }
}

function sumCols(): WasmFunc {
  return {
    name: 'sumCols',
    export: true,
    params: ['lane', 'x', 'out', 'outer', 'size', 'inner', 'n'].map(i32),
    locals: ['j', 'vend', 'end', 'k', 'row', 'src'].map(i32),
    body: lines([
      // row = 4 inner bytes between rows of x (and of out); end/vend: bytes of the n columns
      'local.get $inner', 'i32.const 4', 'i32.mul', 'local.set $row',
      'local.get $n', 'i32.const 4', 'i32.mul', 'local.set $end',
      'local.get $n', 'i32.const -4', 'i32.and', 'i32.const 4', 'i32.mul', 'local.set $vend',
      'block $done',
      'local.get $outer', 'i32.eqz', 'br_if $done',
      'loop $o',
      // out[o, i0:i0+n] = 0
      'i32.const 0', 'local.set $j',
      ...byteLoop('z', 'end', 4, ['local.get $out', 'local.get $j', 'i32.add', 'f32.const 0', 'f32.store']),
      'i32.const 0', 'local.set $k',
      'block $kdone', 'loop $kloop',
      'local.get $k', 'local.get $size', 'i32.ge_u', 'br_if $kdone',
      // src = x + (o*size + k) * row, with x already at row o
      'local.get $x', 'local.get $k', 'local.get $row', 'i32.mul', 'i32.add', 'local.set $src',
      'i32.const 0', 'local.set $j',
      ...byteLoop('v', 'vend', 16, addInto('v128')),
      ...byteLoop('s', 'end', 4, addInto('f32')),
      'local.get $k', 'i32.const 1', 'i32.add', 'local.set $k', 'br $kloop',
      'end', 'end',
      // next o: x moves by size rows, out by one row
      'local.get $x', 'local.get $size', 'local.get $row', 'i32.mul', 'i32.add', 'local.set $x',
      'local.get $out', 'local.get $row', 'i32.add', 'local.set $out',
      'local.get $outer', 'i32.const 1', 'i32.sub', 'local.tee $outer', 'br_if $o',
      'end',
      'end',
    ]),
  }
}

/** The sum kernels. */
export function sumKernels(): WasmFunc[] {
  return [sumRows(), sumCols()]
}
