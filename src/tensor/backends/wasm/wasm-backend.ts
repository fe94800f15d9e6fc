// The fast CPU backend: float32 GEMM, convolution, 2x2 max pooling, elementwise functions, sums
// and Adam in WebAssembly SIMD on all cores, behind the synchronous Backend interface. It runs
// wherever WebAssembly SIMD does: how threads start is the platform's (`threading`: Node's
// worker_threads from src/index.ts, a page's Web Workers from src/browser.ts). Tensors
// made inside tidy() live in the engine's memory (./heap.ts), where these kernels use them in
// place; host arrays are copied in and out around each call.
//
// Why hand-assembled WASM: plain JS loops top out near 1.7 GFLOP/s per core on this machine
// (scalar, bounds-checked), and a native addon would need a compiler on the user's machine.
// WebAssembly SIMD (f32x4) runs everywhere Node 20 runs. The kernels are flat WAT text in
// ./kernels.ts, ./conv-kernels.ts, ./pool-kernels.ts, ./elementwise-kernels.ts, ./sum-kernels.ts
// and ./adam-kernels.ts, turned into bytes by the ~200-line
// ./assembler.ts at startup (about a millisecond), so the source in this folder is the whole
// story: no .wasm blob, no install step. (Relaxed-SIMD FMA is not enabled in Node 20's V8 11.3,
// so the micro-kernel uses f32x4.mul + f32x4.add.)
//
// Measured on the 2-vCPU EPYC (Zen3) dev VM, single-thread SGEMM N=256..1024 (CPU time, while
// other jobs were running), by register tile MR x NR: 4x8 28-31 GFLOP/s, 2x16 26-28, 6x8 16-22,
// 4x12 19-21, 3x12 16, 8x4 10-14; 4x8 with the k loop unrolled twice 20. 4x8 = 8 f32x4
// accumulators + 2 B vectors + 1 broadcast fits x64's 16 XMM registers; bigger tiles or
// unrolling make V8's register allocator spill. Threads: see ./engine.ts and ./threads.ts.
//
// NOTE: float32 only. Float64Array inputs (gradcheck) go to the reference backend unchanged;
// pooling other than 2x2/stride 2/unpadded runs as JS loops with the reference's semantics.
import type { AdamUpdate, Backend, BackendInfo, BinaryOp, Conv2dGeometry, FloatArray, MatmulShape, Pool2dGeometry, UnaryOp } from '../backend.js'
import type { DType, TypedArray } from '../../dtype.js'
import type { BackendStats } from '../counters.js'
import type { Broadcast } from '../../shape.js'
import { HostFallbacks } from '../host-fallbacks.js'
import { adamWasm, isPlainAdam } from './adam.js'
import { conv2dForward, conv2dGradInput, conv2dGradWeight } from './conv.js'
import { binaryWasm, unaryWasm } from './elementwise.js'
import { sumWasm } from './sum.js'
import { wasmPriorPasses } from './prior.js'
import type { PriorPasses, PriorPassesInput } from '../prior-passes.js'
import { WASM_BINARY, WASM_UNARY, type WasmBinaryOp, type WasmUnaryOp } from './elementwise-kernels.js'
import { WasmEngine } from './engine.js'
import type { WasmThreading } from './threads.js'
import * as pool from './pool.js'

/** Options of {@link WasmBackend}: threads, where they come from, and the size below which a GEMM stays on one thread. @example new WasmBackend({ threads: 1 }) */
export interface WasmBackendOptions {
  /** threads including the caller; default: the platform's (Node: env PRIORGRAD_THREADS, else os.availableParallelism()) */
  threads?: number
  /**
   * GEMMs below this many FLOPs (2*batch*m*n*k) run on one thread; default 4e6. A fork/join
   * costs ~20 us here (N=32 SGEMM: 8 us on the caller alone, 29 us forked), while 4 MFLOP take
   * ~140 us on one core at 28 GFLOP/s, so splitting only pays above a few MFLOP.
   */
  parallelFlops?: number
  /** how threads start: default the one the entry registered (Node's worker_threads; in a page one thread unless given browserThreading(url)) */
  threading?: WasmThreading
  /** size in MiB of the memory where there is no SharedArrayBuffer (a plain memory cannot grow under its views); default 512 */
  fixedMiB?: number
}

// The threading used when the options name none: one thread until an entry sets the platform's
// (src/index.ts sets Node's worker_threads at import).
let platformThreading: WasmThreading = { defaultThreads: () => 1, spawn: null, why: 'no thread support registered' }

/**
 * Set how WASM backends made from now on start their threads (src/index.ts sets Node's).
 * @example setWasmThreading(browserThreading(new URL('./wasm-thread.js', location.href)))
 */
