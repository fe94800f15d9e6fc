// backendStats(): kernel calls, and the copies between host arrays and a backend's own memory.
// Counted per kernel on each backend, then on whole cnn2 training steps (forward, backward,
// Adam), where the numbers follow from the model: they are the transfer counts docs/backends.md
// quotes (wasm outside tidy(): every call copies its host arrays; gpujs: results stay on the device).
import { afterAll, describe, expect, it } from 'vitest'
import { Adam, F, Generator, backendStats, createModel, disposeBackends, randint, randn, setBackend, statsSince, type BackendStats } from '../src/index.js'
import type { MatmulShape } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { GpujsBackend } from '../src/tensor/backends/gpujs/gpujs-backend.js'
import { syncHost } from '../src/tensor/device-copy.js'

const S: MatmulShape = { batch: 1, m: 2, k: 3, n: 4, transA: false, transB: false }
const f32 = (n: number): Float32Array => new Float32Array(n).fill(0.5)

describe('backend counters, kernel by kernel', () => {
  it('reference: calls only (its loops read the host arrays in place)', () => {
    const b = new ReferenceBackend()
    b.matmul(f32(6), f32(12), f32(8), S)
    b.matmul(new Float64Array(6), new Float64Array(12), new Float64Array(8), S)
    expect(b.counters()).toEqual({ uploads: 0, downloads: 0, uploadBytes: 0, downloadBytes: 0, kernelCalls: 2, liveBuffers: 0 })
  })

  it('wasm: each float32 kernel copies its inputs in and its output out; float64 runs on the reference and copies nothing', () => {
    const b = new WasmBackend({ threads: 1 })
    try {
      b.matmul(f32(6), f32(12), f32(8), S)
      expect(b.counters()).toEqual({ uploads: 2, downloads: 1, uploadBytes: 4 * 18, downloadBytes: 4 * 8, kernelCalls: 1, liveBuffers: 0 })
      b.matmul(new Float64Array(6), new Float64Array(12), new Float64Array(8), S)
      expect(b.counters()).toMatchObject({ uploads: 2, downloads: 1, kernelCalls: 2 })
      const g = { batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 2, kernelHeight: 3, kernelWidth: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outHeight: 4, outWidth: 4 }
      b.conv2d(f32(16), f32(18), f32(2), f32(32), g) // x, w and the bias in; out back
      expect(b.counters()).toMatchObject({ uploads: 5, downloads: 2, uploadBytes: 4 * (18 + 16 + 18 + 2), kernelCalls: 3 })
    } finally {
      b.dispose()
    }
  })

  it('gpujs: the inputs are uploaded once and the result stays on the device until the host reads it; cpu mode counts nothing', () => {
    const wasm = new GpujsBackend({ mode: 'webasm' })
    const cpu = new GpujsBackend({ mode: 'cpu' })
    try {
      const [a, b, out] = [f32(6), f32(12), f32(8)]
      wasm.matmul(a, b, out, S)
      cpu.matmul(f32(6), f32(12), f32(8), S)
      expect(wasm.counters()).toEqual({ uploads: 2, downloads: 0, uploadBytes: 4 * 18, downloadBytes: 0, kernelCalls: 1, liveBuffers: 3 })
      wasm.matmul(a, b, out, S) // a and b are on the device now: nothing moves
      expect(wasm.counters()).toMatchObject({ uploads: 2, downloads: 0, kernelCalls: 2, liveBuffers: 3 })
      syncHost(out, false) // the host reads the result: one download
      expect(Array.from(out)).toEqual(new Array(8).fill(0.75))
      expect(wasm.counters()).toMatchObject({ uploads: 2, downloads: 1, downloadBytes: 4 * 8 })
      expect(cpu.counters()).toEqual({ uploads: 0, downloads: 0, uploadBytes: 0, downloadBytes: 0, kernelCalls: 1, liveBuffers: 3 })
    } finally {
      wasm.dispose()
      cpu.dispose()
    }
  })

  it('backendStats() names an unknown backend', () => {
    expect(() => backendStats('tpu')).toThrow(/backendStats: unknown backend 'tpu'; available: reference, wasm/)
  })
})

