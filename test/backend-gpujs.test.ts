// The gpujs backend against the reference kernels, on every GPU.js mode that can run:
// webasm and cpu in this process; headlessgl in a child under Xvfb (GPU.js needs an X display
// before its first use); webgl2 in headless Chromium. Each GL test asserts the kernel class
// that really ran, because every failed GL setup silently falls back to WebAssembly.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { GPU } from 'gpu.js'
import { GpujsBackend } from '../src/tensor/backends/gpujs/gpujs-backend.js'
import { matmulSpec, conv2dGradWeightSpec, conv2dSpec } from '../src/tensor/backends/gpujs/kernels.js'
import { classifyGlRenderer, modeOfKernelClass, type GpujsMode } from '../src/tensor/backends/gpujs/modes.js'
import { gpujsIsHardwareAccelerated, probeGpujs, registerGpujsBackend } from '../src/tensor/backends/gpujs/index.js'
import { disposeBackends, getBackendInfo, setBackend } from '../src/tensor/backends/registry.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import type { Backend } from '../src/tensor/backends/backend.js'
import type { BackendStats } from '../src/tensor/backends/counters.js'
import { Generator } from '../src/tensor/generator.js'
import { PARITY_CASES, compare, convGeom, mm, poolGeom, randF32, runParitySuite, type ParityResult } from './gl/parity-cases.js'
import { browserSkipReason, runBrowserParity } from './browser/browser-parity.js'

const expectParity = (r: ParityResult): void => {
  expect(r.ok, `${r.name}: max abs err ${r.maxAbsErr}, worst ${JSON.stringify(r.worst)} (ratio ${r.worstRatio})`).toBe(true)
}

// headlessgl joins only when this process already has an X display (e.g. vitest under xvfb-run).
const inProcessModes: GpujsMode[] = ['webasm', 'cpu', ...(GPU.isHeadlessGLSupported ? ['headlessgl' as const] : [])]

