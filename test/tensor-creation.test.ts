// Creation functions and the seeded Generator: same seed, same bits.
import { describe, expect, it } from 'vitest'
import { Generator, arange, eye, full, manualSeed, ones, rand, randint, randn, tensor, zeros } from '../src/index.js'

describe('creation', () => {
  it('tensor() infers shape and dtype, copies typed arrays', () => {
    const src = new Float64Array([1, 2, 3, 4])
    const t = tensor(src, { shape: [2, 2] })
    expect(t.dtype).toBe('float64')
    expect(t.toArray()).toEqual([[1, 2], [3, 4]])
    src[0] = 9
    expect(t.data[0]).toBe(1)
    expect(tensor(5).shape).toEqual([])
    expect(tensor([[true, false]]).toArray()).toEqual([[1, 0]])
    expect(tensor([]).shape).toEqual([0])
  })

  it('zeros, ones, full, eye, arange', () => {
    expect(zeros([2]).toArray()).toEqual([0, 0])
    expect(ones([2], { dtype: 'int32' }).dtype).toBe('int32')
    expect(full([2], 0.5).toArray()).toEqual([0.5, 0.5])
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]])
    expect(arange(4).toArray()).toEqual([0, 1, 2, 3])
    expect(arange(4).dtype).toBe('int32')
    expect(arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75])
    expect(arange(5, 1, -2).toArray()).toEqual([5, 3])
    expect(() => arange(0, 1, 0)).toThrow(/^arange: step must be a non-zero/)
  })

  it('randint stays in range, rand in [0,1), randn is roughly standard normal', () => {
    const g = new Generator(1)
    const r = randint(3, 7, [1000], { generator: g })
    expect(r.dtype).toBe('int32')
    expect(Math.min(...r.data)).toBe(3)
    expect(Math.max(...r.data)).toBe(6)
    const u = rand([1000], { generator: g })
    expect(u.data.every((v) => v >= 0 && v < 1)).toBe(true)
    const n = randn([20000], { generator: g, dtype: 'float64' })
    expect(Math.abs(n.mean().item())).toBeLessThan(0.03)
    expect(Math.abs(n.var().item() - 1)).toBeLessThan(0.05)
  })
})

describe('Generator', () => {
  it('same seed gives the same bits; different seeds differ; seed 0 is valid', () => {
    const a = randn([16], { generator: new Generator(0) })
    const b = randn([16], { generator: new Generator(0) })
    const c = randn([16], { generator: new Generator(1) })
    expect(Array.from(a.data)).toEqual(Array.from(b.data))
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data))
  })

  it('manualSeed resets the global generator', () => {
    manualSeed(42)
    const a = rand([8])
    manualSeed(42)
    expect(Array.from(rand([8]).data)).toEqual(Array.from(a.data))
  })

  it('state() and setState() restore the stream exactly, through JSON', () => {
    const g = new Generator('exp-7')
    g.uniform()
    const saved = JSON.parse(JSON.stringify(g.state()))
    const next = [g.uniform(), g.normal(), g.int(100)]
    const h = new Generator(999).setState(saved)
    expect([h.uniform(), h.normal(), h.int(100)]).toEqual(next)
    expect(h.seed).toBe('exp-7')
    expect(() => h.setState({ seed: 1 } as never)).toThrow(/^Generator.setState: expected/)
  })

  it('permutation is a permutation', () => {
    const p = new Generator(3).permutation(50)
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(50).keys()])
  })
})
