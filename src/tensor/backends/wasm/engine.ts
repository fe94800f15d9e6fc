// The WASM engine: one WebAssembly.Memory, the assembled GEMM module, and the thread pool.
//
// Tensors that live here are typed-array views of the memory, so the memory must never move
// under them. A shared memory never does (growing it keeps old views valid), so where there is
// SharedArrayBuffer (Node, a cross-origin isolated page) the memory is shared and grows on
// demand up to 2 GiB. A plain memory detaches every view when it grows, so elsewhere (an ordinary
// page) it is made at its full size once (`fixedMiB`, 512 MiB by default; untouched pages cost no
// real memory) and never grows; threads then cannot share it, and the engine runs on one.
//
// Memory layout (bytes): [packing buffers, one pair per thread | heap blocks...]. The heap
// (./heap.ts) serves two kinds of block: a kernel call's operands (`reserve`, released at the
// next call's reserve) and the arrays of tensors that live in this memory (`allocResident`,
// released by tidy() through the backend). Blocks are reused by size, so a steady state of
// same-shaped calls allocates nothing. `gemm` cuts one (batched) product into tasks by a fixed
// rule (batch items, else bands of the longer of m/n at tile multiples); each C entry is then
// computed by the same instructions in the same order whichever thread takes its task, and the
// k blocking depends on k only: results are bit-identical run to run and for any thread count.
import { DEFAULT_TILING, blockSizes, moduleBytes, packBytes, type GemmTiling } from './kernels.js'
import { ELEMENTWISE_EXPORTS } from './elementwise-kernels.js'
import { SUM_EXPORTS } from './sum-kernels.js'
import { PRIOR_EXPORTS } from './prior-kernels.js'
import { Heap } from './heap.js'
import { ThreadPool, type SpawnThread, type Task } from './threads.js'
import { Wasm, type WasmMemory, type WasmModule } from './wasm-api.js'

const PAGE = 65536
// NOTE: 2 GiB cap (shared memories need a maximum); only touched pages cost real memory.
const MAX_PAGES = 32768
const DEFAULT_FIXED_MIB = 512
const EXPORTS = ['gemm', 'im2col', 'col2im', 'maxPool2x2', 'maxPoolBackward', 'adam', ...ELEMENTWISE_EXPORTS, ...SUM_EXPORTS, ...PRIOR_EXPORTS]

/** Operands already in WASM memory; pointers and strides in bytes. */
export interface GemmCall {
  batch: number
  m: number
  n: number
  k: number
  a: number
  ars: number
  acs: number
  /** bytes between consecutive batch matrices of A (0 = shared by all) */
  sa: number
  b: number
  brs: number
  bcs: number
  sb: number
  /** C(i, j) at c + i*ldc + 4j; the micro-kernel writes whole tiles, so C needs room for
   * roundUp(m, MR) rows of roundUp(n, NR) columns (ldc >= 4 * roundUp(n, NR)) */
  c: number
  ldc: number
  sc: number
  /** add to the existing C (e.g. prefilled with a bias) instead of overwriting it */
  accumulate?: boolean
}

export class WasmEngine {
  readonly tiling: GemmTiling
  readonly threads: number
  /** problems below this many FLOPs (2mnk) run on the calling thread only */
  readonly parallelFlops: number
  readonly memory: WasmMemory
  /** shared (grows, threads can use it) or a plain memory of fixed size */
  readonly shared: boolean
  private readonly maxPages: number
  private readonly spawn: SpawnThread | null
  private readonly module: WasmModule
  private readonly fns: Record<string, (...args: number[]) => void>
  private pool: ThreadPool | null = null
  private readonly packBytes: number
  private f32View: Float32Array
  private readonly heap: Heap
  private scratch: number[] = []
  // Every ArrayBuffer object this memory has had: growing a shared memory gives a new one, and
  // views made on an older one stay valid (shared memory is never detached; a plain one never grows).
  private readonly buffers = new WeakSet<ArrayBufferLike>()

