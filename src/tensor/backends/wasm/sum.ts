// Driving the sum kernels (./sum-kernels.ts): the input used in place or copied in, the rows (or
// the columns, when there are few rows) split over the threads for big inputs, the result copied
// out unless written in place.
import type { WasmEngine } from './engine.js'
import { bands, type Task } from './threads.js'

// Below this many input entries one thread does the sum (a fork/join costs ~20 us).
const PARALLEL_ENTRIES = 1 << 16

/** out[o, i] = sum_k x[o, k, i] for x read as [outer, size, inner] (float32). */
export function sumWasm(e: WasmEngine, x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void {
  const total = outer * size * inner
  const results = outer * inner
  if (results === 0) return
  const [xs, os] = e.reserve([e.scratchFor(x, total), e.scratchFor(out, results)]) as [number, number]
  const xp = e.input(x, xs, total)
  const op = e.output(out, os)
  const chunks = total < PARALLEL_ENTRIES ? 1 : 2 * e.threads
  const tasks: Task[] =
    inner === 1 ? bands(outer, chunks).map(([o, count]) => ({ fn: 'sumRows', args: [xp + 4 * o * size, op + 4 * o, count, size] }))
    : outer >= chunks ? bands(outer, chunks).map(([o, count]) => ({ fn: 'sumCols', args: [xp + 4 * o * size * inner, op + 4 * o * inner, count, size, inner, inner] }))
    // few rows: ranges of columns, at multiples of 4 so each task's vectors stay whole
    : bands(inner, chunks, 4).map(([i, len]) => ({ fn: 'sumCols', args: [xp + 4 * i, op + 4 * i, outer, size, inner, len] }))
  e.run(tasks)
  e.copyOut(out, op, results)
}
