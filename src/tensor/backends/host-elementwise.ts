// What the wasm and gpujs backends share while tensors live on the host: the elementwise
// primitives, sums and the optimizer update as the reference loops on the host arrays, each call
// counted, the counters behind `counters()`, and no memory of its own. A backend overrides the
// primitives it has its own kernels for (wasm: float32 SIMD elementwise functions, sums and Adam,
// and its WebAssembly memory for tensors) and falls back to these.
import type { AdamUpdate, BinaryOp, FloatArray, SgdUpdate, UnaryOp } from './backend.js'
import { Counters, type BackendStats } from './counters.js'
import { ReferenceBackend } from './reference.js'
import type { DType, TypedArray } from '../dtype.js'
import type { Broadcast } from '../shape.js'

/** Base of the backends whose tensors live on the host: reference elementwise loops and the counters. */
export abstract class HostElementwise {
  /** The reference kernels, for the elementwise primitives and for fallbacks (float64, limits). @internal */
  protected readonly ref = new ReferenceBackend()
  /** This backend's counters. @internal */
  protected readonly counts = new Counters()

  /** Kernel calls and copies between host arrays and this backend's memory (see counters.ts). */
  counters(): BackendStats {
    return this.counts.snapshot()
  }

  unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
    this.counts.kernel()
    this.ref.unary(op, x, out)
  }

  clamp(x: TypedArray, out: TypedArray, min: number, max: number): void {
    this.counts.kernel()
    this.ref.clamp(x, out, min, max)
  }

  binary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    this.ref.binary(op, a, b, out, g)
  }

  where(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    this.ref.where(cond, a, b, out, g)
  }

  sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
    this.counts.kernel()
    this.ref.sum(x, out, outer, size, inner)
  }

  sgdUpdate(p: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdUpdate): void {
    this.counts.kernel()
    this.ref.sgdUpdate(p, grad, buf, h)
  }

  /** Tensors stay on the host unless a backend overrides this. */
  allocResident(_dtype: DType, _length: number, _zero: boolean): TypedArray | null {
    return null
  }

  freeResident(_data: TypedArray): void {
    throw new Error('freeResident: this backend keeps tensors on the host')
  }

  allocPersistent(_dtype: DType, _length: number): TypedArray | null {
    return null
  }

  holds(_data: TypedArray): boolean {
    return false
  }

  adamUpdate(p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamUpdate): void {
    this.counts.kernel()
    this.ref.adamUpdate(p, grad, m, v, vMax, h)
  }
}
