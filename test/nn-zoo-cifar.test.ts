// The four CIFAR networks run a forward AND a backward pass on a [2, 3, 32, 32] float32 batch
// (issue 3, "Done when"). Heavy: on the reference backend these take minutes (conv loops), with the
// WASM backend tens of seconds; each test logs its time and the backend it ran on.
import { describe, expect, it } from 'vitest'
import { F, Generator, getBackendInfo, randn, tensor } from '../src/index.js'
import { createModel } from '../src/nn/index.js'

describe('CIFAR networks: forward and backward on [2, 3, 32, 32]', () => {
  it.each(['vgg11', 'resnet18', 'senet18', 'densenet121'])('%s', (name) => {
    const g = new Generator(0)
    const model = createModel(name, { numClasses: 10, generator: g })
    const x = randn([2, 3, 32, 32], { generator: g })
    const t0 = performance.now()
    const out = model.forward(x)
    const t1 = performance.now()
    expect(out.shape).toEqual([2, 10])
    const loss = F.crossEntropy(out, tensor([3, 7], { dtype: 'int32' }))
    expect(Number.isFinite(loss.item())).toBe(true)
    loss.backward()
    const t2 = performance.now()
    console.log(`${name} on ${getBackendInfo().name}: forward ${(t1 - t0).toFixed(0)} ms, backward ${(t2 - t1).toFixed(0)} ms`)
    for (const [n, p] of model.namedParameters()) {
      if (!p.grad || p.grad.shape.join() !== p.shape.join()) throw new Error(`${name}: ${n} has no gradient of shape [${p.shape}]`)
      if (!p.grad.data.every(Number.isFinite)) throw new Error(`${name}: ${n} has a non-finite gradient`)
    }
    // the classifier's gradient is never all zero
    expect(model.parameters().at(-1)!.grad!.data.some((v) => v !== 0)).toBe(true)
  }, 600_000)
})
