// Projected cross-entropy (spec "Projected cross-entropy", paper Sec. 2.5.2).
import { describe, expect, it } from 'vitest'
import { F, Generator, Tensor, gradcheck, tensor } from '../src/index.js'
import { ProjectedCrossEntropy } from '../src/regularizers/index.js'

function logits(B: number, C: number, seed: number, scale = 2): Tensor {
  const g = new Generator(`z${seed}`)
  return new Tensor(Float64Array.from({ length: B * C }, () => scale * g.normal()), [B, C]).requiresGrad_()
}
const ints = (v: number[]): Tensor => tensor(v, { dtype: 'int32' })
const pce = (o: ConstructorParameters<typeof ProjectedCrossEntropy>[0] = {}) => new ProjectedCrossEntropy({ generator: new Generator(0), ...o })

describe('ProjectedCrossEntropy', () => {
  it('with sp = 1 equals ordinary cross-entropy (value and gradient, float64, 1e-12)', () => {
    const z = logits(6, 10, 1)
    const y = ints([0, 3, 9, 2, 2, 7])
    for (const S of [1, 3]) {
      const loss = pce({ sp: 1, S }).forward(z, y)
      const ce = F.crossEntropy(z, y)
      expect(Math.abs(loss.item() - ce.item())).toBeLessThan(1e-12)
      z.grad = null
      loss.backward()
      const g1 = Float64Array.from(z.grad!.data)
      z.grad = null
      ce.backward()
      z.grad!.data.forEach((v, i) => expect(Math.abs(v - g1[i]!)).toBeLessThan(1e-12))
    }
  })

  it('keeps k = max(1, round(sp*C)) classes plus the target in every row', () => {
    const z = logits(20, 10, 2)
    const y = ints(Array.from({ length: 20 }, (_, i) => (i * 7) % 10))
    const loss = pce({ sp: 0.3, S: 4 })
    loss.forward(z, y)
    const m = loss.lastMasks()
    expect(m.shape).toEqual([4, 20, 10])
    let withExtra = 0
    for (let s = 0; s < 4; s++) {
      for (let b = 0; b < 20; b++) {
        const row = Array.from(m.data.subarray((s * 20 + b) * 10, (s * 20 + b + 1) * 10))
        expect(row[y.data[b]!]).toBe(1)
        const kept = row.reduce((a, v) => a + v, 0)
        expect([3, 4]).toContain(kept)
        if (kept === 4) withExtra++
      }
    }
    expect(withExtra).toBeGreaterThan(0) // the target was sometimes outside the sampled classes
  })

  it('equals the mean CE of the softmax restricted to the kept classes (worked from the masks)', () => {
    const z = logits(5, 7, 3)
    const y = ints([1, 0, 6, 3, 3])
    const loss = pce({ sp: 0.4, S: 2 })
    const value = loss.forward(z, y).item()
    const m = loss.lastMasks().data
    let expected = 0
    for (let s = 0; s < 2; s++) {
      for (let b = 0; b < 5; b++) {
        let max = -Infinity
        for (let c = 0; c < 7; c++) if (m[(s * 5 + b) * 7 + c]) max = Math.max(max, z.data[b * 7 + c]!)
        let sum = 0
        for (let c = 0; c < 7; c++) if (m[(s * 5 + b) * 7 + c]) sum += Math.exp(z.data[b * 7 + c]! - max)
        expected += max + Math.log(sum) - z.data[b * 7 + y.data[b]!]!
      }
    }
    expect(value).toBeCloseTo(expected / 10, 13)
  })

  it('favours high logits with score value, low ones with score literal', () => {
    const z = new Tensor(Float64Array.from([8, 0, 0, 0, 0, -8, 0, 0, 0, 0]), [1, 10])
    const y = ints([2])
    const counts = (score: 'value' | 'literal') => {
      const l = pce({ sp: 0.1, S: 50, score })
      l.forward(z, y)
      const m = l.lastMasks().data
      return [0, 5].map((c) => Array.from({ length: 50 }, (_, s) => m[s * 10 + c]!).reduce((a, v) => a + v, 0))
    }
    const [hiV, loV] = counts('value')
    const [hiL, loL] = counts('literal')
    expect(hiV).toBeGreaterThan(40)
    expect(loV).toBe(0)
    expect(loL).toBeGreaterThan(40)
    expect(hiL).toBe(0)
  })

  it('masks are deterministic by seed', () => {
    const z = logits(8, 10, 4)
    const y = ints([0, 1, 2, 3, 4, 5, 6, 7])
    const draw = (seed: number) => {
      const l = new ProjectedCrossEntropy({ generator: new Generator(seed), S: 2 })
      const v = l.forward(z, y).item()
      return { v, m: Array.from(l.lastMasks().data) }
    }
    expect(draw(5)).toEqual(draw(5))
    expect(draw(6).m).not.toEqual(draw(5).m)
  })

  it('gradcheck with the masks held fixed, and NaN-free gradients on masked classes', () => {
    const z = logits(4, 6, 5)
    const y = ints([5, 0, 2, 2])
    const loss = pce({ sp: 0.3, S: 2 })
    loss.forward(z, y)
    const masks = loss.lastMasks()
    const frozen = (x: Tensor) => {
      const restricted = x.reshape([1, 4, 6]).expand([2, 4, 6])
      return lossFromMasks(restricted, masks, x, y)
    }
    expect(gradcheck(frozen, [z])).toPass()
    // The module's own graph (same masks) gives the same gradient.
    z.grad = null
    const again = new ProjectedCrossEntropy({ generator: new Generator(0), sp: 0.3, S: 2 })
    again.forward(z, y).backward()
    expect(Array.from(again.lastMasks().data)).toEqual(Array.from(masks.data))
    const g = Float64Array.from(z.grad!.data)
    expect(g.every(Number.isFinite)).toBe(true)
    z.grad = null
    frozen(z).backward()
    z.grad!.data.forEach((v, i) => expect(v).toBeCloseTo(g[i]!, 14))
  })

  it('rejects bad options and inputs, naming them', () => {
    expect(() => new ProjectedCrossEntropy({ sp: 0 })).toThrow(/option sp must be in \(0, 1\], got 0/)
    expect(() => new ProjectedCrossEntropy({ S: 0 })).toThrow(/option S must be an integer >= 1/)
    expect(() => new ProjectedCrossEntropy({ score: 'x' as 'value' })).toThrow(/option score/)
    const z = logits(2, 3, 6)
    expect(() => pce().forward(z, ints([0, 3]))).toThrow(/target 3 at index 1 is out of range for 3 classes/)
    expect(() => pce().forward(z, tensor([0, 1]))).toThrow(/expected int32 targets/)
    z.data[1] = NaN
    expect(() => pce().forward(z, ints([0, 1]))).toThrow(/non-finite value NaN at flat index 1/)
  })
})

// The same loss written independently: -z_y + logsumexp over the kept classes, via a large
// negative offset on masked logits (a different construction from the module's where/-Infinity).
function lossFromMasks(zs: Tensor, masks: Tensor, z: Tensor, y: Tensor): Tensor {
  const off = new Tensor(Float64Array.from(masks.data, (v) => (v ? 0 : -1e4)), masks.shape)
  const lse = zs.add(off).logsumexp(2)
  const zy = z.gather(1, y.reshape([-1, 1])).reshape([-1])
  return lse.sub(zy).mean()
}
