// Layers and blocks: gradcheck in float64 (inputs AND parameters), and BatchNorm's train/eval
// behaviour and running statistics against values worked by hand.
import { describe, expect, it } from 'vitest'
import { Generator, Tensor, gradcheck, tensor } from '../src/index.js'
import {
  AdaptiveAvgPool2d, AvgPool2d, BasicBlock, BatchNorm1d, BatchNorm2d, Conv2d, DenseBottleneck, Linear, MaxPool2d, Module,
  PreActSEBlock, Sequential, Transition, Flatten, ReLU, init,
} from '../src/nn/index.js'
import { input, makeRng } from './helpers/inputs.js'

const lo = (seed: number) => ({ generator: new Generator(seed), dtype: 'float64' as const })

// Gradcheck a module's forward with respect to its input and every parameter (optionally a subset).
function checkModule(m: Module, shape: number[], seed = 0, params = m.parameters()) {
  const x = input(shape, makeRng(seed))
  return gradcheck((xi) => m.forward(xi!), [x, ...params])
}

// BatchNorm's affine parameters start at 1 and 0; make them generic so their gradients are tested.
function randomizeAffine(m: Module, seed: number): Module {
  const g = new Generator(seed)
  for (const bn of m.modules()) if (bn instanceof BatchNorm1d || bn instanceof BatchNorm2d) {
    init.uniform(bn.weight!, 0.5, 1.5, g)
    init.uniform(bn.bias!, -0.5, 0.5, g)
  }
  return m
}

describe('gradcheck of layers (float64, input and parameters)', () => {
  it('Linear [2,3] -> [2,4]', () => {
    expect(checkModule(new Linear(3, 4, lo(1)), [2, 3])).toPass()
  })
  it('Linear without bias on a 3-D input', () => {
    expect(checkModule(new Linear(3, 2, { ...lo(2), bias: false }), [2, 2, 3])).toPass()
  })
  it('Conv2d 3x3, stride 2, padding 1', () => {
    expect(checkModule(new Conv2d(2, 3, 3, { ...lo(3), stride: 2, padding: 1 }), [2, 2, 5, 5])).toPass()
  })
  it('Conv2d 1x1 without bias', () => {
    expect(checkModule(new Conv2d(3, 2, 1, { ...lo(4), bias: false }), [2, 3, 2, 2])).toPass()
  })
  it('BatchNorm1d train mode, [batch, features] and [batch, features, length]', () => {
    expect(checkModule(randomizeAffine(new BatchNorm1d(3, { dtype: 'float64' }), 5), [4, 3])).toPass()
    expect(checkModule(randomizeAffine(new BatchNorm1d(2, { dtype: 'float64' }), 6), [3, 2, 2])).toPass()
  })
  it('BatchNorm2d train mode (running stats update between calls, under noGrad)', () => {
    const bn = randomizeAffine(new BatchNorm2d(2, { dtype: 'float64' }), 7) as BatchNorm2d
    expect(checkModule(bn, [3, 2, 2, 2])).toPass()
    expect(bn.numBatchesTracked!.data[0]).toBeGreaterThan(1)
    expect(bn.runningMean!.requiresGrad).toBe(false)
  })
  it('BatchNorm2d eval mode and without affine', () => {
    const bn = randomizeAffine(new BatchNorm2d(2, { dtype: 'float64' }), 8) as BatchNorm2d
    bn.runningMean!.data.set([0.3, -0.2])
    bn.runningVar!.data.set([0.5, 2])
    expect(checkModule(bn.eval(), [2, 2, 2, 2])).toPass()
    expect(checkModule(new BatchNorm2d(2, { dtype: 'float64', affine: false }), [3, 2, 2, 2])).toPass()
  })
  it('pooling layers', () => {
    expect(checkModule(new MaxPool2d(2), [1, 2, 4, 4])).toPass()
    expect(checkModule(new AvgPool2d(3, 2, 1), [1, 2, 5, 5])).toPass()
    expect(checkModule(new AdaptiveAvgPool2d([2, 1]), [1, 2, 5, 3])).toPass()
  })
  it('Sequential of Conv2d, ReLU, Flatten, Linear', () => {
    const seq = new Sequential(new Conv2d(1, 2, 3, lo(9)), new ReLU(), new Flatten(), new Linear(8, 3, lo(10)))
    expect(checkModule(seq, [2, 1, 4, 4], 1)).toPass()
  })
})

