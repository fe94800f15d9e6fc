// Whole training steps on every backend: the zoo's cnn2 (20 Adam steps) and resnet18 (2 Adam
// steps at batch 2, the smallest at which its last BatchNorms are well conditioned in float32;
// about 25 s on the reference loops), run the way the library's training
// loop runs them (one tidy() scope per step), on the reference backend, on wasm and on
// gpujs-webasm. The backends sum in different orders (blocked SIMD GEMMs, GPU.js kernels), so
// the losses and weights agree to float32 accumulation error, not bit for bit; within a backend,
// tidy() or not, they are bit for bit (test/tidy.test.ts).
import { afterAll, describe, expect, it } from 'vitest'
import { Adam, F, Generator, backendStats, createModel, disposeBackends, randint, randn, setBackend, statsSince, tidy, type BackendStats } from '../src/index.js'
import { registerGpujsBackend } from '../src/tensor/backends/gpujs/index.js'

afterAll(() => disposeBackends())

interface Run {
  losses: number[]
  /** every parameter's gradient at the first step */
  grads: Float32Array[]
  weights: Float32Array[]
  /** what the last step moved (backendStats) */
  lastStep: BackendStats
}

function train(model: 'cnn2' | 'resnet18', steps: number, batch: number): Run {
  const g = new Generator(0)
  const cifar = model === 'resnet18'
  const net = createModel(model, { numClasses: 10, inChannels: cifar ? 3 : 1, generator: g })
  const opt = new Adam(net.parameters(), { lr: 1e-3 })
  const x = randn(cifar ? [batch, 3, 32, 32] : [batch, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [batch], { generator: g })
  const losses: number[] = []
  let grads: Float32Array[] = []
  let lastStep = backendStats()
  for (let s = 0; s < steps; s++) {
    const before = backendStats()
    losses.push(tidy(() => {
      opt.zeroGrad()
      const loss = F.crossEntropy(net.forward(x), y)
      loss.backward()
      if (s === 0) grads = net.parameters().map((p) => p.grad!.data.slice() as Float32Array)
      opt.step()
      return loss.item()
    }))
    lastStep = statsSince(before, backendStats())
  }
  return { losses, grads, weights: net.parameters().map((p) => p.data as Float32Array), lastStep }
}

// Largest |a - b| / (|b| + scale) over the entries of every tensor, scale = the tensor's mean |value|.
function worstError(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0
  a.forEach((ta, k) => {
    const tb = b[k]!
    const scale = tb.reduce((s, v) => s + Math.abs(v), 0) / tb.length
    for (let i = 0; i < ta.length; i++) worst = Math.max(worst, Math.abs(ta[i]! - tb[i]!) / (Math.abs(tb[i]!) + scale))
  })
  return worst
}

// Weights after 20 steps are compared for cnn2 only: Adam moves every weight by about lr whatever
// its gradient's size, so a gradient that is float32 noise around 0 (ResNet's BatchNorm biases
// meet some) moves its weight by +-lr on one backend and -+lr on another.
describe.each([
  ['cnn2', 20, 4, 1e-4, 1e-3],
  ['resnet18', 2, 2, 1e-4, null],
] as const)('%s: whole Adam training steps agree on reference, wasm and gpujs-webasm', (model, steps, batch, tol, weightTol) => {
  const runs: Record<string, Run> = {}
  it.each(['reference', 'wasm', 'gpujs-webasm'])(`%s: ${steps} steps at batch ${batch}`, (backend) => {
    if (backend.startsWith('gpujs')) registerGpujsBackend()
    setBackend(backend)
    runs[backend] = train(model, steps, batch)
  }, 120_000)

  it.each(['wasm', 'gpujs-webasm'])('%s matches the reference losses, first gradients and weights', (backend) => {
    const [want, got] = [runs['reference']!, runs[backend]!]
    if (steps > 2) expect(want.losses[steps - 1]!).toBeLessThan(want.losses[0]!) // it really trains
    for (let s = 0; s < steps; s++) {
      expect(Math.abs(got.losses[s]! - want.losses[s]!), `step ${s}: ${got.losses[s]} vs ${want.losses[s]}`).toBeLessThanOrEqual(tol * Math.abs(want.losses[s]!))
    }
    expect(worstError(got.grads, want.grads), 'gradients of the first step').toBeLessThanOrEqual(10 * tol)
    if (weightTol !== null) expect(worstError(got.weights, want.weights), 'weights after the last step').toBeLessThanOrEqual(weightTol)
    // on gpujs everything between the batch and the loss stayed on the device (BatchNorm's running statistics included)
    if (backend.startsWith('gpujs')) expect(got.lastStep).toMatchObject({ uploads: 2, downloads: 1 })
  })
})
