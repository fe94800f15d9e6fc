// Driving the elementwise kernels (./elementwise-kernels.ts): operands that live in WASM memory
// (tensors made inside tidy()) are used in place, host ones copied in; the output is cut into the
// 2-D blocks the kernels understand, big blocks are split over the threads, and a host output
// is copied back.
import type { Broadcast } from '../../shape.js'
import type { WasmEngine } from './engine.js'
import type { Task } from './threads.js'
import { MAX_TASKS } from './threads.js'
import { binaryKernelName, unaryKernelName, type Pattern, type WasmBinaryOp, type WasmUnaryOp } from './elementwise-kernels.js'

// Below this many output elements one thread does the whole call: a fork/join costs ~20 us,
// about what the kernel takes for 64k elements.
const PARALLEL_ELEMENTS = 1 << 16

// One kernel call: a, b, out (byte addresses), rows, n, ra, rb (byte steps per row).
type Block = [number, number, number, number, number, number, number]

/** out[i] = op(x[i]) (float32). */
export function unaryWasm(e: WasmEngine, op: WasmUnaryOp, x: Float32Array, out: Float32Array): void {
  const n = x.length
  if (n === 0) return
  const [xs, os] = e.reserve([e.scratchFor(x, n), e.scratchFor(out, n)]) as [number, number]
  const xp = e.input(x, xs)
  const op0 = e.output(out, os)
  runBlocks(e, unaryKernelName(op), [[xp, 0, op0, 1, n, 0, 0]], 'vs', n)
  e.copyOut(out, op0)
}

/**
 * out = op(a, b) over a merged Broadcast (float32): the last dim is the row, the one before it
 * the rows of one block, and any dims before those are visited here, one block each.
 */
export function binaryWasm(e: WasmEngine, op: WasmBinaryOp, a: Float32Array, b: Float32Array, out: Float32Array, g: Broadcast): void {
  const total = out.length
  if (total === 0) return
  const [as, bs, os] = e.reserve([e.scratchFor(a, a.length), e.scratchFor(b, b.length), e.scratchFor(out, total)]) as [number, number, number]
  const ap = e.input(a, as)
  const bp = e.input(b, bs)
  const op0 = e.output(out, os)
  const nd = g.shape.length
  const [sa, sb] = g.strides as [number[], number[]]
  const n = g.shape[nd - 1]!
  // After merging, each input steps by 1 (read along) or 0 (broadcast) on the last dim, and
  // never both by 0 unless that dim has one element (then reading it 'along' is the same).
  const along = (s: number[]): string => (s[nd - 1] === 0 && n > 1 ? 's' : 'v')
  const pattern = `${along(sa)}${along(sb)}` as Pattern
  if (pattern === ('ss' as string)) throw new Error(`binaryWasm: no input varies along the last dim of ${JSON.stringify(g.shape)}`)
  const rows = nd >= 2 ? g.shape[nd - 2]! : 1
  const ra = nd >= 2 ? 4 * sa[nd - 2]! : 0
  const rb = nd >= 2 ? 4 * sb[nd - 2]! : 0
  const blocks: Block[] = []
  outerOffsets(g.shape.slice(0, -2), [sa, sb], (o, ia, ib) => {
    blocks.push([ap + 4 * ia, bp + 4 * ib, op0 + 4 * o * rows * n, rows, n, ra, rb])
  })
  runBlocks(e, binaryKernelName(op, pattern), blocks, pattern, total)
  e.copyOut(out, op0)
}

// The start offsets of every block: an odometer over the dims before the last two, row-major.
function outerOffsets(outer: number[], [sa, sb]: [number[], number[]], visit: (block: number, ia: number, ib: number) => void): void {
  const count = outer.reduce((p, d) => p * d, 1)
  const idx = outer.map(() => 0)
  let ia = 0
  let ib = 0
  for (let k = 0; k < count; k++) {
    visit(k, ia, ib)
    for (let d = outer.length - 1; d >= 0; d--) {
      idx[d]!++
      ia += sa[d]!
      ib += sb[d]!
      if (idx[d]! < outer[d]!) break
      ia -= sa[d]! * outer[d]!
      ib -= sb[d]! * outer[d]!
      idx[d] = 0
    }
  }
}

// Run the blocks: on the caller alone when small, else as tasks (a single big block is first
// cut into bands of rows, or into ranges of a lone row at multiples of 4 elements).
function runBlocks(e: WasmEngine, fn: string, blocks: Block[], pattern: Pattern, total: number): void {
  const run = (bs: Block[]): void => e.run(bs.map((args): Task => ({ fn, args: [...args] })))
  if (total < PARALLEL_ELEMENTS || e.threads === 1) {
    for (const b of blocks) run([b])
    return
  }
  const parts = blocks.length === 1 ? split(blocks[0]!, 2 * e.threads, pattern) : blocks
  for (let i = 0; i < parts.length; i += MAX_TASKS) run(parts.slice(i, i + MAX_TASKS))
}

function split([a, b, out, rows, n, ra, rb]: Block, chunks: number, pattern: Pattern): Block[] {
  const parts: Block[] = []
  if (rows >= chunks) {
    const per = Math.ceil(rows / chunks)
    for (let r = 0; r < rows; r += per) parts.push([a + r * ra, b + r * rb, out + 4 * r * n, Math.min(per, rows - r), n, ra, rb])
  } else if (rows === 1) {
    const per = Math.ceil(n / chunks / 4) * 4
    const av = pattern[0] === 'v' ? 4 : 0
    const bv = pattern[1] === 'v' ? 4 : 0
    for (let j = 0; j < n; j += per) parts.push([a + j * av, b + j * bv, out + 4 * j, 1, Math.min(per, n - j), 0, 0])
  } else {
    for (let r = 0; r < rows; r++) parts.push([a + r * ra, b + r * rb, out + 4 * r * n, 1, n, ra, rb])
  }
  return parts
}