describe.each(inProcessModes)('gpujs backend, GPU.js %s mode (in process)', (mode) => {
  let backend: GpujsBackend
  beforeAll(() => { backend = new GpujsBackend({ mode }) })
  afterAll(async () => { await backend.disposeAsync() })

  it.each(PARITY_CASES.map((c) => [c.name, c] as const))('parity: %s', (_name, c) => {
    expectParity(c.run(backend))
  })

  it(`info() reports the kernel class GPU.js really uses (${mode}) and no hardware GPU (there is none here)`, () => {
    const info = backend.info()
    expect(info.details?.['gpujsMode']).toBe(mode)
    expect(info.hardwareGpu).toBe(false)
    if (mode !== 'headlessgl') expect(String(info.details?.['reason'])).toContain(`${mode} runs on the CPU`)
    expect(info.details?.['kernelFallbacks']).toEqual([])
  })

  it('compiles one kernel per (op, shape) and reuses it', () => {
    const b = new GpujsBackend({ mode })
    const rng = new Generator(1)
    const s = mm(1, 6, 5, 4)
    const a = randF32(30, rng), bb = randF32(20, rng), out = new Float32Array(24)
    // each host input is uploaded by a copy kernel (one per length) whose output stays as its device copy
    b.matmul(a, bb, out, s)
    b.matmul(randF32(30, rng), randF32(20, rng), out, s)
    expect(b.stats()).toMatchObject({ compiles: 3, runs: 6 })
    b.matmul(a, bb, out, { ...s, transB: true }) // another variant: another kernel; a and bb are on the device
    b.matmul(a, bb, out, s)
    expect(b.stats()).toMatchObject({ compiles: 4, runs: 8 })
    void b.disposeAsync()
  })

  it('runs float64 arrays on the reference kernels, in float64 (no downcast)', () => {
    const b = new GpujsBackend({ mode })
    const a = Float64Array.from([1 + 1e-12, 2]), bb = Float64Array.from([3, 4]), out = new Float64Array(1)
    b.matmul(a, bb, out, mm(1, 1, 2, 1))
    expect(out[0]).toBe((1 + 1e-12) * 3 + 8) // float32 would round 1e-12 away
    expect(b.stats()).toMatchObject({ compiles: 0, runs: 0, referenceRuns: { float64: 1 } })
    void b.disposeAsync()
  })

  it('runs calls too large for one kernel in batch slices, matching the reference, without a fallback', () => {
    // One image's arrays fit maxElements, the whole batch's do not: conv, its gradients, avg
    // pooling and a batched matmul must run sliced on GPU.js (no warning, no reference run).
    const b = new GpujsBackend({ mode, maxElements: 600 })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const ref = new ReferenceBackend()
    const rng = new Generator(3)
    const g = convGeom(5, 2, 7, 6, 3, 3, 3, 1, 1) // x 84 per image, out 126 per image
    const x = randF32(5 * 84, rng), w = randF32(54, rng), bias = randF32(3, rng), go = randF32(5 * 126, rng)
    const f64 = (a: Float32Array): Float64Array => Float64Array.from(a)
    const check = (name: string, run: (be: Backend, cast: (a: Float32Array) => Float32Array | Float64Array) => Float32Array | Float64Array): void => {
      expectParity(compare(name, run(b, (a) => a), run(ref, f64)))
    }
    check('conv2d sliced', (be, c) => { const o = c(new Float32Array(5 * 126)); be.conv2d(c(x), c(w), c(bias), o, g); return o })
    check('conv2dGradInput sliced', (be, c) => { const o = c(new Float32Array(5 * 84)); be.conv2dGradInput(c(go), c(w), o, g); return o })
    check('conv2dGradWeight sliced (partial sums added)', (be, c) => { const o = c(new Float32Array(54)); be.conv2dGradWeight(c(go), c(x), o, g); return o })
    const p = poolGeom(5, 2, 8, 8, 2, 2, 0)
    const px = randF32(5 * 128, rng)
    check('avgPool2d sliced', (be, c) => { const o = c(new Float32Array(5 * 32)); be.avgPool2d(c(px), o, p); return o })
    const argmaxOf = (be: Backend): Int32Array => { const a = new Int32Array(5 * 32); be.maxPool2d(px, new Float32Array(5 * 32), a, p); return a }
    expect(Array.from(argmaxOf(b))).toEqual(Array.from(argmaxOf(ref)))
    const pg = randF32(5 * 32, rng)
    check('maxPool2dBackward sliced', (be, c) => { const o = c(new Float32Array(5 * 128)); be.maxPool2dBackward(c(pg), argmaxOf(ref), o, p); return o })
    const s = mm(4, 9, 5, 20) // out 180 per item, 720 in all
    const ma = randF32(4 * 45, rng), mb = randF32(4 * 100, rng)
    check('batched matmul sliced', (be, c) => { const o = c(new Float32Array(4 * 180)); be.matmul(c(ma), c(mb), o, s); return o })
    expect(warn).not.toHaveBeenCalled()
    expect(b.stats().referenceRuns).toEqual({})
    expect(b.stats().slicedCalls).toBe(7)
    warn.mockRestore()
    void b.disposeAsync()
  })

  it('falls back to the reference kernel past a size limit, warning once with the kernel and the limit', () => {
    const b = new GpujsBackend({ mode, maxElements: 100 })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const rng = new Generator(2)
    const s = mm(1, 12, 3, 11)
    const a = randF32(36, rng), bb = randF32(33, rng), out = new Float32Array(132), want = new Float64Array(132)
    b.matmul(a, bb, out, s)
    b.matmul(a, bb, out, s)
    new ReferenceBackend().matmul(Float64Array.from(a), Float64Array.from(bb), want, s)
    expectParity(compare('matmul past the limit', out, want))
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]![0])).toMatch(/matmul.*132 elements exceeds maxElements 100.*reference/)
    expect(b.stats()).toMatchObject({ compiles: 0, referenceRuns: { limit: 2 } })
    warn.mockRestore()
    void b.disposeAsync()
  })

  it('maxPool2d gives NaN windows NaN (through the reference kernel)', () => {
    const b = new GpujsBackend({ mode })
    const x = Float32Array.from([1, NaN, 3, 4]), out = new Float32Array(1), idx = new Int32Array(1)
    b.maxPool2d(x, out, idx, { batch: 1, channels: 1, inHeight: 2, inWidth: 2, kernelHeight: 2, kernelWidth: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, outHeight: 1, outWidth: 1 })
    expect(Number.isNaN(out[0])).toBe(true)
    expect(idx[0]).toBe(1)
    void b.disposeAsync()
  })

  it('dispose() destroys the kernels and the GPU.js instance; later calls throw', async () => {
    const b = new GpujsBackend({ mode })
    b.matmul(new Float32Array(4), new Float32Array(4), new Float32Array(4), mm(1, 2, 2, 2))
    const gpu = (b as unknown as { gpu: { kernels: Array<{ destroy(): void }> } }).gpu
    const spies = gpu.kernels.map((k) => vi.spyOn(k, 'destroy'))
    expect(spies.length).toBe(3) // the probe kernel, the upload (copy) kernel and the matmul kernel
    await b.disposeAsync()
    for (const spy of spies) expect(spy).toHaveBeenCalledTimes(1)
    expect(() => b.matmul(new Float32Array(4), new Float32Array(4), new Float32Array(4), mm(1, 2, 2, 2))).toThrow(/matmul called after dispose/)
  })
})