export function setWasmThreading(t: WasmThreading): void {
  platformThreading = t
}

const isF32 = (...xs: (FloatArray | null)[]): boolean => xs.every((x) => x === null || x instanceof Float32Array)

/**
 * WebAssembly SIMD backend on helper threads with a synchronous API.
 * @example registerBackend('wasm', () => new WasmBackend({ threads: 2 }))
 */
export class WasmBackend extends HostFallbacks implements Backend {
  readonly name = 'wasm'
  private engine: WasmEngine | null
  /** why the backend runs on one thread when the platform cannot give it more (null when it can) */
  private readonly threadNote: string | null

  constructor(opts: WasmBackendOptions = {}) {
    super()
    const threading = opts.threading ?? platformThreading
    const shared = typeof SharedArrayBuffer !== 'undefined'
    const asked = opts.threads ?? threading.defaultThreads()
    const usable = threading.spawn !== null && shared
    this.threadNote = usable ? null : (threading.why ?? 'no SharedArrayBuffer: one thread')
    this.engine = new WasmEngine({ threads: usable ? asked : 1, parallelFlops: opts.parallelFlops ?? 4e6, spawn: threading.spawn, shared, fixedMiB: opts.fixedMiB })
  }

  private get e(): WasmEngine {
    if (!this.engine) throw new Error('WasmBackend: used after dispose()')
    return this.engine
  }

  /**
   * The engine (memory, module, threads), for tests and the bench that look at its memory. Not
   * public API: the engine's layout may change with any release.
   * @internal
   */
  get wasmEngine(): WasmEngine {
    return this.e
  }

  // Copies are counted for host arrays only: an array in WASM memory is used in place.
  private moved(inputs: (ArrayBufferView | null)[], outputs: ArrayBufferView[]): void {
    const e = this.e
    this.counts.upload(...inputs.filter((x) => x !== null && e.addressOf(x) === null))
    this.counts.download(...outputs.filter((x) => e.addressOf(x) === null))
  }

  /**
   * Float32 and int32 tensors made inside tidy() live in WASM memory, where the kernels use them
   * in place; float64 (gradcheck) stays on the host, as its kernels are the reference loops.
   */
  override allocResident(dtype: DType, length: number, zero: boolean): TypedArray | null {
    if (dtype === 'float64') return null
    return this.e.allocResident(dtype === 'float32' ? Float32Array : Int32Array, length, zero)
  }

  override freeResident(data: TypedArray): void {
    this.e.freeResident(data as Float32Array | Int32Array)
  }

  override allocPersistent(dtype: DType, length: number): TypedArray | null {
    if (dtype === 'float64') return null
    return this.e.allocPersistent(dtype === 'float32' ? Float32Array : Int32Array, length)
  }

  override holds(data: TypedArray): boolean {
    return this.engine !== null && this.engine.addressOf(data) !== null
  }

  /** The counters, with `liveBuffers` = resident arrays not yet freed. */
  override counters(): BackendStats {
    return { ...this.counts.snapshot(), liveBuffers: this.engine?.residentBlocks ?? 0 }
  }

  info(): BackendInfo {
    const e = this.e
    const t = e.tiling
    return {
      name: this.name,
      description: `WebAssembly SIMD, ${e.threads} thread${e.threads > 1 ? 's' : ''} (float32; float64 via reference)${this.threadNote ? `; ${this.threadNote}` : ''}`,
      hardwareGpu: false,
      details: {
        threads: e.threads, parallelFlops: e.parallelFlops, tile: `${t.mr}x${4 * t.nv}`, mc: t.mc, kc: t.kc, nc: t.nc,
        memory: e.shared ? 'shared, grows' : `fixed ${e.memory.buffer.byteLength / 2 ** 20} MiB`,
        helperTasks: e.helperTasks,
        ...(this.threadNote ? { oneThreadBecause: this.threadNote } : {}),
      },
    }
  }

