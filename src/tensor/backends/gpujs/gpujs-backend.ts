// The gpujs backend: every primitive of a training step as a GPU.js kernel (elementwise
// functions, sums, matmul, convolution, pooling, gather, the optimizers' updates), behind the
// same Backend interface as the reference loops. Tensors stay on the device between kernels:
// each kernel's output is kept as a texture (`pipeline: true`) attached to the output array as
// its device copy (../../device-copy.ts), and the next kernel reads that texture; a host array
// is uploaded only when it has no device copy (a batch from the data loader), and values come
// back only when the host reads them (`loss.item()`). A texture is freed when its array goes
// back (tidy(), dispose()), when a kernel writes the array anew, or when the garbage collector
// frees the array (a FinalizationRegistry).
// One kernel is compiled per (op, shape) and cached in this backend (never on tensors). It is
// float32 only: Float64Array arguments run on the reference kernels on the host (never
// downcast), and so do shapes past the device's limits (with a one-time warning naming kernel
// and limit) when even one batch item is too large; otherwise a large call runs in batch slices
// on host arrays.
import { GPU } from 'gpu.js'
import type {
  AdamUpdate, Backend, BackendInfo, BinaryOp, Conv2dGeometry, FloatArray, GatherGeometry, MatmulShape, Pool2dGeometry, RegionCopy, SgdUpdate, UnaryOp,
} from '../backend.js'
import { HostFallbacks } from '../host-fallbacks.js'
import type { BackendStats } from '../counters.js'
import type { PriorPasses, PriorPassesInput } from '../prior-passes.js'
import { registeredBackend } from '../registry.js'
import { checkGatherIndex } from '../reference.js'
import type { DType, TypedArray } from '../../dtype.js'
import type { Broadcast } from '../../shape.js'
import { attachDeviceCopy, attachUpload, deviceCopyOf, dropDeviceCopy, syncHost, type DeviceCopy } from '../../device-copy.js'
import {
  avgPool2dBackwardSpec, avgPool2dSpec, conv2dGradInputSpec, conv2dGradWeightSpec, conv2dSpec,
  matmulSpec, maxPool2dBackwardSpec, maxPool2dSpec, maxPool2dValuesSpec, type KernelSpec,
} from './kernels.js'
import {
  argReduceSpec, binarySpec, clampSpec, copyRegionSpec, expandSpec, gatherSpec, scatterAddSpec, sumSpec, unarySpec, whereSpec, type Operand,
} from './elementwise-kernels.js'
import { adamMaxSpec, adamMomentSpec, adamParamSpec, sgdBufferSpec, sgdParamSpec, type GradTerm } from './optimizer-kernels.js'
import {
  classifyGlRenderer, gpuConstructorMode, isGlMode, modeFromEnv, modeOfKernelClass,
  type GpujsMode, type GpujsRunMode, type RendererInfo,
} from './modes.js'

/** Options of GpujsBackend. */
export interface GpujsBackendOptions {
  /** GPU.js mode; default PRIORGRAD_GPUJS_MODE, else 'auto' (GL when a context exists, else WebAssembly). */
  mode?: GpujsMode
  /** Registry name; default 'gpujs'. */
  name?: string
  /** Largest array (elements) a kernel may read or write; lower than the device's limit to test the fallback. */
  maxElements?: number
}

/** Counters the tests use to check the kernel cache and the fallbacks. */
export interface GpujsStats {
  /** kernels compiled (one per distinct op and shape) */
  compiles: number
  /** kernel runs on GPU.js */
  runs: number
  /** calls that ran on the reference kernels, by reason ('float64', 'limit', 'nan') */
  referenceRuns: Record<string, number>
  /** calls too large for one kernel run that ran in batch slices */
  slicedCalls: number
}

// A kernel's output kept on the device: a GL texture, or (webasm, cpu) the array GPU.js made.
interface Texture {
  toArray(): Float32Array
  delete(): void
}
type DeviceValue = Texture | Float32Array
// What a kernel takes: a device value, a host array (uploaded by GPU.js), or a number.
type KernelArg = DeviceValue | number

// The run shortcut GPU.js returns: callable, with the kernel that really runs on `.kernel`.
type KernelRun = ((...args: KernelArg[]) => DeviceValue) & {
  kernel: { constructor: unknown; context?: unknown; precision?: string }
}

