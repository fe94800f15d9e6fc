// Driving the elementwise kernels (./elementwise-kernels.ts): operands that live in WASM memory
// (tensors made inside tidy()) are used in place, host ones copied in; the output is cut into the
// 2-D blocks the kernels understand, big blocks are split over the threads, and a host output
// is copied back.
import { forEachRun, type Broadcast } from '../../shape.js'
import type { WasmEngine } from './engine.js'
import type { Task } from './threads.js'
import { MAX_TASKS, bands } from './threads.js'
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
 * the rows of one block, and the dims before those give one block each.
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
  if (nd === 1) {
    runBlocks(e, binaryKernelName(op, pattern), [[ap, bp, op0, 1, n, 0, 0]], pattern, total)
  } else {
    // One block per run of the second-to-last dim (its rows): forEachRun's odometer over the
    // dims without the last one gives each block's first row and the inputs' offsets there.
    const rows = g.shape[nd - 2]!
    const [ra, rb] = [4 * sa[nd - 2]!, 4 * sb[nd - 2]!]
    const blocks: Block[] = []
    forEachRun({ shape: g.shape.slice(0, -1), strides: [sa.slice(0, -1), sb.slice(0, -1)] }, (row, [ia, ib]) => {
      blocks.push([ap + 4 * ia!, bp + 4 * ib!, op0 + 4 * row * n, rows, n, ra, rb])
    })
    runBlocks(e, binaryKernelName(op, pattern), blocks, pattern, total)
  }
  e.copyOut(out, op0)
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
  if (rows === 1) {
    // a lone row: ranges of it (a broadcast operand 's' stays put)
    const av = pattern[0] === 'v' ? 4 : 0
    const bv = pattern[1] === 'v' ? 4 : 0
    return bands(n, chunks, 4).map(([j, len]) => [a + j * av, b + j * bv, out + 4 * j, 1, len, 0, 0])
  }
  return bands(rows, Math.min(rows, chunks)).map(([r, count]) => [a + r * ra, b + r * rb, out + 4 * r * n, count, n, ra, rb])
}
