// The gpujs backend: matmul, convolution and pooling as GPU.js kernels, behind the same
// Backend interface as the reference loops. One kernel is compiled per (op, shape) and cached
// in this backend (never on tensors); results are read back into the caller's `out` array.
// It is float32 only: Float64Array arguments run on the reference kernels (never downcast),
// and so do shapes past the device's limits (with a one-time warning naming kernel and limit)
// when even one batch item is too large; otherwise a large call runs in batch slices.
import { GPU } from 'gpu.js'
import type { Backend, BackendInfo, Conv2dGeometry, FloatArray, MatmulShape, Pool2dGeometry } from '../backend.js'
import { HostFallbacks } from '../host-fallbacks.js'
import type { PriorPasses, PriorPassesInput } from '../prior-passes.js'
import { registeredBackend } from '../registry.js'
import {
  avgPool2dBackwardSpec, avgPool2dSpec, conv2dGradInputSpec, conv2dGradWeightSpec, conv2dSpec,
  matmulSpec, maxPool2dBackwardSpec, maxPool2dSpec, type KernelSpec,
} from './kernels.js'
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

// The run shortcut GPU.js returns: callable, with the kernel that really runs on `.kernel`.
type KernelRun = ((...args: Float32Array[]) => Float32Array | Float32Array[]) & {
  kernel: { constructor: unknown; context?: unknown; precision?: string }
}

// NOTE: on GL the thread index and every flat array index are float32 in the shader, exact
// only below 2^24; larger arrays go to the reference kernels instead of reading wrong texels.
const GL_INDEX_LIMIT = 2 ** 24
// WebAssembly memory is 32-bit; keep every array of one call well inside it.
const WASM_ELEMENT_LIMIT = 2 ** 28