const isTexture = (v: DeviceValue): v is Texture => !ArrayBuffer.isView(v)

/** One array's values on this backend's device (see device-copy.ts). */
class GpujsCopy implements DeviceCopy {
  hostStale = true
  private freed = false
  constructor(readonly backend: string, readonly value: DeviceValue, private readonly owner: GpujsBackend) {}

  download(host: TypedArray): void {
    this.owner.readInto(this.value, host)
  }

  free(): void {
    if (this.freed) return
    this.freed = true
    this.owner.release(this)
  }

  rehome(host: TypedArray): void {
    this.owner.rehome(this, host)
  }

  /** Whether `backend` made this copy (two instances may share a name). */
  madeBy(backend: GpujsBackend): boolean {
    return this.owner === backend
  }
}

// NOTE: on GL the thread index and every flat array index are float32 in the shader, exact
// only below 2^24; larger arrays go to the reference kernels instead of reading wrong texels.
const GL_INDEX_LIMIT = 2 ** 24
// WebAssembly memory is 32-bit; keep every array of one call well inside it.
const WASM_ELEMENT_LIMIT = 2 ** 28

/**
 * GPU.js kernels for every primitive of a training step, their outputs kept on the device (device-copy.ts); the modes are in docs/backends.md.
 * @example const b = new GpujsBackend({ mode: 'webasm' }); b.matmul(a, b2, out, shape); b.dispose()
 */
export class GpujsBackend extends HostFallbacks implements Backend {
  readonly name: string
  readonly requestedMode: GpujsMode
  /** the mode GPU.js really chose (from its kernel class) */
  readonly mode: GpujsRunMode
  private gpu: GPU | null
  private readonly kernels = new Map<string, KernelRun>()
  private readonly warned = new Set<string>()
  private readonly kernelFallbacks: string[] = []
  private readonly renderer: RendererInfo | null
  private readonly maxTextureSize: number | null
  private readonly stats_: GpujsStats = { compiles: 0, runs: 0, referenceRuns: {}, slicedCalls: 0 }
  // arrays this backend gave out (tidy() blocks, Module.to() weights): an upload of one is kept as its device copy
  private readonly owned = new WeakSet<TypedArray>()
  private liveCopies = 0
  // the safety net: a device copy whose array the garbage collector took is freed
  private readonly finalizer = new FinalizationRegistry<GpujsCopy>((copy) => copy.free())
  private destroyed: Promise<void> | null = null
  private readonly maxElements: number

  constructor(options: GpujsBackendOptions = {}) {
    super()
    this.name = options.name ?? 'gpujs'
    this.requestedMode = options.mode ?? modeFromEnv()
    this.maxElements = options.maxElements ?? Infinity
    if (this.requestedMode === 'webgpu') {
      throw new Error(`gpujs backend: GPU.js webgpu kernels always return Promises (readback is mapAsync), ` +
        `but Backend kernels are synchronous; use 'webgl2' in a browser or 'headlessgl' in Node`)
    }
    try {
      this.gpu = new GPU({ mode: gpuConstructorMode(this.requestedMode) as 'gpu' })
    } catch (e) {
      throw new Error(`gpujs backend: GPU.js mode '${this.requestedMode}' is not available here (${(e as Error).message}); ` +
        `headlessgl needs the gl package (scripts/setup-gl.sh) and an X display (xvfb-run -a)`)
    }
    // A probe kernel makes GPU.js create its context now, so info() is true from the start.
    const probe = this.gpu.createKernel('function (a) { return a[this.thread.x] * 2.0; }', {
      output: [4], precision: 'single', tactic: 'precision',
    }) as unknown as KernelRun
    const got = probe(new Float32Array([1, 2, 3, 4])) as Float32Array
    const problem = typeof (got as unknown as { then?: unknown }).then === 'function'
      ? `GPU.js mode '${this.requestedMode}' runs kernels asynchronously; Backend kernels are synchronous`
      : got[3] !== 8 ? `probe kernel returned [${Array.from(got)}], expected [2,4,6,8]` : null
    if (problem !== null) {
      void this.gpu.destroy().catch(() => undefined)
      throw new Error(`gpujs backend: ${problem}`)
    }
    this.mode = modeOfKernelClass(probe.kernel.constructor)
    const features = (this.gpu.Kernel as unknown as { features?: { maxTextureSize?: number } }).features
    this.maxTextureSize = isGlMode(this.mode) ? features?.maxTextureSize ?? null : null
    this.renderer = isGlMode(this.mode) ? classifyGlRenderer(probe.kernel.context ?? this.gpu.context) : null
  }