// One Adam step of cnn2 (conv 1->32, pool, conv 32->64, pool, linear 3136->128, linear 128->10).
function cnn2Steps(steps: number): BackendStats[] {
  const g = new Generator(0)
  const model = createModel('cnn2', { numClasses: 10, inChannels: 1, generator: g })
  const opt = new Adam(model.parameters(), { lr: 1e-3 })
  const x = randn([4, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [4], { generator: g })
  const perStep: BackendStats[] = []
  for (let s = 0; s < steps; s++) {
    const before = backendStats()
    opt.zeroGrad()
    F.crossEntropy(model.forward(x), y).backward()
    opt.step()
    perStep.push(statsSince(before, backendStats()))
  }
  return perStep
}

describe('a cnn2 training step, counted', () => {
  afterAll(() => disposeBackends())
  // Heavy kernels: forward 2 conv2d + 2 maxPool2d + 2 matmul; backward 2 matmul per linear layer,
  // 2 maxPool2dBackward, conv2dGradInput + conv2dGradWeight for conv2 and only the weight
  // gradient for conv1 (the images need none): 6 + 9 = 15. On wasm outside tidy() each uploads
  // its inputs: conv2d 3 (x, w, bias), matmul 2, maxPool2d 1; backward matmul 2,
  // maxPool2dBackward 2 (gradOut, argmax), conv gradients 2: 6 + 2 + 4 + 8 + 4 + 2 + 4 = 30, and
  // downloads its outputs (maxPool2d 2: values and argmax): 17. The float32 elementwise
  // primitives with a SIMD kernel copy their inputs in and the result out: 3 relu, 5 neg and 8
  // copies (the leaves' gradients, cloned) (1 in, 1 out), 6 add (the linear biases among them),
  // 9 mul and 3 gt (the ReLU masks) (2 in, 1 out): 52 more uploads, 34 more downloads; the rest
  // (isfinite, where, exp, log, reciprocal, expand, argReduce, gather, scatterAdd) run on the
  // reference loops over the host arrays and move nothing. Adam is one adamUpdate per parameter
  // (8) on every backend; on wasm each copies p, grad, m and v in and p, m and v out: 32 more
  // uploads, 24 more downloads. And 9 sums (1 in, 1 out each): 3 in the loss (two over the
  // classes, one over the batch), the 2 linear bias gradients, and the 2 conv bias gradients in
  // 2 runs each (over the pixels, then over the batch).
  const calls: Record<string, number> = {}

  it('wasm: 30 + 52 + 32 + 9 uploads and 17 + 34 + 24 + 9 downloads per step (maxPool2d returns values and argmax)', () => {
    setBackend('wasm')
    const steps = cnn2Steps(3)
    for (const s of steps) expect(s).toMatchObject({ uploads: 123, downloads: 84, liveBuffers: 0 })
    expect(steps[2]).toEqual(steps[1])
    calls['wasm'] = steps[0]!.kernelCalls
  })

  it('gpujs-webasm: the first step uploads the batch, the labels, the weights and the optimizer state once; later steps move nothing', () => {
    setBackend('gpujs-webasm')
    const steps = cnn2Steps(3)
    // x, y, 8 weights read by forward and backward, Adam's 8 m and 8 v; every result stays on the device
    expect(steps[0]).toMatchObject({ uploads: 2 + 8 + 16, downloads: 0 })
    for (const s of steps.slice(1)) expect(s).toMatchObject({ uploads: 0, downloads: 0, uploadBytes: 0, downloadBytes: 0 })
    calls['gpujs-webasm'] = steps[0]!.kernelCalls
  }, 60_000)

  it('reference: nothing moved', () => {
    setBackend('reference')
    const [s] = cnn2Steps(1)
    expect(s).toMatchObject({ uploads: 0, downloads: 0, uploadBytes: 0, downloadBytes: 0, liveBuffers: 0 })
    calls['reference'] = s!.kernelCalls
  }, 60_000)

  it('every backend is called for the same primitives: the 15 heavy kernels, the elementwise ones, 9 sums and 8 Adam updates', () => {
    expect(calls['reference']).toBe(80)
    expect(calls).toEqual({ wasm: calls['reference'], 'gpujs-webasm': calls['reference'], reference: calls['reference'] })
  })
})