describe('gpujs backend: loop bounds past 1000 are not cut', () => {
  it('GPU.js really stops a loop with a runtime bound at loopMaxIterations (the pitfall the kernels avoid)', async () => {
    const gpu = new GPU({ mode: 'webasm' })
    const k = gpu.createKernel('function (a, n) { let s = 0.0; for (let i = 0; i < n; i++) { s += a[i]; } return s; }', { output: [1] })
    expect((k(new Float32Array(3000).fill(1), 3000) as Float32Array)[0]).toBe(1000)
    await gpu.destroy()
  })

  it('every kernel spec sets loopMaxIterations above its largest loop bound', () => {
    for (const s of [matmulSpec(mm(1, 2, 4608, 2)), conv2dSpec(convGeom(1200, 1, 2, 2, 1, 1, 1, 1, 0), false), conv2dGradWeightSpec(convGeom(8, 600, 14, 14, 3, 3, 3, 1, 1))]) {
      expect(s.loopMaxIterations).toBeGreaterThan(Math.max(...Object.values(s.constants)))
    }
  })

  it('the long parity cases catch a matmul whose reduction stops at 1000', () => {
    // The reference loop with the reduction cut at 1000, as GPU.js would run an unguarded loop.
    const truncating = Object.assign(Object.create(new ReferenceBackend()) as Backend, {
      matmul(a: Float32Array, b: Float32Array, out: Float32Array, s: ReturnType<typeof mm>): void {
        for (let t = 0; t < s.batch; t++) {
          for (let i = 0; i < s.m; i++) {
            for (let j = 0; j < s.n; j++) {
              let acc = 0
              for (let p = 0; p < Math.min(s.k, 1000); p++) {
                const av = s.transA ? a[t * s.m * s.k + p * s.m + i]! : a[t * s.m * s.k + i * s.k + p]!
                const bv = s.transB ? b[t * s.k * s.n + j * s.k + p]! : b[t * s.k * s.n + p * s.n + j]!
                acc += av * bv
              }
              out[t * s.m * s.n + i * s.n + j] = acc
            }
          }
        }
      },
    })
    const long = PARITY_CASES.filter((c) => c.name.startsWith('matmul long'))
    expect(long.length).toBe(4)
    expect(runParitySuite(truncating, long).map((r) => r.ok)).toEqual([false, false, false, false])
    const short = PARITY_CASES.filter((c) => c.name.startsWith('matmul') && !c.name.startsWith('matmul long'))
    expect(runParitySuite(truncating, short).every((r) => r.ok)).toBe(true)
  })
})