  info(): BackendInfo {
    const hardwareGpu = this.renderer?.hardwareGpu ?? false
    const why = this.renderer?.reason ?? `${this.mode} runs on the CPU`
    const chosen = this.requestedMode === 'auto'
      ? `GPU.js auto mode picked ${this.mode} (order: headlessgl, webgl2, webgl, webasm)`
      : `mode '${this.requestedMode}' requested (option or PRIORGRAD_GPUJS_MODE)`
    return {
      name: this.name,
      description: `GPU.js ${this.mode}${this.renderer ? ` on ${this.renderer.renderer}` : ''}` +
        (this.mode === 'cpu' ? ', float32 arrays, float64 accumulation (JS numbers)' : ', float32'),
      hardwareGpu,
      details: {
        gpujsMode: this.mode,
        requestedMode: this.requestedMode,
        reason: `${chosen}; hardwareGpu=${hardwareGpu}: ${why}`,
        renderer: this.renderer?.renderer ?? null,
        maxTextureSize: this.maxTextureSize,
        compiledKernels: this.kernels.size,
        kernelFallbacks: [...this.kernelFallbacks],
        float64: 'runs on the reference kernels',
      },
    }
  }

  /** Compile and run counters (a copy). @example backend.stats().compiles */
  stats(): GpujsStats {
    return { ...this.stats_, referenceRuns: { ...this.stats_.referenceRuns } }
  }

  /** The counters, with `liveBuffers` = device copies (textures) not yet freed. */
  override counters(): BackendStats {
    return { ...this.counts.snapshot(), liveBuffers: this.liveCopies }
  }

  // ---- elementwise functions, reductions, gather ------------------------------------

