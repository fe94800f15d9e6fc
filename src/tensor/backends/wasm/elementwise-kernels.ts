// Elementwise functions as flat WebAssembly text: four float32 lanes per instruction, no
// branches on the data. In JS, relu and the comparisons (a data-dependent choice per element)
// mispredict on half of random inputs and cost ~7 ns per element (cnn2: 23 ms of a 60 ms
// training step went to relu, its mask and the mask's product); here they cost a fraction of a
// nanosecond. Each formula matches the reference backend's bit for bit: a single float32 add,
// mul or sqrt rounded once is what the reference computes in float64 and rounds to float32
// (double rounding is exact for these when 53 >= 2*24 + 2), f32x4.max/min propagate NaN and
// order -0 < +0 as Math.max/min do, and a comparison is 1 or 0.
//
// One export per function and operand pattern, over a 2-D block of the output:
//   <name>(lane, a, b, out, rows, n, ra, rb)  out[r*n + j] = f(A(r, j), B(r, j))  for r < rows, j < n
// where an operand of pattern 'v' is read at a + r*ra + 4j (a vector along the row) and one of
// pattern 's' at a + r*ra (one value per row, broadcast along it); byte addresses and steps.
// A unary function has no b (it is called with b = rb = 0).
import type { WasmFunc } from './assembler.js'
import type { BinaryOp, UnaryOp } from '../backend.js'

const lines = (xs: string[]): string => xs.join('\n')
const i32 = (n: string): [string, 'i32'] => [n, 'i32']

/**
 * `for (; $j < $limit; $j += bytes) body` as flat WAT, labelled `name` (the caller sets $j first):
 * the vector and scalar loops of these kernels and of ./sum-kernels.ts.
 */
export const byteLoop = (name: string, limit: string, bytes: number, body: string[]): string[] => [
  `block $${name}_done`, `loop $${name}`,
  'local.get $j', `local.get $${limit}`, 'i32.ge_u', `br_if $${name}_done`,
  ...body,
  'local.get $j', `i32.const ${bytes}`, 'i32.add', 'local.set $j', `br $${name}`,
  'end', 'end',
]

/** One elementwise function: its instructions on f32x4 vectors and on f32 scalars. */
interface Formula {
  vec: string[]
  scalar: string[]
}

// 0/1 from a comparison: the lane mask (all ones or zeros) AND the bits of 1.0; the scalar
// comparison gives an i32 0/1.
const compare = (cmp: string): Formula => ({
  vec: [`f32x4.${cmp}`, 'f32.const 1', 'f32x4.splat', 'v128.and'],
  scalar: [`f32.${cmp}`, 'f32.convert_i32_u'],
})

/** The unary functions with a SIMD kernel; the others (exp, log, ...) run the reference loops. */
export const WASM_UNARY = {
  neg: { vec: ['f32x4.neg'], scalar: ['f32.neg'] },
  abs: { vec: ['f32x4.abs'], scalar: ['f32.abs'] },
  sqrt: { vec: ['f32x4.sqrt'], scalar: ['f32.sqrt'] },
  relu: { vec: ['f32.const 0', 'f32x4.splat', 'f32x4.max'], scalar: ['f32.const 0', 'f32.max'] },
  copy: { vec: [], scalar: [] },
} satisfies Partial<Record<UnaryOp, Formula>>

/** The binary functions with a SIMD kernel; pow runs the reference loop. */
export const WASM_BINARY = {
  add: { vec: ['f32x4.add'], scalar: ['f32.add'] },
  mul: { vec: ['f32x4.mul'], scalar: ['f32.mul'] },
  maximum: { vec: ['f32x4.max'], scalar: ['f32.max'] },
  minimum: { vec: ['f32x4.min'], scalar: ['f32.min'] },
  eq: compare('eq'),
  gt: compare('gt'),
  lt: compare('lt'),
  ge: compare('ge'),
  le: compare('le'),
} satisfies Partial<Record<BinaryOp, Formula>>