describe('gpujs backend: registry and auto-selection', () => {
  afterAll(() => disposeBackends())

  it('registers gpujs and gpujs-<mode>; getBackendInfo() names the mode and the reason', () => {
    registerGpujsBackend()
    setBackend('gpujs-webasm')
    const info = getBackendInfo()
    expect(info.name).toBe('gpujs-webasm')
    expect(info.details?.['gpujsMode']).toBe('webasm')
    expect(info.reason).toBe("setBackend('gpujs-webasm')")
  })

  it('an unavailable explicit mode throws a clear error instead of falling back', () => {
    // Without an X display headless-gl cannot make a context; with one (CI under xvfb) it can.
    if (process.env['DISPLAY']) return
    expect(() => new GpujsBackend({ mode: 'headlessgl' })).toThrow(/mode 'headlessgl' is not available here.*xvfb-run/)
  })

  it('refuses GPU.js webgpu mode with a reason (its kernels are asynchronous)', () => {
    expect(() => new GpujsBackend({ mode: 'webgpu' })).toThrow(/webgpu kernels always return Promises/)
  })

  it('never calls a software fallback hardware-accelerated', () => {
    const probe = probeGpujs()
    expect(probe.hardwareGpu).toBe(gpujsIsHardwareAccelerated())
    // This machine has no GPU: auto mode lands on webasm (no display) or llvmpipe GL (Xvfb).
    if (!existsSync('/dev/dri')) expect(probe.hardwareGpu).toBe(false)
    const gl = (renderer: string, unmasked: boolean) => ({
      RENDERER: 1, getParameter: () => renderer, getExtension: () => (unmasked ? { UNMASKED_RENDERER_WEBGL: 2 } : null),
    })
    expect(classifyGlRenderer(gl('llvmpipe (LLVM 15.0.6, 256 bits)', false)).hardwareGpu).toBe(false)
    expect(classifyGlRenderer(gl('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)', true)).hardwareGpu).toBe(false)
    expect(classifyGlRenderer(gl('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)', true))).toMatchObject({ hardwareGpu: true })
    // headless-gl says only 'ANGLE': in this process no GL driver is loaded and there is no /dev/dri here.
    if (!existsSync('/dev/dri')) expect(classifyGlRenderer(gl('ANGLE', false)).hardwareGpu).toBe(false)
    expect(modeOfKernelClass(GPU)).toBe('unknown')
  })
})