  override unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
    this.counts.kernel()
    const kinds = this.kinds([x])
    this.elementwise(unarySpec(op, out.length, kinds[0]!), [x], kinds, [], out, () => this.ref.unary(op, x, out))
  }

  override clamp(x: TypedArray, out: TypedArray, min: number, max: number): void {
    this.counts.kernel()
    this.elementwise(clampSpec(out.length), [x], ['array'], [min, max], out, () => this.ref.clamp(x, out, min, max))
  }

  override binary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    const kinds = this.kinds([a, b]) as [Operand, Operand]
    this.elementwise(binarySpec(op, g, kinds), [a, b], kinds, [NaN, Infinity], out, () => this.ref.binary(op, a, b, out, g))
  }

  override expand(x: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    this.elementwise(expandSpec(g), [x], ['array'], [], out, () => this.ref.expand(x, out, g))
  }

  override copyRegion(src: TypedArray, out: TypedArray, r: RegionCopy): void {
    this.counts.kernel()
    const keep = r.fill === null
    // with fill null the kernel reads the old output (its device copy, or an upload of it)
    const inputs = keep ? [src, out] : [src]
    this.elementwise(copyRegionSpec(r, keep), inputs, inputs.map(() => 'array'), keep ? [] : [r.fill!], out, () => this.ref.copyRegion(src, out, r))
  }

  override where(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.counts.kernel()
    const kinds = this.kinds([cond, a, b]) as [Operand, Operand, Operand]
    this.elementwise(whereSpec(g, kinds), [cond, a, b], kinds, [], out, () => this.ref.where(cond, a, b, out, g))
  }

  override sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
    this.counts.kernel()
    this.elementwise(sumSpec(outer, size, inner), [x], ['array'], [], out, () => this.ref.sum(x, out, outer, size, inner))
  }

  override argReduce(which: 'max' | 'min', x: TypedArray, out: Int32Array, outer: number, size: number, inner: number): void {
    this.counts.kernel()
    this.elementwise(argReduceSpec(which, outer, size, inner), [x], ['array'], [], out, () => this.ref.argReduce(which, x, out, outer, size, inner))
  }

  override gather(x: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.counts.kernel()
    // An index on the host is checked there (an error naming the op); one a kernel made is
    // not read back for it (an entry outside the dim gathers NaN, see elementwise-kernels.ts).
    if (deviceCopyOf(index) === undefined) checkGatherIndex(g, index)
    this.elementwise(gatherSpec(g), [x, index], ['array', 'array'], [NaN], out, () => this.ref.gather(x, index, out, g))
  }

  override scatterAdd(src: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.counts.kernel()
    if (deviceCopyOf(index) === undefined) checkGatherIndex(g, index)
    this.elementwise(scatterAddSpec(g), [src, index], ['array', 'array'], [], out, () => this.ref.scatterAdd(src, index, out, g))
  }

  // ---- the optimizers' updates -------------------------------------------------------

  override adamUpdate(p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamUpdate): void {
    this.counts.kernel()
    const arrays = vMax ? [p, grad, m, v, vMax] : [p, grad, m, v]
    const n = p.length
    if (this.useReference(arrays) || this.limitWarned('adam', arrays.map((a) => a.length))) {
      return this.onHost(arrays, vMax ? [p, m, v, vMax] : [p, m, v], () => this.ref.adamUpdate(p, grad, m, v, vMax, h))
    }
    const term: GradTerm = { maximize: h.maximize, l2: h.weightDecay !== 0 && !h.decoupled }
    const [pIn, gIn] = [this.operand(p, 'adam'), this.operand(grad, 'adam')]
    const m2 = this.execute(adamMomentSpec('first', n, term), [this.operand(m, 'adam'), gIn, pIn, h.beta1, 1 - h.beta1, h.weightDecay])
    const v2 = this.execute(adamMomentSpec('second', n, term), [this.operand(v, 'adam'), gIn, pIn, h.beta2, 1 - h.beta2, h.weightDecay])
    let second = v2
    if (vMax) {
      second = this.execute(adamMaxSpec(n), [this.operand(vMax, 'adam'), v2])
      this.attach(vMax, second)
    }
    const p2 = this.execute(adamParamSpec(n, h.decoupled && h.weightDecay !== 0), [pIn, m2, second, h.stepSize, h.bc2Sqrt, h.eps, h.decay])
    // the old textures are freed as the new ones replace them, after every kernel that read them ran
    this.attach(m, m2)
    this.attach(v, v2)
    this.attach(p, p2)
  }

  override sgdUpdate(p: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdUpdate): void {
    this.counts.kernel()
    const arrays = buf ? [p, grad, buf] : [p, grad]
    const n = p.length
    if (this.useReference(arrays) || this.limitWarned('sgd', arrays.map((a) => a.length))) {
      return this.onHost(arrays, buf ? [p, buf] : [p], () => this.ref.sgdUpdate(p, grad, buf, h))
    }
    const term: GradTerm = { maximize: h.maximize, l2: h.weightDecay !== 0 }
    const [pIn, gIn] = [this.operand(p, 'sgd'), this.operand(grad, 'sgd')]
    let bufNew: DeviceValue | null = null
    if (buf) {
      const args = [h.first ? gIn : this.operand(buf, 'sgd'), gIn, pIn, h.momentum, 1 - h.dampening, h.weightDecay]
      bufNew = this.execute(sgdBufferSpec(n, term, h.first), args)
    }
    const direction = buf === null ? 'gradient' : h.nesterov ? 'nesterov' : 'buffer'
    const p2 = this.execute(sgdParamSpec(n, term, direction), [pIn, gIn, bufNew ?? gIn, h.lr, h.momentum, h.weightDecay])
    if (buf) this.attach(buf, bufNew!)
    this.attach(p, p2)
  }

  // ---- matmul, convolution, pooling ---------------------------------------------------

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, s: MatmulShape): void {
    this.counts.kernel()
    if (this.useReference([a, b, out])) return this.onHost([a, b], [out], () => this.ref.matmul(a, b, out, s))
    const { m, k, n } = s
    this.batched(s.batch, (start, batch) => ({
      spec: matmulSpec({ ...s, batch }),
      args: [slice(a, start, batch, m * k), slice(b, start, batch, k * n)],
      out: slice(out, start, batch, m * n),
    }), [a, b], out, () => this.ref.matmul(a, b, out, s))
  }

  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    const inputs = bias ? [x, w, bias] : [x, w]
    if (this.useReference([...inputs, out])) return this.onHost(inputs, [out], () => this.ref.conv2d(x, w, bias, out, g))
    const { inImg, outImg } = itemSizes(g)
    this.batched(g.batch, (start, batch) => ({
      spec: conv2dSpec({ ...g, batch }, bias !== null),
      args: [slice(x, start, batch, inImg), w, ...(bias ? [bias] : [])],
      out: slice(out, start, batch, outImg),
    }), inputs, out, () => this.ref.conv2d(x, w, bias, out, g))
  }

  conv2dGradInput(gradOut: FloatArray, w: FloatArray, gradX: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, w, gradX])) return this.onHost([gradOut, w], [gradX], () => this.ref.conv2dGradInput(gradOut, w, gradX, g))
    const { inImg, outImg } = itemSizes(g)
    this.batched(g.batch, (start, batch) => ({
      spec: conv2dGradInputSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), w],
      out: slice(gradX, start, batch, inImg),
    }), [gradOut, w], gradX, () => this.ref.conv2dGradInput(gradOut, w, gradX, g))
  }

  conv2dGradWeight(gradOut: FloatArray, x: FloatArray, gradW: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, x, gradW])) return this.onHost([gradOut, x], [gradW], () => this.ref.conv2dGradWeight(gradOut, x, gradW, g))
    // The weight gradient sums over the batch: slices (host arrays) add their partial sums into gradW.
    const { inImg, outImg } = itemSizes(g)
    const partial = new Float32Array(gradW.length)
    let first = true
    this.batched(g.batch, (start, batch) => ({
      spec: conv2dGradWeightSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), slice(x, start, batch, inImg)],
      out: batch === g.batch ? gradW : partial,
      after: () => {
        if (first) gradW.set(partial)
        else for (let i = 0; i < gradW.length; i++) gradW[i]! += partial[i]!
        first = false
      },
    }), [gradOut, x], gradW, () => this.ref.conv2dGradWeight(gradOut, x, gradW, g))
  }

  maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
    this.counts.kernel()
    // NOTE: a NaN must win its window (as in the reference); GL compilers may fold `v != v`
    // away, so host inputs holding NaN go to the reference kernel, which is exact about it.
    // An input already on the device is not read back to look (a NaN there may lose its
    // window; the trainer's check of the loss still stops on the NaN that caused it).
    if (this.useReference([x, out]) || (deviceCopyOf(x) === undefined && this.hasNaN(x))) {
      return this.onHost([x], [out, argmax], () => this.ref.maxPool2d(x, out, argmax, g))
    }
    const { inImg, outImg } = itemSizes(g)
    const where = this.batched(g.batch, (start, batch) => ({
      spec: maxPool2dSpec({ ...g, batch }), args: [slice(x, start, batch, inImg)], out: slice(argmax, start, batch, outImg),
    }), [x], argmax, () => this.ref.maxPool2d(x, out, argmax, g))
    if (where === 'reference') return
    if (where === 'device') {
      this.attach(out, this.execute(maxPool2dValuesSpec(g), [this.operand(x, 'maxPool2d'), this.operand(argmax, 'maxPool2d'), -Infinity]))
      return
    }
    // sliced on the host: gather the values there
    const plane = g.outHeight * g.outWidth
    const inPlane = g.inHeight * g.inWidth
    dropDeviceCopy(out)
    for (let o = 0; o < out.length; o++) {
      const k = argmax[o]!
      out[o] = k < 0 ? -Infinity : x[Math.floor(o / plane) * inPlane + k]!
    }
  }

  maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, gradX])) return this.onHost([gradOut, argmax], [gradX], () => this.ref.maxPool2dBackward(gradOut, argmax, gradX, g))
    const { inImg, outImg } = itemSizes(g)
    this.batched(g.batch, (start, batch) => ({
      spec: maxPool2dBackwardSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), slice(argmax, start, batch, outImg)],
      out: slice(gradX, start, batch, inImg),
    }), [gradOut, argmax], gradX, () => this.ref.maxPool2dBackward(gradOut, argmax, gradX, g))
  }

  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([x, out])) return this.onHost([x], [out], () => this.ref.avgPool2d(x, out, g))
    const { inImg, outImg } = itemSizes(g)
    this.batched(g.batch, (start, batch) => ({
      spec: avgPool2dSpec({ ...g, batch }), args: [slice(x, start, batch, inImg)], out: slice(out, start, batch, outImg),
    }), [x], out, () => this.ref.avgPool2d(x, out, g))
  }

  avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, gradX])) return this.onHost([gradOut], [gradX], () => this.ref.avgPool2dBackward(gradOut, gradX, g))
    const { inImg, outImg } = itemSizes(g)
    this.batched(g.batch, (start, batch) => ({
      spec: avgPool2dBackwardSpec({ ...g, batch }), args: [slice(gradOut, start, batch, outImg)], out: slice(gradX, start, batch, inImg),
    }), [gradOut], gradX, () => this.ref.avgPool2dBackward(gradOut, gradX, g))
  }

  // The dynamic prior's sampling has no GPU.js kernels yet: it runs on the registered wasm
  // backend where there is one (the same bits as the reference passes, and far faster), else on
  // the reference passes. Its inputs are host arrays (the regularizer reads the weights with .data).
  override priorPasses(input: PriorPassesInput): PriorPasses {
    return (registeredBackend('wasm') ?? this.ref).priorPasses(input)
  }

  // ---- memory: arrays whose values live in textures -----------------------------------

  /** A host array whose values will live on the device (its first use uploads it once); float64 stays on the host. */
  override allocResident(dtype: DType, length: number, _zero: boolean): TypedArray | null {
    if (dtype === 'float64') return null
    const data = dtype === 'float32' ? new Float32Array(length) : new Int32Array(length)
    this.owned.add(data)
    return data
  }

  /** Frees the array's texture now (tidy() ending, dispose()). */
  override freeResident(data: TypedArray): void {
    this.owned.delete(data)
    dropDeviceCopy(data)
  }

  /** As allocResident, for weights (Module.to()) and optimizer state; the texture is freed with the array. */
  override allocPersistent(dtype: DType, length: number): TypedArray | null {
    return this.allocResident(dtype, length, true)
  }

  override holds(data: TypedArray): boolean {
    return this.owned.has(data)
  }

  /** Copy a device value into a host array (a download; GL reads back RGBA texels). @internal */
  readInto(value: DeviceValue, host: TypedArray): void {
    const values = isTexture(value) ? value.toArray() : value
    host.set(values.length === host.length ? values : values.subarray(0, host.length))
    if (this.mode !== 'cpu') this.counts.download(host)
  }

  /** Free a device copy's texture (GpujsCopy.free). @internal */
  release(copy: GpujsCopy): void {
    this.finalizer.unregister(copy)
    this.liveCopies--
    if (isTexture(copy.value) && this.gpu) copy.value.delete()
  }

  /** A device copy moved to another host array (tidy() keeping a tensor): the safety net follows it. @internal */
  rehome(copy: GpujsCopy, host: TypedArray): void {
    this.finalizer.unregister(copy)
    this.finalizer.register(host, copy, copy)
  }

  /** Destroys every kernel, texture and the GPU.js instance (GL context, worker pool). */
  dispose(): void {
    void this.disposeAsync()
  }

  /** dispose(), awaitable: GPU.js tears its context down on the next tick. @example await backend.disposeAsync() */
  disposeAsync(): Promise<void> {
    if (!this.destroyed) {
      const gpu = this.gpu
      this.gpu = null
      this.kernels.clear()
      // gpu.destroy() destroys every kernel it made and then the shared context; destroying the
      // kernels one by one first would leave it no kernel to find the context through.
      this.destroyed = gpu ? gpu.destroy().catch(() => undefined) : Promise.resolve()
    }
    return this.destroyed
  }

  // ---- running kernels ----------------------------------------------------------------

  // How an elementwise kernel reads each input: a one-element host array as a number (a lifted
  // scalar, the gradient seed), anything else as an array.
  private kinds(inputs: TypedArray[]): Operand[] {
    return inputs.map((a) => (a.length === 1 && deviceCopyOf(a) === undefined ? 'scalar' : 'array'))
  }

  // Runs one elementwise-style kernel on the device and attaches its output to `out`; float64 and
  // arrays past the device's limits run `fallback` (the reference) on host arrays instead.
  private elementwise(spec: KernelSpec, inputs: TypedArray[], kinds: Operand[], extra: number[], out: TypedArray, fallback: () => void): void {
    if (this.useReference([...inputs, out]) || this.limitWarned(spec.op, [spec.outputLength, ...inputs.map((a) => a.length)])) {
      return this.onHost(inputs, [out], fallback)
    }
    if (out.length === 0) return
    const args = inputs.map((a, i) => (kinds[i] === 'scalar' ? a[0]! : this.operand(a, spec.op)))
    this.attach(out, this.execute(spec, [...args, ...extra]))
  }

  // What a kernel reads for `a`: its device copy, else the array uploaded once, the upload kept
  // as its device copy (so a batch used by forward and backward moves once). That is safe because
  // host code writes a tensor's array only through Tensor.data, which drops the device copy.
  private operand(a: TypedArray, op: string): KernelArg {
    if (!this.gpu) throw new Error(`gpujs backend: ${op} called after dispose()`)
    const copy = deviceCopyOf(a)
    if (copy !== undefined) {
      if (!(copy instanceof GpujsCopy) || !copy.madeBy(this)) {
        throw new Error(`${op}: an array on backend '${copy.backend}' (another instance) was given to backend '${this.name}'; read it to the host first`)
      }
      return copy.value
    }
    const host = a instanceof Float32Array ? a : Float32Array.from(a)
    if (this.mode !== 'cpu') this.counts.upload(a)
    const value = this.execute(unarySpec('copy', a.length, 'array'), [host])
    attachUpload(a, this.track(a, value))
    return value
  }

  // The host arrays hold the current values of `inputs` and `outputs`, `run` writes the outputs
  // there, and their device copies, now old, are dropped.
  private onHost(inputs: TypedArray[], outputs: TypedArray[], run: () => void): void {
    for (const a of [...inputs, ...outputs]) syncHost(a, false)
    run()
    for (const o of outputs) dropDeviceCopy(o)
  }

  // Keeps `value` as the device copy of `out` (freeing the one it replaces).
  private attach(out: TypedArray, value: DeviceValue): void {
    attachDeviceCopy(out, this.track(out, value))
  }

  // A device copy of `host` holding `value`, counted live and freed with `host` at the latest.
  private track(host: TypedArray, value: DeviceValue): GpujsCopy {
    const copy = new GpujsCopy(this.name, value, this)
    this.liveCopies++
    this.finalizer.register(host, copy, copy)
    return copy
  }

  private useReference(arrays: TypedArray[]): boolean {
    if (!arrays.some((a) => a instanceof Float64Array)) return false
    this.count('float64')
    return true
  }

  private hasNaN(x: FloatArray): boolean {
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]!)) {
        this.count('nan')
        return true
      }
    }
    return false
  }

  private count(reason: string): void {
    this.stats_.referenceRuns[reason] = (this.stats_.referenceRuns[reason] ?? 0) + 1
  }

  // limitExceeded, with the one-time warning naming `op` and the count of a reference run.
  private limitWarned(op: string, lengths: number[]): boolean {
    const limit = this.limitExceeded(lengths)
    if (limit === null) return false
    const key = `${op}:limit`
    if (!this.warned.has(key)) {
      this.warned.add(key)
      console.warn(`gpujs backend: ${op} on GPU.js ${this.mode}: ${limit}; running it on the reference kernel`)
    }
    this.count('limit')
    return true
  }

  // The first array of one call (its output and inputs) too large for this mode, as a message
  // naming the limit, or null.
  private limitExceeded(lengths: number[]): string | null {
    const largest = Math.max(...lengths)
    if (largest > this.maxElements) return `an array of ${largest} elements exceeds maxElements ${this.maxElements}`
    if (isGlMode(this.mode)) {
      const texels = this.maxTextureSize ? this.maxTextureSize ** 2 : Infinity
      const limit = Math.min(texels, GL_INDEX_LIMIT)
      if (largest > limit) {
        const name = limit === GL_INDEX_LIMIT ? '2^24 float32-exact indices' : `MAX_TEXTURE_SIZE ${this.maxTextureSize}^2 texels`
        return `an array of ${largest} elements exceeds ${name}`
      }
    } else if (this.mode === 'webasm') {
      const total = lengths.reduce((s, n) => s + n, 0)
      if (total > WASM_ELEMENT_LIMIT) return `${total} elements exceed the WebAssembly limit of 2^28 per call`
    }
    return null
  }

  // Runs a call whose data is `batch` independent items laid out back to back (NCHW images,
  // batched matrices). When it fits the device's limits it runs once, on device copies, and its
  // output stays on the device ('device'). When it does not but fewer items fit, it runs in
  // slices of as many items as fit, on host arrays (subarrays, no copies), each slice read back
  // into `out` ('host'): the tiling of large outputs. Only when a single item is too large does
  // it run `fallback` (the reference kernel, 'reference').
  private batched(batch: number, sliceOf: (start: number, count: number) => Slice, inputs: TypedArray[], out: TypedArray, fallback: () => void): 'device' | 'host' | 'reference' {
    const fits = (count: number): boolean => {
      const sl = sliceOf(0, count)
      return this.limitExceeded([sl.spec.outputLength, ...sl.args.map((a) => a.length)]) === null
    }
    if (fits(batch)) {
      const whole = sliceOf(0, batch)
      if (whole.spec.outputLength > 0) this.attach(out, this.execute(whole.spec, whole.args.map((a) => this.operand(a, whole.spec.op))))
      return 'device'
    }
    let count = batch
    while (count > 1 && !fits(count)) count = Math.ceil(count / 2)
    if (!fits(count)) {
      const sl = sliceOf(0, count)
      this.limitWarned(sl.spec.op, [sl.spec.outputLength, ...sl.args.map((a) => a.length)])
      this.onHost(inputs, [out], fallback)
      return 'reference'
    }
    this.stats_.slicedCalls++
    for (const a of [...inputs, out]) syncHost(a, false)
    dropDeviceCopy(out)
    for (let start = 0; start < batch; start += count) {
      const sl = sliceOf(start, Math.min(count, batch - start))
      if (this.mode !== 'cpu') this.counts.upload(...sl.args)
      const result = this.execute(sl.spec, sl.args.map((a) => (a instanceof Float32Array ? a : Float32Array.from(a))))
      this.readInto(result, sl.out)
      if (isTexture(result)) result.delete()
      sl.after?.()
    }
    return 'host'
  }

  // Runs `spec` on GPU.js; the output stays on the device (a texture, or GPU.js's array).
  private execute(spec: KernelSpec, args: KernelArg[]): DeviceValue {
    if (!this.gpu) throw new Error(`gpujs backend: ${spec.op} called after dispose()`)
    let kernel = this.kernels.get(spec.key)
    const fresh = kernel === undefined
    if (!kernel) {
      kernel = this.gpu.createKernel(spec.source, {
        output: spec.output,
        constants: spec.constants,
        loopMaxIterations: spec.loopMaxIterations,
        precision: 'single',
        tactic: 'precision',
        // NOTE: immutable: each call makes a new texture, so an output kept as a tensor's device
        // copy is never overwritten by the kernel's next call (and deleting one, on headless-gl,
        // does not corrupt the kernel's later results, as it does for mutable pipeline kernels).
        pipeline: true,
        immutable: true,
      } as never) as unknown as KernelRun
      this.kernels.set(spec.key, kernel)
      this.stats_.compiles++
    }
    const result = kernel(...args)
    this.stats_.runs++
    if (fresh) this.checkKernelClass(spec, kernel)
    return result
  }

  // GPU.js replaces a kernel that fails to compile by its CPU kernel, with only a console
  // warning; record it (and any precision other than 'single') so info() tells the truth.
  private checkKernelClass(spec: KernelSpec, kernel: KernelRun): void {
    const ran = modeOfKernelClass(kernel.kernel.constructor)
    if (ran !== this.mode) this.kernelFallbacks.push(`${spec.op} runs on ${ran}, not ${this.mode}`)
    // NOTE: a GL device without float textures would quantize through 8-bit 'unsigned' packing.
    const precision = kernel.kernel.precision
    if (isGlMode(ran) && precision !== 'single') this.kernelFallbacks.push(`${spec.op} runs at precision '${precision}', not 'single'`)
  }
}

/** One slice of a batched call: its kernel, inputs, output, and what to do with the output after (host slices only). */
interface Slice {
  spec: KernelSpec
  args: TypedArray[]
  out: TypedArray
  after?: () => void
}

/** Items start..start+count of an array holding items of `itemLength` elements back to back. */
function slice<T extends TypedArray>(a: T, start: number, count: number, itemLength: number): T {
  return a.length === count * itemLength && start === 0 ? a : (a.subarray(start * itemLength, (start + count) * itemLength) as T)
}

/** Elements of one batch item (an image with all its channels) in the input and the output. */
function itemSizes(g: Conv2dGeometry | Pool2dGeometry): { inImg: number; outImg: number } {
  const [cin, cout] = 'channels' in g ? [g.channels, g.channels] : [g.inChannels, g.outChannels]
  return { inImg: cin * g.inHeight * g.inWidth, outImg: cout * g.outHeight * g.outWidth }
}