  // float32 functions with a SIMD kernel (./elementwise-kernels.ts); the rest (exp, log, pow,
  // int32, float64) run the reference loops on the host arrays.
  override unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
    if (!(op in WASM_UNARY && x instanceof Float32Array && out instanceof Float32Array)) return super.unary(op, x, out)
    this.counts.kernel()
    this.moved([x], [out])
    unaryWasm(this.e, op as WasmUnaryOp, x, out)
  }

  override binary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    if (!(op in WASM_BINARY && a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array)) {
      return super.binary(op, a, b, out, g)
    }
    this.counts.kernel()
    this.moved([a, b], [out])
    binaryWasm(this.e, op as WasmBinaryOp, a, b, out, g)
  }

  // float32 sums in SIMD (./sum-kernels.ts); int32 and float64 run the reference loop.
  override sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
    if (!(x instanceof Float32Array && out instanceof Float32Array)) return super.sum(x, out, outer, size, inner)
    this.counts.kernel()
    this.moved([x], [out])
    sumWasm(this.e, x, out, outer, size, inner)
  }

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, s: MatmulShape): void {
    this.counts.kernel()
    if (!isF32(a, b, out)) return this.ref.matmul(a, b, out, s)
    const { batch, m, k, n, transA, transB } = s
    if (k === 0) {
      out.fill(0, 0, batch * m * n)
      return
    }
    this.moved([a, b], [out])
    const e = this.e
    const ldc = e.ldcFloats(n)
    const mp = e.paddedRows(m)
    // unpadded C is out itself: a resident out is written in place
    const inPlace = ldc === n && mp === m
    const [as, bs, cs] = e.reserve([e.scratchFor(a, batch * m * k), e.scratchFor(b, batch * k * n), inPlace ? e.scratchFor(out, batch * m * n) : batch * mp * ldc]) as [number, number, number]
    const ap = e.input(a as Float32Array, as, batch * m * k)
    const bp = e.input(b as Float32Array, bs, batch * k * n)
    const cp = inPlace ? e.output(out, cs) : cs
    e.gemm({
      batch, m, n, k,
      a: ap, ars: transA ? 4 : k * 4, acs: transA ? m * 4 : 4, sa: m * k * 4,
      b: bp, brs: transB ? 4 : n * 4, bcs: transB ? k * 4 : 4, sb: k * n * 4,
      c: cp, ldc: ldc * 4, sc: mp * ldc * 4,
    })
    if (inPlace) return e.copyOut(out as Float32Array, cp, batch * m * n)
    const f = e.f32
    const c0 = cp / 4
    for (let t = 0; t < batch; t++) {
      for (let i = 0; i < m; i++) {
        const src = c0 + (t * mp + i) * ldc
        out.set(f.subarray(src, src + n), (t * m + i) * n)
      }
    }
  }

  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (!isF32(x, w, bias, out)) return this.ref.conv2d(x, w, bias, out, g)
    this.moved([x, w, bias], [out])
    conv2dForward(this.e, x as Float32Array, w as Float32Array, bias as Float32Array | null, out as Float32Array, g)
  }

  conv2dGradInput(gradOut: FloatArray, w: FloatArray, gradX: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (!isF32(gradOut, w, gradX)) return this.ref.conv2dGradInput(gradOut, w, gradX, g)
    this.moved([gradOut, w], [gradX])
    conv2dGradInput(this.e, gradOut as Float32Array, w as Float32Array, gradX as Float32Array, g)
  }

  conv2dGradWeight(gradOut: FloatArray, x: FloatArray, gradW: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (!isF32(gradOut, x, gradW)) return this.ref.conv2dGradWeight(gradOut, x, gradW, g)
    this.moved([gradOut, x], [gradW])
    conv2dGradWeight(this.e, gradOut as Float32Array, x as Float32Array, gradW as Float32Array, g)
  }

  maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (isF32(x, out) && pool.isPool2x2(g)) {
      this.moved([x], [out, argmax])
      return pool.maxPool2x2Wasm(this.e, x as Float32Array, out as Float32Array, argmax, g)
    }
    pool.maxPool2d(x, out, argmax, g)
  }

  maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void {
    // 2x2 / stride 2 / unpadded windows always hold a valid argmax (never -1)
    this.counts.kernel()
    if (isF32(gradOut, gradX) && pool.isPool2x2(g)) {
      this.moved([gradOut, argmax], [gradX])
      return pool.maxPoolBackwardWasm(this.e, gradOut as Float32Array, argmax, gradX as Float32Array, g)
    }
    pool.maxPool2dBackward(gradOut, argmax, gradX, g)
  }

  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    pool.avgPool2d(x, out, g)
  }

  avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    pool.avgPool2dBackward(gradOut, gradX, g)
  }

  // Plain float32 Adam in SIMD (./adam-kernels.ts); weight decay, amsgrad, maximize and float64
  // run the reference loop.
  override adamUpdate(p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamUpdate): void {
    if (!(isPlainAdam(h, vMax) && isF32(p, grad, m, v))) return super.adamUpdate(p, grad, m, v, vMax, h)
    this.counts.kernel()
    this.moved([p, grad, m, v], [p, m, v])
    adamWasm(this.e, p as Float32Array, grad as Float32Array, m as Float32Array, v as Float32Array, h)
  }

  // The dynamic prior's sampling sweeps as SIMD kernels on the threads (./prior.ts).
  override priorPasses(input: PriorPassesInput): PriorPasses {
    this.counts.kernel()
    return wasmPriorPasses(this.e, input)
  }

  dispose(): void {
    this.engine?.dispose()
    this.engine = null
  }
}