describe('gpujs backend: the same autograd code trains cnn2 on either backend', () => {
  afterAll(() => disposeBackends())

  it('20 SGD steps of cnn2 (batch 4) give the reference losses within 1e-4 relative on gpujs-webasm', async () => {
    // Imported here so that this check, which needs the whole nn stack, fails alone if that stack breaks.
    const { trainCnn2 } = await import('./gl/cnn2-training.js')
    registerGpujsBackend()
    setBackend('reference')
    const want = trainCnn2(20, 4)
    setBackend('gpujs-webasm')
    const got = trainCnn2(20, 4)
    expect(want[19]!).toBeLessThan(want[0]! / 2) // it really trains
    for (let i = 0; i < 20; i++) {
      expect(Math.abs(got[i]! - want[i]!), `step ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(1e-4 * Math.abs(want[i]!))
    }
  }, 120_000)
})

// ---- GL modes: real GLSL on Mesa llvmpipe (headless-gl under Xvfb) and SwiftShader (Chromium) ----

function glSkipReason(): string | null {
  if (!existsSync('node_modules/gl/build/Release/webgl.node')) return 'node_modules/gl is not built (run bash scripts/setup-gl.sh)'
  if (spawnSync('sh', ['-c', 'command -v xvfb-run']).status !== 0) return 'xvfb-run is missing (apt-get install xvfb xauth)'
  return null
}
const glSkip = glSkipReason()
const browserSkip = browserSkipReason()
if (glSkip) console.warn(`backend-gpujs: SKIPPING the headlessgl parity test: ${glSkip}`)
if (browserSkip) console.warn(`backend-gpujs: SKIPPING the Chromium webgl2 parity test: ${browserSkip}`)

interface ChildReport {
  info?: { hardwareGpu: boolean; details?: Record<string, unknown> }
  results?: ParityResult[]
  kernelFallbacks?: string[]
  autoMode?: string
  limit?: { warnings: string[]; ok: boolean }
  residency?: { stats: BackendStats[]; losses: number[] }
  referenceLosses?: number[]
  resnetResidency?: { stats: BackendStats[]; losses: number[] }
  resnetReferenceLosses?: number[]
  error?: string
  logs?: string[]
}

// Training steps on GL textures (20 of cnn2; 2 of resnet18 where given): the batch in, the loss
// out, no texture left behind, and the losses of the reference backend.
function checkResidency(report: ChildReport): void {
  const runs: [string, { stats: BackendStats[]; losses: number[] } | undefined, number[] | undefined, number][] = [
    ['cnn2', report.residency, report.referenceLosses, 20],
    ...(report.resnetResidency ? [['resnet18', report.resnetResidency, report.resnetReferenceLosses, 2] as [string, { stats: BackendStats[]; losses: number[] }, number[], number]] : []),
  ]
  for (const [model, run, want, steps] of runs) {
    expect(run!.losses.length, model).toBe(steps)
    for (const st of run!.stats.slice(1)) expect(st, model).toMatchObject({ uploads: 2, downloads: 1, liveBuffers: 0 })
    run!.losses.forEach((l, s) => expect(Math.abs(l - want![s]!), `${model} step ${s}`).toBeLessThanOrEqual(1e-4 * Math.abs(want![s]!)))
  }
}

function checkReport(report: ChildReport, mode: string): void {
  expect(report.error, report.error).toBeUndefined()
  expect(report.info?.details?.['gpujsMode'], 'the GL mode really ran (not a silent WebAssembly fallback)').toBe(mode)
  expect(report.info?.hardwareGpu, 'a software rasterizer is not a hardware GPU').toBe(false)
  expect(report.kernelFallbacks, 'no kernel was swapped for its CPU version').toEqual([])
  expect(report.results?.length).toBe(PARITY_CASES.length)
  for (const r of report.results!) expectParity(r)
}

describe('gpujs backend, GPU.js headlessgl mode (child process under xvfb-run)', () => {
  it.skipIf(glSkip !== null)(`parity on HeadlessGLKernel${glSkip ? ` [skipped: ${glSkip}]` : ''}`, () => {
    const child = spawnSync('xvfb-run', ['-a', process.execPath, '--import', 'tsx', 'test/gl/parity-headlessgl.ts', 'headlessgl'], {
      encoding: 'utf8', timeout: 280_000,
    })
    const line = child.stdout.split('\n').find((l) => l.startsWith('PARITY_JSON '))
    expect(line, `no report from the child (status ${child.status}): ${child.stderr.slice(-2000)}`).toBeDefined()
    const report = JSON.parse(line!.slice('PARITY_JSON '.length)) as ChildReport
    expect(report.autoMode, 'GPU.js auto mode picks headless-gl under Xvfb').toBe('headlessgl')
    checkReport(report, 'headlessgl')
    expect(report.limit?.ok, 'the over-limit avgPool2d gives the reference result').toBe(true)
    expect(report.limit?.warnings).toEqual([expect.stringMatching(/avgPool2d on GPU\.js headlessgl: an array of 17640000 elements exceeds 2\^24.*reference/)])
    checkResidency(report)
  }, 300_000)
})

describe('gpujs backend, GPU.js webgl2 mode (headless Chromium)', () => {
  it.skipIf(browserSkip !== null)(`parity on WebGL2Kernel${browserSkip ? ` [skipped: ${browserSkip}]` : ''}`, async () => {
    const report = (await runBrowserParity('webgl2', 240_000)) as ChildReport
    checkReport(report, 'webgl2')
    expect(String(report.info?.details?.['renderer'])).toMatch(/SwiftShader/i)
    checkResidency(report)
  }, 260_000)
})
