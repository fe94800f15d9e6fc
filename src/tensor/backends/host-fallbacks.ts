// What the wasm and gpujs backends share: the reference loops for every primitive they have no
// kernel of their own for (each call counted), the counters behind `counters()`, and no memory of
// their own for tensors. A backend overrides what it has kernels for (wasm: float32 SIMD
// elementwise functions, sums and Adam, and its WebAssembly memory; gpujs: every primitive but the
// dynamic prior's sampling passes, and textures as device copies) and falls back to these otherwise.
import type { AdamUpdate, BinaryOp, FloatArray, GatherGeometry, RegionCopy, SgdUpdate, UnaryOp } from './backend.js'
import type { PriorPasses, PriorPassesInput } from './prior-passes.js'
import { Counters, type BackendStats } from './counters.js'
import { ReferenceBackend } from './reference.js'
import type { DType, TypedArray } from '../dtype.js'
import type { Broadcast } from '../shape.js'

/** Base of the wasm and gpujs backends: the reference loops as fallbacks, the counters, host memory. */
export abstract class HostFallbacks {
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

  expand(x: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    this.ref.expand(x, out, g)
  }

  copyRegion(src: TypedArray, out: TypedArray, r: RegionCopy): void {
    this.counts.kernel()
    this.ref.copyRegion(src, out, r)
  }

  where(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    this.ref.where(cond, a, b, out, g)
  }

  sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
    this.counts.kernel()
    this.ref.sum(x, out, outer, size, inner)
  }

  argReduce(which: 'max' | 'min', x: TypedArray, out: Int32Array, outer: number, size: number, inner: number): void {
    this.counts.kernel()
    this.ref.argReduce(which, x, out, outer, size, inner)
  }

  gather(x: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.counts.kernel()
    this.ref.gather(x, index, out, g)
  }

  scatterAdd(src: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.counts.kernel()
    this.ref.scatterAdd(src, index, out, g)
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

  priorPasses(input: PriorPassesInput): PriorPasses {
    return this.ref.priorPasses(input)
  }
}