  /**
   * `threads` > 1 needs `spawn` (how the platform starts a helper) and shared memory.
   * `shared` defaults to whether SharedArrayBuffer exists; `fixedMiB` sizes a plain memory.
   */
  constructor(opts: { threads: number; parallelFlops: number; tiling?: GemmTiling; spawn?: SpawnThread | null; shared?: boolean; fixedMiB?: number }) {
    this.tiling = opts.tiling ?? DEFAULT_TILING
    this.threads = Math.max(1, Math.floor(opts.threads))
    this.parallelFlops = opts.parallelFlops
    this.shared = opts.shared ?? typeof SharedArrayBuffer !== 'undefined'
    this.spawn = opts.spawn ?? null
    if (this.threads > 1 && (!this.shared || this.spawn === null)) {
      throw new Error(`WasmEngine: ${this.threads} threads need a shared memory and a way to start threads (shared: ${this.shared}, spawn: ${this.spawn !== null})`)
    }
    const t = this.tiling
    this.packBytes = packBytes(t)
    const minPages = Math.ceil((this.packBytes * this.threads) / PAGE) + 1
    const fixedMiB = opts.fixedMiB ?? DEFAULT_FIXED_MIB
    if (!this.shared && !(Number.isInteger(fixedMiB) && fixedMiB >= 1 && fixedMiB * 16 <= MAX_PAGES)) {
      throw new Error(`WasmEngine: fixedMiB must be an integer from 1 to ${MAX_PAGES / 16}, got ${fixedMiB}`)
    }
    this.maxPages = this.shared ? MAX_PAGES : Math.max(minPages, fixedMiB * 16)
    this.memory = new Wasm.Memory({ initial: this.shared ? minPages : this.maxPages, maximum: this.maxPages, shared: this.shared })
    this.module = new Wasm.Module(moduleBytes(t, this.maxPages, this.shared))
    const inst = new Wasm.Instance(this.module, { env: { memory: this.memory } })
    this.fns = Object.fromEntries(EXPORTS.map((n) => [n, inst.exports[n] as (...args: number[]) => void]))
    this.f32View = new Float32Array(this.memory.buffer)
    this.buffers.add(this.f32View.buffer)
    this.heap = new Heap(this.memory, this.packBytes * this.threads, this.maxPages * PAGE, !this.shared)
  }

  get mr(): number {
    return this.tiling.mr
  }

  get nr(): number {
    return 4 * this.tiling.nv
  }

  /** A Float32Array over the whole memory (renewed after growth). */
  get f32(): Float32Array {
    if (this.f32View.buffer.byteLength !== this.memory.buffer.byteLength) {
      this.f32View = new Float32Array(this.memory.buffer)
      this.buffers.add(this.f32View.buffer)
    }
    return this.f32View
  }

  /**
   * Blocks for one kernel call's operands, of the given float counts; returns byte offsets
   * (64-aligned). The previous call's blocks are released first: operands live for one call.
   */
  reserve(floatCounts: number[]): number[] {
    for (const at of this.scratch) this.heap.release(at)
    this.scratch = floatCounts.map((count) => {
      const at = this.heap.alloc(count * 4)
      if (at === null) throw new Error(`WasmEngine.reserve: ${floatCounts.map((c) => c * 4).join(' + ')} bytes of operands do not fit under the ${this.maxPages * PAGE}-byte cap${this.shared ? '' : ' of a fixed-size memory (WasmBackendOptions.fixedMiB)'}`)
      return at
    })
    return this.scratch
  }

  /**
   * A float32 or int32 array of `length` in this memory for a tensor (zero-filled when `zero`;
   * a new block is zero anyway), or null at the memory cap.
   */
  allocResident(type: typeof Float32Array | typeof Int32Array, length: number, zero = true): Float32Array | Int32Array | null {
    const at = this.heap.alloc(length * 4)
    if (at === null) return null
    const buffer = this.f32.buffer
    const view = type === Int32Array ? new Int32Array(buffer, at, length) : new Float32Array(buffer, at, length)
    if (zero) view.fill(0)
    return view
  }

  /** Give back the block of an array from allocResident. */
  freeResident(view: Float32Array | Int32Array): void {
    this.heap.release(view.byteOffset)
  }

  // Blocks of long-lived arrays (parameters, optimizer state) go back when the garbage collector
  // has collected the array object itself: nothing can read a block through a collected view.
  private readonly collected = new FinalizationRegistry<number>((at) => this.heap.release(at))

  /** A zero-filled array of `length` in this memory, freed once the array is garbage-collected; null at the cap. */
  allocPersistent(type: typeof Float32Array | typeof Int32Array, length: number): Float32Array | Int32Array | null {
    const view = this.allocResident(type, length, true)
    if (view !== null) this.collected.register(view, view.byteOffset)
    return view
  }

  /** The byte address of `x` when it is an array in this memory (a resident tensor), else null. */
  addressOf(x: ArrayBufferView): number | null {
    return this.buffers.has(x.buffer) ? x.byteOffset : null
  }

  /** Floats of scratch a kernel operand needs: none when it already lives in this memory. */
  scratchFor(x: ArrayBufferView, floats: number): number {
    return this.addressOf(x) === null ? floats : 0
  }

  /** The address a kernel reads `x` from: its own when it lives here, else `scratch` after copying x there. */
  input(x: Float32Array | Int32Array, scratch: number, length = x.length): number {
    const at = this.addressOf(x)
    if (at !== null) return at
    const dst = x instanceof Int32Array ? new Int32Array(this.f32.buffer, scratch, length) : this.f32.subarray(scratch / 4, scratch / 4 + length)
    dst.set(x.subarray(0, length))
    return scratch
  }

