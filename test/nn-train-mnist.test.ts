// Training smoke tests on real MNIST (issue 3's acceptance): the layers, Adam and the data
// pipeline together. These complement, never replace, the exact gradient and parity tests.
import { describe, expect, it } from 'vitest'
import { Adam, DataLoader, F, Generator, createModel, loadMnist, noGrad } from '../src/index.js'

describe('training on MNIST with Adam (lr 1e-3, batch 32)', () => {
  const train = loadMnist({ split: 'train' }).subset(2000).normalized()
  const test = loadMnist({ split: 'test' }).subset(1000).normalized(train.channelStats())

  it('mlp: one epoch on 2,000 images reaches at least 80% on 1,000 test images', () => {
    const model = createModel('mlp', { numClasses: 10, inChannels: 1, generator: new Generator(0) })
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 })
    for (const { x, y } of new DataLoader(train, { batchSize: 32, shuffle: true, seed: 0 }).epochBatches(0)) {
      optimizer.zeroGrad()
      F.crossEntropy(model.forward(x), y).backward()
      optimizer.step()
    }
    model.eval()
    let correct = 0
    noGrad(() => {
      for (const { x, y } of new DataLoader(test, { batchSize: 250 }).epochBatches(0)) {
        correct += model.forward(x).argmax(1).eq(y).sum().item()
      }
    })
    expect(correct / 1000).toBeGreaterThanOrEqual(0.8)
  })

  it('cnn2: 50 steps lower the training loss clearly', () => {
    const model = createModel('cnn2', { numClasses: 10, inChannels: 1, generator: new Generator(0) })
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 })
    const losses: number[] = []
    const batches = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1 }).epochBatches(0)
    for (let step = 0; step < 50; step++) {
      const { x, y } = batches.next().value!
      optimizer.zeroGrad()
      const loss = F.crossEntropy(model.forward(x), y)
      loss.backward()
      optimizer.step()
      losses.push(loss.item())
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(losses.slice(0, 5))).toBeGreaterThan(2) // chance level is ln 10 = 2.3
    expect(mean(losses.slice(-10))).toBeLessThan(0.5 * mean(losses.slice(0, 5)))
  })
})