/**
 * GPU.js kernels for the heavy ops; see README "Backends" for the modes.
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

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, s: MatmulShape): void {
    this.counts.kernel()
    if (this.useReference([a, b, out])) return this.ref.matmul(a, b, out, s)
    // The 2-D output is a [n, batch*m] texture on GL: use it only within MAX_TEXTURE_SIZE.
    const side = this.maxTextureSize ?? Infinity
    const { m, k, n } = s
    this.runInSlices(s.batch, (start, batch) => {
      const sl: MatmulShape = { ...s, batch }
      const twoD = n > 1 && batch * m > 1 && n <= side && batch * m <= side
      return { spec: matmulSpec(sl, twoD), args: [slice(a, start, batch, m * k), slice(b, start, batch, k * n)], out: slice(out, start, batch, m * n) }
    }, () => this.ref.matmul(a, b, out, s))
  }

  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    const arrays = bias ? [x, w, bias, out] : [x, w, out]
    if (this.useReference(arrays)) return this.ref.conv2d(x, w, bias, out, g)
    const { inImg, outImg } = itemSizes(g)
    this.runInSlices(g.batch, (start, batch) => ({
      spec: conv2dSpec({ ...g, batch }, bias !== null),
      args: [slice(x, start, batch, inImg), w, ...(bias ? [bias] : [])],
      out: slice(out, start, batch, outImg),
    }), () => this.ref.conv2d(x, w, bias, out, g))
  }

  conv2dGradInput(gradOut: FloatArray, w: FloatArray, gradX: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, w, gradX])) return this.ref.conv2dGradInput(gradOut, w, gradX, g)
    const { inImg, outImg } = itemSizes(g)
    this.runInSlices(g.batch, (start, batch) => ({
      spec: conv2dGradInputSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), w],
      out: slice(gradX, start, batch, inImg),
    }), () => this.ref.conv2dGradInput(gradOut, w, gradX, g))
  }

  conv2dGradWeight(gradOut: FloatArray, x: FloatArray, gradW: FloatArray, g: Conv2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, x, gradW])) return this.ref.conv2dGradWeight(gradOut, x, gradW, g)
    // The weight gradient sums over the batch: slices add their partial sums into gradW.
    const { inImg, outImg } = itemSizes(g)
    const partial = new Float32Array(gradW.length)
    let first = true
    this.runInSlices(g.batch, (start, batch) => ({
      spec: conv2dGradWeightSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), slice(x, start, batch, inImg)],
      out: partial,
      after: () => {
        if (first) gradW.set(partial)
        else for (let i = 0; i < gradW.length; i++) gradW[i]! += partial[i]!
        first = false
      },
    }), () => this.ref.conv2dGradWeight(gradOut, x, gradW, g))
  }

  maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
    this.counts.kernel()
    // NOTE: a NaN must win its window (as in the reference); GL compilers may fold `v != v`
    // away, so inputs holding NaN go to the reference kernel, which is exact about it.
    if (this.useReference([x, out]) || this.hasNaN(x)) {
      return this.ref.maxPool2d(x, out, argmax, g)
    }
    const idx = new Float32Array(out.length)
    const { inImg, outImg } = itemSizes(g)
    const ran = this.runInSlices(g.batch, (start, batch) => ({
      spec: maxPool2dSpec({ ...g, batch }), args: [slice(x, start, batch, inImg)], out: slice(idx, start, batch, outImg),
    }), () => this.ref.maxPool2d(x, out, argmax, g))
    if (!ran) return
    const plane = g.outHeight * g.outWidth
    const inPlane = g.inHeight * g.inWidth
    for (let o = 0; o < out.length; o++) {
      const k = idx[o]!
      argmax[o] = k
      out[o] = k < 0 ? -Infinity : x[Math.floor(o / plane) * inPlane + k]!
    }
  }

  maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, gradX])) {
      return this.ref.maxPool2dBackward(gradOut, argmax, gradX, g)
    }
    // Exact as float32: argmax < inHeight*inWidth, far below 2^24.
    const where = Float32Array.from(argmax)
    const { inImg, outImg } = itemSizes(g)
    this.runInSlices(g.batch, (start, batch) => ({
      spec: maxPool2dBackwardSpec({ ...g, batch }),
      args: [slice(gradOut, start, batch, outImg), slice(where, start, batch, outImg)],
      out: slice(gradX, start, batch, inImg),
    }), () => this.ref.maxPool2dBackward(gradOut, argmax, gradX, g))
  }

  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([x, out])) return this.ref.avgPool2d(x, out, g)
    const { inImg, outImg } = itemSizes(g)
    this.runInSlices(g.batch, (start, batch) => ({
      spec: avgPool2dSpec({ ...g, batch }), args: [slice(x, start, batch, inImg)], out: slice(out, start, batch, outImg),
    }), () => this.ref.avgPool2d(x, out, g))
  }

  avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void {
    this.counts.kernel()
    if (this.useReference([gradOut, gradX])) return this.ref.avgPool2dBackward(gradOut, gradX, g)
    const { inImg, outImg } = itemSizes(g)
    this.runInSlices(g.batch, (start, batch) => ({
      spec: avgPool2dBackwardSpec({ ...g, batch }), args: [slice(gradOut, start, batch, outImg)], out: slice(gradX, start, batch, inImg),
    }), () => this.ref.avgPool2dBackward(gradOut, gradX, g))
  }

  // The dynamic prior's sampling has no GPU.js kernels yet: it runs on the registered wasm
  // backend where there is one (the same bits as the reference passes, and far faster), else on
  // the reference passes.
  override priorPasses(input: PriorPassesInput): PriorPasses {
    return (registeredBackend('wasm') ?? this.ref).priorPasses(input)
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

  private useReference(arrays: FloatArray[]): boolean {
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

  // The first array too large for this mode, as a message naming the limit, or null.
  private limitExceeded(spec: KernelSpec, lengths: number[]): string | null {
    const largest = Math.max(spec.outputLength, ...lengths)
    if (largest > this.maxElements) return `an array of ${largest} elements exceeds maxElements ${this.maxElements}`
    if (isGlMode(this.mode)) {
      const texels = this.maxTextureSize ? this.maxTextureSize ** 2 : Infinity
      const limit = Math.min(texels, GL_INDEX_LIMIT)
      if (largest > limit) {
        const name = limit === GL_INDEX_LIMIT ? '2^24 float32-exact indices' : `MAX_TEXTURE_SIZE ${this.maxTextureSize}^2 texels`
        return `an array of ${largest} elements exceeds ${name}`
      }
    } else if (this.mode === 'webasm') {
      const total = spec.outputLength + lengths.reduce((s, n) => s + n, 0)
      if (total > WASM_ELEMENT_LIMIT) return `${total} elements exceed the WebAssembly limit of 2^28 per call`
    }
    return null
  }

  // Runs a call whose data is `batch` independent items laid out back to back (NCHW images,
  // batched matrices). When the whole call exceeds the device's limits but fewer items fit,
  // it runs in slices of as many items as fit (subarrays, no copies): the tiling of large
  // outputs. Only when a single item is too large does it fall back to the reference kernel.
  private runInSlices(batch: number, sliceOf: (start: number, count: number) => Slice, fallback: () => void): boolean {
    const fits = (count: number): boolean => {
      const sl = sliceOf(0, count)
      return this.limitExceeded(sl.spec, sl.args.map((a) => a.length)) === null
    }
    let count = batch
    while (count > 1 && !fits(count)) count = Math.ceil(count / 2)
    if (count === batch || !fits(count)) {
      const whole = sliceOf(0, batch)
      const ran = this.run(whole.spec, whole.args, whole.out, fallback)
      if (ran) whole.after?.()
      return ran
    }
    this.stats_.slicedCalls++
    for (let start = 0; start < batch; start += count) {
      const sl = sliceOf(start, Math.min(count, batch - start))
      this.run(sl.spec, sl.args, sl.out, fallback)
      sl.after?.()
    }
    return true
  }

  // Runs `spec` on GPU.js into `out`; returns false when it ran `fallback` (the reference) instead.
  private run(spec: KernelSpec, args: FloatArray[], out: FloatArray, fallback: () => void): boolean {
    if (!this.gpu) throw new Error(`gpujs backend: ${spec.op} called after dispose()`)
    const limit = this.limitExceeded(spec, args.map((a) => a.length))
    if (limit !== null) {
      const key = `${spec.op}:limit`
      if (!this.warned.has(key)) {
        this.warned.add(key)
        console.warn(`gpujs backend: ${spec.op} on GPU.js ${this.mode}: ${limit}; running it on the reference kernel`)
      }
      this.count('limit')
      fallback()
      return false
    }
    if (spec.outputLength === 0) return true
    let kernel = this.kernels.get(spec.key)
    const fresh = kernel === undefined
    if (!kernel) {
      kernel = this.gpu.createKernel(spec.source, {
        output: spec.output,
        constants: spec.constants,
        loopMaxIterations: spec.loopMaxIterations,
        precision: 'single',
        tactic: 'precision',
      } as never) as unknown as KernelRun
      this.kernels.set(spec.key, kernel)
      this.stats_.compiles++
    }
    const result = kernel(...(args as Float32Array[]))
    this.stats_.runs++
    // NOTE: GPU.js's cpu mode reads the host arrays in place; every other mode copies each
    // argument in (a texture, or its WebAssembly heap) and the result out.
    if (this.mode !== 'cpu') {
      this.counts.upload(...args)
      this.counts.download(out)
    }
    if (fresh) this.checkKernelClass(spec, kernel)
    if (Array.isArray(result)) {
      const width = spec.output[0]!
      for (let r = 0; r < result.length; r++) out.set(result[r]!.subarray(0, width), r * width)
    } else {
      out.set(result.length === out.length ? result : result.subarray(0, out.length))
    }
    return true
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

/** One slice of a batched call: its kernel, inputs, output, and what to do with the output after. */
interface Slice {
  spec: KernelSpec
  args: FloatArray[]
  out: FloatArray
  after?: () => void
}

/** Items start..start+count of an array holding items of `itemLength` elements back to back. */
function slice(a: FloatArray, start: number, count: number, itemLength: number): FloatArray {
  return a.length === count * itemLength && start === 0 ? a : a.subarray(start * itemLength, (start + count) * itemLength)
}

/** Elements of one batch item (an image with all its channels) in the input and the output. */
function itemSizes(g: Conv2dGeometry | Pool2dGeometry): { inImg: number; outImg: number } {
  const [cin, cout] = 'channels' in g ? [g.channels, g.channels] : [g.inChannels, g.outChannels]
  return { inImg: cin * g.inHeight * g.inWidth, outImg: cout * g.outHeight * g.outWidth }
}
