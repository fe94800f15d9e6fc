// The blocks of the engine's WebAssembly.Memory: a bump pointer and one free list per block
// size. A training step asks for the same sizes every time (activations, gradients, each
// kernel's scratch), so after the first step every request is met from a free list and the
// memory stops growing. Sizes are rounded up to one of four classes per power of two (at most
// 25% slack); blocks are never split or merged, and the memory never shrinks (WebAssembly
// memories cannot).
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

/** Blocks of a memory from `start` up to `maxBytes`, each 64-byte aligned (the memory grows as the top rises; a fixed-size one is already there). */
export class Heap {
  private top: number
  private readonly freeLists = new Map<number, number[]>()
  private readonly live = new Map<number, number>()

  constructor(
    private readonly memory: WasmMemory,
    start: number,
    private readonly maxBytes: number,
  ) {
    this.top = Math.ceil(start / ALIGN) * ALIGN
  }

  /** Blocks handed out and not yet released. */
  get liveBlocks(): number {
    return this.live.size
  }

  /** The byte offset of a block of at least `bytes`, or null when the memory cap is reached. */
  alloc(bytes: number): number | null {
    const size = blockBytes(bytes)
    let at = this.freeLists.get(size)?.pop()
    if (at === undefined) {
      if (this.top + size > this.maxBytes) return null
      at = this.top
      this.top += size
      const have = this.memory.buffer.byteLength
      if (this.top > have) this.memory.grow(Math.ceil((this.top - have) / PAGE))
    }
    this.live.set(at, size)
    return at
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
