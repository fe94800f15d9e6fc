// The blocks of the engine's WebAssembly.Memory: a bump pointer and one free list per block
// size. A training step asks for the same sizes every time (activations, gradients, each
// kernel's scratch), so after the first step every request is met from a free list and the
// memory stops growing. Sizes are rounded up to one of four classes per power of two (at most
// 25% slack). Only when the memory is full are free neighbours merged (and a run split) to
// meet a request of another size; the memory never shrinks (WebAssembly memories cannot).
import type { WasmMemory } from './wasm-api.js'

const PAGE = 65536
const ALIGN = 64

/** The block size that serves a request of `bytes`: a multiple of 64, at most 25% above it. */
export function blockBytes(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN)
  if (b <= 16 * ALIGN) return b
  const step = 2 ** Math.floor(Math.log2(b)) / 4
  return Math.ceil(b / step) * step
}

// Blocks under this size come from the far end of a fixed-size memory (see Heap).
const SMALL = 1 << 20

/**
 * Blocks of a memory from `start` up to `maxBytes`, each 64-byte aligned. A growable memory
 * grows as the top rises. A fixed-size one is there in full from the start, so its small blocks
 * (under 1 MiB: shapes, scalars, bias vectors) are taken from its far end downwards, and never sit
 * between the large ones (activations, im2col buffers): freed large blocks then stay neighbours
 * that can be merged for a request of another size when the memory is full.
 */
export class Heap {
  private top: number
  /** the lowest small block of a fixed-size memory (maxBytes while there is none, and always for a growable one) */
  private bottom: number
  private readonly freeLists = new Map<number, number[]>()
  private readonly live = new Map<number, number>()

  constructor(
    private readonly memory: WasmMemory,
    start: number,
    maxBytes: number,
    private readonly fixed = false,
  ) {
    this.top = Math.ceil(start / ALIGN) * ALIGN
    this.bottom = maxBytes
  }

  /** Blocks handed out and not yet released. */
  get liveBlocks(): number {
    return this.live.size
  }

  /** The byte offset of a block of at least `bytes`, or null when the memory cap is reached. */
  alloc(bytes: number): number | null {
    const size = blockBytes(bytes)
    const at = this.freeLists.get(size)?.pop() ?? this.bump(size) ?? this.coalesce(size)
    if (at !== null) this.live.set(at, size)
    return at
  }

  // A new block from the unused middle: small ones of a fixed memory below `bottom`, the rest at `top`.
  private bump(size: number): number | null {
    if (this.fixed && size < SMALL) {
      if (this.bottom - size < this.top) return null
      this.bottom -= size
      return this.bottom
    }
    if (this.top + size > this.bottom) return null
    const at = this.top
    this.top += size
    const have = this.memory.buffer.byteLength
    if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE))
    return at
  }

  // At the cap (a fixed-size memory, or 2 GiB), free blocks of other sizes may still add up to
  // the request: merge free neighbours into runs (runs that touch the unused middle return to
  // it), bump again, else take the first run that holds `size` (its rest stays free), and file
  // the runs under their new sizes. Slower than a free-list hit, but only reached when full.
  private coalesce(size: number): number | null {
    const free: [number, number][] = []
    for (const [bytes, list] of this.freeLists) for (const at of list) free.push([at, bytes])
    free.sort((a, b) => a[0] - b[0])
    let runs: [number, number][] = []
    for (const [at, bytes] of free) {
      const last = runs[runs.length - 1]
      if (last !== undefined && last[0] + last[1] === at) last[1] += bytes
      else runs.push([at, bytes])
    }
    runs = runs.filter(([at, bytes]) => {
      if (at + bytes === this.top) this.top = at
      else if (at === this.bottom) this.bottom += bytes
      else return true
      return false
    })
    let found = this.bump(size)
    if (found === null) {
      const i = runs.findIndex(([, bytes]) => bytes >= size)
      if (i >= 0) {
        const [at, bytes] = runs[i]!
        found = at
        if (bytes > size) runs[i] = [at + size, bytes - size]
        else runs.splice(i, 1)
      }
    }
    this.freeLists.clear()
    for (const [at, bytes] of runs) {
      const list = this.freeLists.get(bytes)
      if (list) list.push(at)
      else this.freeLists.set(bytes, [at])
    }
    return found
  }

  /** Give a block back; an offset that is not a live block is an error (a double release). */
  release(at: number): void {
    const size = this.live.get(at)
    if (size === undefined) throw new Error(`Heap.release: ${at} is not a live block (released twice?)`)
    this.live.delete(at)
    const list = this.freeLists.get(size)
    if (list) list.push(at)
    else this.freeLists.set(size, [at])
  }
}
