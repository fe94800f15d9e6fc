// cnn2 (Conv2d(1->32,3x3,pad 1)+ReLU+MaxPool2 -> Conv2d(32->64,3x3,pad 1)+ReLU+MaxPool2 ->
// Flatten -> Linear(3136, 10)) trained with plain SGD on seeded random 28x28 images, on
// whatever backend is active; returns the loss of every step. The same autograd code runs on
// every backend, so the gpujs losses must equal the reference backend's within 1e-4 relative.
import { Conv2d } from '../../src/nn/layers/conv.js'
import { Linear } from '../../src/nn/layers/linear.js'
import { Flatten, ReLU } from '../../src/nn/layers/activation.js'
import { MaxPool2d } from '../../src/nn/layers/pooling.js'
import { Sequential } from '../../src/nn/layers/container.js'
import { crossEntropy } from '../../src/nn/functional.js'
import { randint, randn } from '../../src/tensor/creation.js'
import { noGrad } from '../../src/autograd/no-grad.js'
import { Generator } from '../../src/tensor/generator.js'
import { tidy } from '../../src/tensor/tidy.js'
import { backendStats } from '../../src/tensor/backends/registry.js'
import { statsSince, type BackendStats } from '../../src/tensor/backends/counters.js'
import { createModel } from '../../src/nn/models/index.js'
import { Adam } from '../../src/optim/adam.js'

/** Losses of `steps` SGD steps (lr 0.01) at batch size `batch`, all randomness from `seed`. */
export function trainCnn2(steps: number, batch: number, seed = 0): number[] {
  const g = new Generator(seed)
  const net = new Sequential(
    new Conv2d(1, 32, 3, { padding: 1, generator: g }), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 3, { padding: 1, generator: g }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(3136, 10, { generator: g }),
  )
  const x = randn([batch, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [batch], { generator: g })
  const losses: number[] = []
  for (let s = 0; s < steps; s++) {
    net.zeroGrad()
    const loss = crossEntropy(net.forward(x), y)
    loss.backward()
    losses.push(loss.item())
    noGrad(() => {
      for (const p of net.parameters()) {
        const d = p.data, gd = p.grad!.data
        for (let i = 0; i < d.length; i++) d[i] = d[i]! - 0.01 * gd[i]!
      }
    })
  }
  return losses
}

/**
 * The zoo's cnn2 (MNIST-shaped input) or resnet18 (CIFAR-shaped) trained as the library's trainer
 * runs a step (model.to(), one tidy() scope, Adam, zeroGrad after the step) on a new seeded batch
 * each step, on the active backend: each step's backendStats() difference and loss.
 */
export function trainResidency(model: 'cnn2' | 'resnet18', steps: number, batch: number): { stats: BackendStats[]; losses: number[] } {
  const g = new Generator(0)
  const cifar = model === 'resnet18'
  const net = createModel(model, { numClasses: 10, inChannels: cifar ? 3 : 1, generator: g }).to()
  const opt = new Adam(net.parameters(), { lr: 1e-3 })
  const stats: BackendStats[] = []
  const losses: number[] = []
  for (let s = 0; s < steps; s++) {
    const x = randn(cifar ? [batch, 3, 32, 32] : [batch, 1, 28, 28], { generator: g })
    const y = randint(0, 10, [batch], { generator: g })
    const before = backendStats()
    losses.push(tidy(() => {
      const loss = crossEntropy(net.forward(x), y)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      return loss.item()
    }))
    stats.push(statsSince(before, backendStats()))
  }
  return { stats, losses }
}

/** trainResidency for cnn2. */
export const cnn2Residency = (steps: number, batch: number): { stats: BackendStats[]; losses: number[] } => trainResidency('cnn2', steps, batch)
