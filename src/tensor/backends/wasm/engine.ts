// The WASM engine: one shared WebAssembly.Memory, the assembled GEMM module, and the thread pool.
//
// Memory layout (bytes): [packing buffers, one pair per thread | call operands...]. Operand
// space is laid out per call by `reserve` and the memory only ever grows, so a steady state of
// same-shaped calls allocates nothing. `gemm` splits one (batched) product over the threads by
// a fixed rule (batch, else the longer of m/n, cut at tile multiples), so each C entry is
// computed by the same instructions in the same order whatever the timing: results are
// deterministic for a given input and thread count (and in fact for any thread count).
import { DEFAULT_TILING, gemmModuleBytes, type GemmTiling } from './kernels.js'
import { ThreadPool, type Task } from './threads.js'

const PAGE = 65536
// NOTE: 2 GiB cap (shared memories need a maximum); only touched pages cost real memory.
const MAX_PAGES = 32768

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
  /** C(i, j) at c + i*ldc + 4j; ldc must be a multiple of 4*NR and C have roundUp(m, MR) rows */
  c: number
  ldc: number
  sc: number
}

export class WasmEngine {
  readonly tiling: GemmTiling
  readonly threads: number
  /** problems below this many FLOPs (2mnk) run on the calling thread only */
  readonly parallelFlops: number
  readonly memory: WebAssembly.Memory
  private readonly module: WebAssembly.Module
  private readonly gemmFn: (...args: number[]) => void
  private pool: ThreadPool | null = null
  private readonly packBytes: number
  private f32View: Float32Array

  constructor(opts: { threads: number; parallelFlops: number; tiling?: GemmTiling }) {
    this.tiling = opts.tiling ?? DEFAULT_TILING
    this.threads = Math.max(1, Math.floor(opts.threads))
    this.parallelFlops = opts.parallelFlops
    const t = this.tiling
    this.packBytes = (t.mc * t.kc + t.kc * t.nc) * 4
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((this.packBytes * this.threads) / PAGE) + 1, maximum: MAX_PAGES, shared: true })
    this.module = new WebAssembly.Module(gemmModuleBytes(t, MAX_PAGES))
    const inst = new WebAssembly.Instance(this.module, { env: { memory: this.memory } })
    this.gemmFn = inst.exports['gemm'] as (...args: number[]) => void
    this.f32View = new Float32Array(this.memory.buffer)
  }

  get mr(): number {
    return this.tiling.mr
  }

  get nr(): number {
    return 4 * this.tiling.nv
  }

  /** A Float32Array over the whole memory (renewed after growth). */
  get f32(): Float32Array {
    if (this.f32View.buffer.byteLength !== this.memory.buffer.byteLength) this.f32View = new Float32Array(this.memory.buffer)
    return this.f32View
  }

  /** Lay out regions of the given float counts after the packing buffers; returns byte offsets (16-aligned). */
  reserve(floatCounts: number[]): number[] {
    let at = this.packBytes * this.threads
    const offsets = floatCounts.map((count) => {
      const off = at
      at += Math.ceil((count * 4) / 64) * 64
      return off
    })
    const have = this.memory.buffer.byteLength
    if (at > have) {
      const pages = Math.ceil((at - have) / PAGE)
      if (have / PAGE + pages > MAX_PAGES) throw new Error(`WasmEngine.reserve: ${at} bytes needed, above the ${MAX_PAGES * PAGE}-byte cap`)
      this.memory.grow(pages)
    }
    return offsets
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
    const lanes = flops < this.parallelFlops ? 1 : this.threads
    const tasks = this.split(g, lanes).map((p, i): Task => ({ fn: 'gemm', args: this.args(p, i) }))
    if (tasks.length === 1) {
      this.gemmFn(...tasks[0]!.args)
      return
    }
    if (!this.pool) this.pool = new ThreadPool(this.module, this.memory, this.threads - 1, ['gemm'])
    this.pool.run(tasks, (t) => this.gemmFn(...t.args))
  }

  // A fixed partition: whole batch items when there are enough, else row or column bands cut at
  // multiples of the register tile. Task i uses packing buffers i.
  private split(g: GemmCall, lanes: number): GemmCall[] {
    if (lanes === 1) return [g]
    const parts: GemmCall[] = []
    if (g.batch >= lanes) {
      const per = Math.ceil(g.batch / lanes)
      for (let b0 = 0; b0 < g.batch; b0 += per) {
        const cnt = Math.min(per, g.batch - b0)
        parts.push({ ...g, batch: cnt, a: g.a + b0 * g.sa, b: g.b + b0 * g.sb, c: g.c + b0 * g.sc })
      }
    } else if (g.n >= g.m) {
      const per = Math.ceil(g.n / lanes / this.nr) * this.nr
      for (let j0 = 0; j0 < g.n; j0 += per) {
        parts.push({ ...g, n: Math.min(per, g.n - j0), b: g.b + j0 * g.bcs, c: g.c + j0 * 4 })
      }
    } else {
      const per = Math.ceil(g.m / lanes / this.mr) * this.mr
      for (let i0 = 0; i0 < g.m; i0 += per) {
        parts.push({ ...g, m: Math.min(per, g.m - i0), a: g.a + i0 * g.ars, c: g.c + i0 * g.ldc })
      }
    }
    return parts
  }

  private args(g: GemmCall, lane: number): number[] {
    const pa = lane * this.packBytes
    const pb = pa + this.tiling.mc * this.tiling.kc * 4
    return [g.batch, g.sa, g.sb, g.sc, g.a, g.ars, g.acs, g.b, g.brs, g.bcs, g.c, g.ldc, g.m, g.n, g.k, pa, pb]
  }

  /** Terminate the workers; the engine must not be used afterwards. */
  dispose(): void {
    this.pool?.dispose()
    this.pool = null
  }
}