describe('gradcheck of the zoo blocks (float64, small widths, train mode)', () => {
  it('BasicBlock with the conv1x1 + BN shortcut (stride 2, 2 -> 4 channels)', () => {
    expect(checkModule(randomizeAffine(new BasicBlock(2, 4, 2, lo(11)), 12), [2, 2, 4, 4])).toPass()
  })
  it('BasicBlock with the identity shortcut', () => {
    expect(checkModule(randomizeAffine(new BasicBlock(3, 3, 1, lo(13)), 14), [2, 3, 3, 3])).toPass()
  })
  it('PreActSEBlock (squeeze-and-excitation, conv1x1 shortcut, 4 -> 16 channels, stride 2)', () => {
    const block = randomizeAffine(new PreActSEBlock(4, 16, 2, lo(15)), 16) as PreActSEBlock
    // NOTE: every parameter except conv2.weight (2,304 elements; the input's gradient runs through it) keeps this fast.
    const params = block.namedParameters().filter(([n]) => n !== 'conv2.weight').map(([, t]) => t)
    expect(checkModule(block, [2, 4, 4, 4], 2, params)).toPass()
  })
  it('PreActSEBlock with the identity shortcut (16 channels)', () => {
    const block = randomizeAffine(new PreActSEBlock(16, 16, 1, lo(17)), 18) as PreActSEBlock
    expect(block.shortcut).toBeNull()
    // NOTE: the input's gradient runs through conv1 and conv2; their weights (2,304 elements each) are left out for speed.
    expect(checkModule(block, [2, 16, 2, 2], 3, [block.fc1.weight, block.fc2.weight, block.fc2.bias!, block.bn1.weight!, block.bn2.bias!])).toPass()
  })
  it('DenseBottleneck with its concatenation (new features first)', () => {
    const block = randomizeAffine(new DenseBottleneck(3, 2, lo(19)), 20) as DenseBottleneck
    const x = input([2, 3, 3, 3], makeRng(4))
    const out = block.forward(x)
    expect(out.shape).toEqual([2, 5, 3, 3])
    expect(Array.from(out.narrow(1, 2, 3).data)).toEqual(Array.from(x.data)) // the input rides along unchanged
    expect(checkModule(block, [2, 3, 3, 3], 4)).toPass()
  })
  it('Transition (BN, ReLU, conv1x1, avgPool 2)', () => {
    const block = randomizeAffine(new Transition(4, 2, lo(21)), 22)
    expect(block.forward(input([2, 4, 4, 4], makeRng(5), 'normal', false)).shape).toEqual([2, 2, 2, 2])
    expect(checkModule(block, [2, 4, 4, 4], 5)).toPass()
  })
})

describe('BatchNorm: train vs eval, running statistics (worked by hand)', () => {
  // channel 0: 1, 3, 5 (mean 3); channel 1: 2, 6, 4 (mean 4); biased var 8/3, unbiased var 4 for both
  const x = () => tensor([[1, 2], [3, 6], [5, 4]], { dtype: 'float64' })
  const flat = (a: unknown): number[] => (Array.isArray(a) ? a.flat(Infinity) : [a]) as number[]
  const close = (t: Tensor, expected: unknown[], digits = 10) => {
    const want = flat(expected)
    expect(t.numel()).toBe(want.length)
    flat(t.toArray()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits))
  }

  it('train mode normalises with the batch mean and the BIASED variance', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' })
    const s = Math.sqrt(8 / 3 + 1e-5)
    close(bn.forward(x()), [[-2 / s, -2 / s], [0, 2 / s], [2 / s, 0]])
  })

  it('running stats: momentum 0.1 with the UNBIASED variance; num_batches_tracked counts', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' })
    bn.forward(x())
    close(bn.runningMean!, [0.3, 0.4])
    close(bn.runningVar!, [0.9 + 0.4, 0.9 + 0.4])
    bn.forward(x())
    close(bn.runningMean!, [0.9 * 0.3 + 0.3, 0.9 * 0.4 + 0.4])
    close(bn.runningVar!, [0.9 * 1.3 + 0.4, 0.9 * 1.3 + 0.4])
    expect(bn.numBatchesTracked!.data[0]).toBe(2)
  })

  it('eval mode uses the running stats and leaves them alone', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' })
    bn.forward(x())
    bn.weight!.data.set([2, 1])
    bn.bias!.data.set([0.5, -1])
    bn.eval()
    const y = bn.forward(x())
    const s = Math.sqrt(1.3 + 1e-5)
    close(y, [
      [(2 * (1 - 0.3)) / s + 0.5, (2 - 0.4) / s - 1],
      [(2 * (3 - 0.3)) / s + 0.5, (6 - 0.4) / s - 1],
      [(2 * (5 - 0.3)) / s + 0.5, (4 - 0.4) / s - 1],
    ])
    close(bn.runningMean!, [0.3, 0.4])
    expect(bn.numBatchesTracked!.data[0]).toBe(1)
  })

  it('momentum null gives the cumulative average; trackRunningStats false has no buffers and uses batch stats', () => {
    const cum = new BatchNorm1d(2, { dtype: 'float64', momentum: null })
    cum.forward(x())
    close(cum.runningMean!, [3, 4])
    close(cum.runningVar!, [4, 4])
    const noTrack = new BatchNorm1d(2, { dtype: 'float64', trackRunningStats: false })
    expect(noTrack.buffers()).toEqual([])
    close(noTrack.eval().forward(x()), new BatchNorm1d(2, { dtype: 'float64' }).forward(x()).toArray() as unknown[])
  })

  it('BatchNorm2d statistics are per channel over batch, height and width', () => {
    // [2, 2, 1, 2]: channel 0 holds 0, 2, 4, 6 (mean 3, biased var 5, unbiased 20/3); channel 1 holds 1, 1, 1, 1
    const xs = tensor([[[[0, 2]], [[1, 1]]], [[[4, 6]], [[1, 1]]]], { dtype: 'float64' })
    const bn = new BatchNorm2d(2, { dtype: 'float64' })
    const y = bn.forward(xs)
    const s = Math.sqrt(5 + 1e-5)
    close(y, [[[[-3 / s, -1 / s]], [[0, 0]]], [[[1 / s, 3 / s]], [[0, 0]]]])
    close(bn.runningMean!, [0.3, 0.1])
    close(bn.runningVar!, [0.9 + (0.1 * 20) / 3, 0.9])
  })

  it('train mode needs more than one value per channel', () => {
    expect(() => new BatchNorm1d(2).forward(tensor([[1, 2]]))).toThrow(/expected more than 1 value per channel when training, got 1/)
    expect(new BatchNorm1d(2).eval().forward(tensor([[1, 2]])).shape).toEqual([1, 2])
  })
})
