// Initialisation: reproducible from the seed, PyTorch's bounds, and the right distributions.
import { describe, expect, it } from 'vitest'
import { Generator, manualSeed, zeros } from '../src/index.js'
import { BatchNorm2d, Conv2d, Linear, init, mlp } from '../src/nn/index.js'

const values = (t: { data: ArrayLike<number> }): number[] => Array.from(t.data)
const maxAbs = (xs: number[]): number => xs.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const variance = (xs: number[]): number => {
  const m = mean(xs)
  return mean(xs.map((v) => (v - m) ** 2))
}

describe('init', () => {
  it('the same seed gives the same weights; a different seed differs', () => {
    const a = mlp({ generator: new Generator(3) }).parameters().map(values)
    const b = mlp({ generator: new Generator(3) }).parameters().map(values)
    const c = mlp({ generator: new Generator(4) }).parameters().map(values)
    expect(a).toEqual(b)
    expect(a[0]).not.toEqual(c[0])
  })

  it('without a generator, manualSeed makes layers reproducible', () => {
    manualSeed(11)
    const a = values(new Linear(5, 4).weight)
    manualSeed(11)
    expect(values(new Linear(5, 4).weight)).toEqual(a)
  })

  it('calculateFanInAndFanOut for Linear and Conv2d weights', () => {
    expect(init.calculateFanInAndFanOut(zeros([256, 784]))).toEqual({ fanIn: 784, fanOut: 256 })
    expect(init.calculateFanInAndFanOut(zeros([64, 3, 3, 3]))).toEqual({ fanIn: 27, fanOut: 576 })
    expect(() => init.calculateFanInAndFanOut(zeros([5]))).toThrow(/at least 2 dims, got shape \[5\]/)
  })

  it('Linear default init: weight and bias within 1/sqrt(fanIn), as PyTorch (kaiming a=sqrt(5))', () => {
    const fc = new Linear(400, 300, { generator: new Generator(0) })
    // PyTorch: gain = sqrt(2 / (1 + 5)), std = gain / sqrt(400), bound = sqrt(3) * std = 1/sqrt(400) = 0.05
    const bound = Math.sqrt(3) * (Math.sqrt(2 / (1 + 5)) / Math.sqrt(400))
    expect(bound).toBeCloseTo(0.05, 12)
    const w = values(fc.weight)
    expect(maxAbs(w)).toBeLessThanOrEqual(bound)
    expect(maxAbs(w)).toBeGreaterThan(0.99 * bound)
    expect(variance(w)).toBeCloseTo(bound ** 2 / 3, 5) // U(-b, b) has variance b^2/3
    expect(maxAbs(values(fc.bias!))).toBeLessThanOrEqual(0.05)
    expect(maxAbs(values(fc.bias!))).toBeGreaterThan(0.045)
  })

  it('Conv2d default init uses fanIn = inChannels * kh * kw', () => {
    const conv = new Conv2d(16, 32, 3, { generator: new Generator(1) })
    const bound = 1 / Math.sqrt(16 * 9)
    expect(maxAbs(values(conv.weight))).toBeLessThanOrEqual(bound)
    expect(maxAbs(values(conv.weight))).toBeGreaterThan(0.99 * bound)
    expect(maxAbs(values(conv.bias!))).toBeLessThanOrEqual(bound)
  })

  it('kaimingUniform (relu, fanIn): bound sqrt(6/fanIn), roughly uniform', () => {
    const t = init.kaimingUniform(zeros([200, 100]), { nonlinearity: 'relu', generator: new Generator(2) })
    const bound = Math.sqrt(6 / 100)
    const w = values(t)
    expect(maxAbs(w)).toBeLessThanOrEqual(bound)
    expect(Math.abs(mean(w))).toBeLessThan(0.01 * bound * 3)
    // a quarter of the draws in each quarter of [-b, b]
    for (let q = 0; q < 4; q++) {
      const lo = -bound + (q * bound) / 2
      const share = w.filter((v) => v >= lo && v < lo + bound / 2).length / w.length
      expect(share).toBeGreaterThan(0.24)
      expect(share).toBeLessThan(0.26)
    }
  })

  it('kaimingNormal (fanOut): std gain/sqrt(fanOut)', () => {
    const t = init.kaimingNormal(zeros([100, 50, 2, 2]), { mode: 'fanOut', nonlinearity: 'relu', generator: new Generator(3) })
    expect(Math.sqrt(variance(values(t)))).toBeCloseTo(Math.sqrt(2) / Math.sqrt(400), 2)
  })

  it('xavierUniform and xavierNormal', () => {
    const u = values(init.xavierUniform(zeros([300, 200]), { gain: 2, generator: new Generator(4) }))
    const bound = 2 * Math.sqrt(6 / 500)
    expect(maxAbs(u)).toBeLessThanOrEqual(bound)
    expect(maxAbs(u)).toBeGreaterThan(0.99 * bound)
    const n = values(init.xavierNormal(zeros([300, 200]), { generator: new Generator(5) }))
    expect(Math.sqrt(variance(n))).toBeCloseTo(Math.sqrt(2 / 500), 3)
  })

  it('uniform, normal, zeros, ones, calculateGain', () => {
    const u = values(init.uniform(zeros([1000]), 2, 3, new Generator(6)))
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2)
    expect(Math.max(...u)).toBeLessThan(3)
    const n = values(init.normal(zeros([20000], { dtype: 'float64' }), 5, 2, new Generator(7)))
    expect(mean(n)).toBeCloseTo(5, 1)
    expect(Math.sqrt(variance(n))).toBeCloseTo(2, 1)
    expect(values(init.ones(zeros([3])))).toEqual([1, 1, 1])
    expect(values(init.zeros(init.ones(zeros([2]))))).toEqual([0, 0])
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12)
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12)
  })

  it('init writes in place and records no graph', () => {
    const fc = new Linear(3, 2)
    const w = fc.weight
    init.xavierUniform(fc.weight)
    expect(fc.weight).toBe(w)
    expect(fc.weight.isLeaf).toBe(true)
  })

  it('BatchNorm starts at weight 1, bias 0, running mean 0, running var 1', () => {
    const bn = new BatchNorm2d(3)
    expect(values(bn.weight!)).toEqual([1, 1, 1])
    expect(values(bn.bias!)).toEqual([0, 0, 0])
    expect(values(bn.runningMean!)).toEqual([0, 0, 0])
    expect(values(bn.runningVar!)).toEqual([1, 1, 1])
    expect(values(bn.numBatchesTracked!)).toEqual([0])
  })
})