  /** The address a kernel writes `out` to: its own when it lives here, else `scratch`. */
  output(out: ArrayBufferView, scratch: number): number {
    return this.addressOf(out) ?? scratch
  }

  /** Copy a result written at `at` into `out`, unless it was written there in place. */
  copyOut(out: Float32Array | Int32Array, at: number, length = out.length): void {
    if (this.addressOf(out) === at) return
    const src = out instanceof Int32Array ? new Int32Array(this.f32.buffer, at, length) : this.f32.subarray(at / 4, at / 4 + length)
    out.set(src)
  }

  /** Resident arrays not yet freed. */
  get residentBlocks(): number {
    return this.heap.liveBlocks - this.scratch.length
  }

  /** Row stride (in floats) of a padded C with n columns. */
  ldcFloats(n: number): number {
    return Math.ceil(n / this.nr) * this.nr
  }

  /** Rows of a padded C with m rows. */
  paddedRows(m: number): number {
    return Math.ceil(m / this.mr) * this.mr
  }

  /** C = A B for operands already in memory, split over the threads. */
  gemm(g: GemmCall): void {
    if (g.batch === 0 || g.m === 0 || g.n === 0) return
    if (g.k === 0) throw new Error(`WasmEngine.gemm: k = 0 must be handled by the caller (m=${g.m}, n=${g.n})`)
    const flops = 2 * g.batch * g.m * g.n * g.k
    const chunks = flops < this.parallelFlops || this.threads === 1 ? 1 : 2 * this.threads
    this.run(this.split(g, chunks).map((p): Task => ({ fn: 'gemm', args: this.args(p) })))
  }

  /**
   * Run tasks (module exports) on the caller and the workers; one task runs on the caller alone.
   * `meanwhile`, if given, runs on the caller once the workers have started, before it takes
   * tasks itself: JavaScript work that touches none of the tasks' memory overlaps with them.
   */
  run(tasks: Task[], meanwhile?: () => void): void {
    if (tasks.length === 1 || this.threads === 1) {
      meanwhile?.()
      for (const t of tasks) this.fns[t.fn]!(0, ...t.args)
      return
    }
    if (!this.pool) this.pool = new ThreadPool(this.spawn!, this.module, this.memory, this.threads - 1, EXPORTS)
    this.pool.run(tasks, (lane, t) => this.fns[t.fn]!(lane, ...t.args), meanwhile)
  }

  // A fixed partition into about `chunks` tasks (two per thread, so a thread that is descheduled
  // on a busy machine is covered by the others): groups of batch items when there are enough,
  // else row or column bands cut at multiples of the register tile. Fewer chunks mean less
  // repacking: every column band packs all of A, every row band all of B.
  private split(g: GemmCall, chunks: number): GemmCall[] {
    if (chunks === 1) return [g]
    const parts: GemmCall[] = []
    if (g.batch >= chunks) {
      const per = Math.ceil(g.batch / chunks)
      for (let b0 = 0; b0 < g.batch; b0 += per) {
        const cnt = Math.min(per, g.batch - b0)
        parts.push({ ...g, batch: cnt, a: g.a + b0 * g.sa, b: g.b + b0 * g.sb, c: g.c + b0 * g.sc })
      }
    } else if (g.n >= g.m) {
      const per = Math.ceil(g.n / chunks / this.nr) * this.nr
      for (let j0 = 0; j0 < g.n; j0 += per) {
        parts.push({ ...g, n: Math.min(per, g.n - j0), b: g.b + j0 * g.bcs, c: g.c + j0 * 4 })
      }
    } else {
      const per = Math.ceil(g.m / chunks / this.mr) * this.mr
      for (let i0 = 0; i0 < g.m; i0 += per) {
        parts.push({ ...g, m: Math.min(per, g.m - i0), a: g.a + i0 * g.ars, c: g.c + i0 * g.ldc })
      }
    }
    return parts
  }

  private args(g: GemmCall): number[] {
    const { mb, kb, nb } = blockSizes(this.tiling, g.m, g.k, g.n)
    return [g.batch, g.sa, g.sb, g.sc, g.a, g.ars, g.acs, g.b, g.brs, g.bcs, g.c, g.ldc, g.m, g.n, g.k, mb, kb, nb, g.accumulate ? 1 : 0]
  }

  /** Tasks the helper threads have run (0 until one has started: a helper slow to start leaves its share to the caller). */
  get helperTasks(): number {
    return this.pool?.helperTasks ?? 0
  }

  /** Terminate the workers; the engine must not be used afterwards. */
  dispose(): void {
    this.pool?.dispose()
    this.pool = null
  }
}