export type WasmUnaryOp = keyof typeof WASM_UNARY
export type WasmBinaryOp = keyof typeof WASM_BINARY
/** Operand patterns of a binary kernel: a then b, 'v' = vector along the row, 's' = one value per row. */
export type Pattern = 'vv' | 'vs' | 'sv'
export const PATTERNS: Pattern[] = ['vv', 'vs', 'sv']

/** The export name of a unary kernel, or of a binary one with its operand pattern. */
export const unaryKernelName = (op: WasmUnaryOp): string => `ew_${op}`
export const binaryKernelName = (op: WasmBinaryOp, p: Pattern): string => `ew_${op}_${p}`

// Push operand `x` (a or b) of pattern 'v' or 's' for the vector and for the scalar loop.
// A 's' operand is loaded once per row, into $x_v (splat) and $x_s.
const pushVec = (x: string, p: string): string[] =>
  p === 'v' ? [`local.get $${x}`, 'local.get $j', 'i32.add', 'v128.load'] : [`local.get $${x}_v`]
const pushScalar = (x: string, p: string): string[] =>
  p === 'v' ? [`local.get $${x}`, 'local.get $j', 'i32.add', 'f32.load'] : [`local.get $${x}_s`]

function kernel(name: string, f: Formula, operands: [string, string][]): WasmFunc {
  const splats = operands.filter(([, p]) => p === 's').flatMap(([x]) => [
    `local.get $${x}`, 'v128.load32_splat', `local.set $${x}_v`, `local.get $${x}`, 'f32.load', `local.set $${x}_s`,
  ])
  const step = (ra: string, x: string): string[] => [`local.get $${x}`, `local.get $${ra}`, 'i32.add', `local.set $${x}`]
  return {
    name,
    export: true,
    params: ['lane', 'a', 'b', 'out', 'rows', 'n', 'ra', 'rb'].map(i32),
    locals: [...['j', 'vend', 'end'].map(i32), ['a_v', 'v128'], ['b_v', 'v128'], ['a_s', 'f32'], ['b_s', 'f32']],
    body: lines([
      // end = 4n bytes per output row; vend = the bytes covered by whole vectors
      'local.get $n', 'i32.const 4', 'i32.mul', 'local.set $end',
      'local.get $n', 'i32.const -4', 'i32.and', 'i32.const 4', 'i32.mul', 'local.set $vend',
      'block $done',
      'local.get $rows', 'i32.eqz', 'br_if $done',
      'loop $row',
      ...splats,
      'i32.const 0', 'local.set $j',
      ...byteLoop('vloop', 'vend', 16, ['local.get $out', 'local.get $j', 'i32.add', ...operands.flatMap(([x, p]) => pushVec(x, p)), ...f.vec, 'v128.store']),
      ...byteLoop('sloop', 'end', 4, ['local.get $out', 'local.get $j', 'i32.add', ...operands.flatMap(([x, p]) => pushScalar(x, p)), ...f.scalar, 'f32.store']),
      ...step('ra', 'a'), ...step('rb', 'b'), ...step('end', 'out'),
      'local.get $rows', 'i32.const 1', 'i32.sub', 'local.tee $rows', 'br_if $row',
      'end',
      'end',
    ]),
  }
}

/** Every elementwise kernel: one per unary function, one per binary function and pattern. */
export function elementwiseKernels(): WasmFunc[] {
  const unary = Object.entries(WASM_UNARY).map(([op, f]) => kernel(unaryKernelName(op as WasmUnaryOp), f, [['a', 'v']]))
  const binary = Object.entries(WASM_BINARY).flatMap(([op, f]) =>
    PATTERNS.map((p) => kernel(binaryKernelName(op as WasmBinaryOp, p), f, [['a', p[0]!], ['b', p[1]!]])))
  return [...unary, ...binary]
}

/** The export names of {@link elementwiseKernels}, for the engine's and the workers' tables. */
export const ELEMENTWISE_EXPORTS: string[] = [
  ...Object.keys(WASM_UNARY).map((op) => unaryKernelName(op as WasmUnaryOp)),
  ...Object.keys(WASM_BINARY).flatMap((op) => PATTERNS.map((p) => binaryKernelName(op as WasmBinaryOp, p))),
]
