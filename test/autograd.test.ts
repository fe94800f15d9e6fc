// The autograd engine: hand-worked cases, accumulation, retainGraph, noGrad, detach,
// the iterative topological sort on a very deep graph, released buffers, toDot.
import { describe, expect, it } from 'vitest'
import { F, Generator, Tensor, noGrad, ones, randn, tensor, toDot, zeros, isGradEnabled } from '../src/index.js'
import { Linear } from './helpers/tiny-linear.js'

describe('backward, worked by hand', () => {
  it('broadcast [3,1] + [1,4] gives gradients of 4s and 3s', () => {
    const a = zeros([3, 1], { requiresGrad: true })
    const b = zeros([1, 4], { requiresGrad: true })
    a.add(b).sum().backward()
    expect(a.grad!.toArray()).toEqual([[4], [4], [4]])
    expect(b.grad!.toArray()).toEqual([[3, 3, 3, 3]])
  })

  it('z = x*y + x: dz/dx = y + 1, dz/dy = x', () => {
    const x = tensor([2], { requiresGrad: true })
    const y = tensor([5], { requiresGrad: true })
    x.mul(y).add(x).sum().backward()
    expect(x.grad!.item()).toBe(6)
    expect(y.grad!.item()).toBe(2)
  })

  it('accumulates into .grad across backward calls until zeroed', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    x.mul(3).sum().backward()
    x.mul(3).sum().backward()
    expect(Array.from(x.grad!.data)).toEqual([6, 6])
    x.grad = null
    x.square().sum().backward()
    expect(Array.from(x.grad!.data)).toEqual([2, 4])
  })

  it('takes an explicit upstream gradient for non-scalar outputs', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true })
    x.mul(x).backward(tensor([1, 0, 2]))
    expect(Array.from(x.grad!.data)).toEqual([2, 0, 12])
  })

  it('float64 stays float64 through backward, int32 inputs get no gradient', () => {
    const x = randn([2, 3], { dtype: 'float64', requiresGrad: true })
    x.gather(1, tensor([[0], [2]], { dtype: 'int32' })).sum().backward()
    expect(x.grad!.dtype).toBe('float64')
    expect(x.grad!.toArray()).toEqual([[1, 0, 0], [0, 0, 1]])
  })
})

describe('graph lifetime', () => {
  it('a second backward through a freed graph throws, unless retainGraph was set', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    const y = x.exp().sum()
    y.backward()
    expect(() => y.backward()).toThrow(/already freed.*retainGraph/)
    const z = x.exp().sum()
    z.backward(undefined, { retainGraph: true })
    expect(() => z.backward()).not.toThrow()
  })

  it('releases saved buffers after backward', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    const y = x.exp()
    const s = y.sum()
    expect(y.node!.ctx.saved.length).toBeGreaterThan(0)
    s.backward()
    expect(y.node!.ctx.saved).toEqual([])
    expect(y.node!.freed).toBe(true)
  })

  it('backpropagates through a chain of 100,000 ops without a stack overflow', () => {
    const x = tensor([1], { requiresGrad: true, dtype: 'float64' })
    let y = x
    for (let i = 0; i < 100_000; i++) y = y.add(1e-6)
    y.sum().backward()
    expect(x.grad!.item()).toBe(1)
  })

  it('a loop of 10,000 forward/backward steps does not grow memory', () => {
    const g = new Generator(0)
    const model = new Linear(16, 8, g)
    const x = randn([4, 16], { generator: g })
    const step = (): void => {
      const loss = F.relu(model.forward(x)).square().mean()
      loss.backward()
      model.weight.grad = null
      model.bias.grad = null
    }
    for (let i = 0; i < 500; i++) step()
    global.gc?.()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < 10_000; i++) step()
    global.gc?.()
    const after = process.memoryUsage().heapUsed
    // Generous: without gc() exposed, garbage not yet collected counts too.
    expect(after - before).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('noGrad, detach, requiresGrad_', () => {
  it('noGrad records nothing and restores recording afterwards', () => {
    const x = tensor([1], { requiresGrad: true })
    const y = noGrad(() => x.mul(2))
    expect(y.requiresGrad).toBe(false)
    expect(y.node).toBeNull()
    expect(isGradEnabled()).toBe(true)
    expect(() => noGrad(() => { throw new Error('inner') })).toThrow('inner')
    expect(isGradEnabled()).toBe(true)
  })

  it('detach shares data and cuts the graph', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    const d = x.mul(2).detach()
    expect(d.requiresGrad).toBe(false)
    expect(d.node).toBeNull()
    const y = ones([2]).requiresGrad_()
    expect(y.requiresGrad).toBe(true)
    expect(y.isLeaf).toBe(true)
  })

  it('int32 tensors cannot require grad', () => {
    expect(() => tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(/only float tensors can require grad.*int32/)
  })
})

describe('toDot', () => {
  it('draws ops as boxes and tensors with shapes, also after backward', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    const w = tensor([[1], [2]], { requiresGrad: true })
    const loss = x.unsqueeze(0).matmul(w).relu().sum()
    const before = toDot(loss)
    loss.backward()
    expect(toDot(loss)).toBe(before)
    for (const op of ['matmul', 'relu', 'sum', 'reshape']) expect(before).toContain(`label="${op}"`)
    expect(before).toMatch(/^digraph priorgrad \{/)
    expect(before).toContain('leaf [2]')
    expect(before.match(/->/g)!.length).toBe(9) // reshape 2, matmul 3, relu 2, sum 2
  })
})

describe('Tensor basics', () => {
  it('reshape shares storage, transpose copies', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]])
    expect(x.reshape(3, 2).data).toBe(x.data)
    const t = x.T
    expect(t.toArray()).toEqual([[1, 4], [2, 5], [3, 6]])
    expect(t.data).not.toBe(x.data)
  })

  it('prints like PyTorch', () => {
    expect(String(tensor([[1, -2.5], [3, 4]]))).toBe('tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]])')
    expect(String(tensor([1, 2], { dtype: 'float64', requiresGrad: true }))).toBe('tensor([1., 2.], dtype=float64, requiresGrad=true)')
    expect(String(tensor([3], { dtype: 'int32' }))).toBe('tensor([3], dtype=int32)')
    expect(String(tensor(2.5))).toBe('tensor(2.5000)')
    expect(String(zeros([2000]))).toContain('...')
    const y = tensor([1], { requiresGrad: true }).mul(2)
    expect(String(y)).toBe('tensor([2.], gradFn=<mul>)')
  })

  it('toArray, item, shape, dtype', () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float64' })
    expect(x.toArray()).toEqual([[1, 2], [3, 4]])
    expect(x.shape).toEqual([2, 2])
    expect(x.dtype).toBe('float64')
    expect(x.data).toBeInstanceOf(Float64Array)
    expect(x.sum().item()).toBe(10)
    expect(x.size(-1)).toBe(2)
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32')
  })

  it('NaN is allowed in tensor data', () => {
    expect(Number.isNaN(tensor([NaN, 1]).data[0])).toBe(true)
    // and ops propagate it, never hide it (relu(NaN) is NaN, as in PyTorch)
    expect(Number.isNaN(tensor([NaN, 1]).relu().data[0])).toBe(true)
  })

  it('argmax and max(dim) give indices; comparisons give masks', () => {
    const x = tensor([[1, 5, 2], [7, 0, 7]])
    expect(Array.from(x.argmax(1).data)).toEqual([1, 0])
    const { values, indices } = x.max(1)
    expect(Array.from(values.data)).toEqual([5, 7])
    expect(Array.from(indices.data)).toEqual([1, 0])
    expect(x.gt(2).toArray()).toEqual([[0, 1, 0], [1, 0, 1]])
  })
})

describe('keeps Tensor construction honest', () => {
  it('rejects data whose length does not match the shape', () => {
    expect(() => new Tensor(new Float32Array(3), [2, 2])).toThrow(/shape \[2,2\] needs 4 elements, data has 3/)
  })
})

describe('gradients nobody else holds (freshGradient)', () => {
  // weightedSquareSumAt marks its input gradient fresh: the engine adopts or sums into it
  const idx = tensor([0, 2], { dtype: 'int32' })
  const w2 = tensor([1, 1])
  it('sums contributions into a fresh gradient with the same values as a new sum, and copies nothing it must not', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true })
    // three contributions: fresh (2 x at 0 and 2), shared (add's gradOut, twice: x.mul(3) and x itself)
    const y = F.weightedSquareSumAt(x, idx, w2).add(x.mul(3).sum()).add(x.sum())
    y.backward()
    expect(Array.from(x.grad!.data)).toEqual([2 + 3 + 1, 0 + 3 + 1, 6 + 3 + 1])
    // the same graph without the fresh contribution first
    const z = tensor([1, -2, 3], { requiresGrad: true })
    z.mul(3).sum().add(z.sum()).add(F.weightedSquareSumAt(z, idx, w2)).backward()
    expect(Array.from(z.grad!.data)).toEqual(Array.from(x.grad!.data))
  })

  it("weightedSquareSumAt's gradient is added to another like any gradient (the value of prev.add(g)), in either order", () => {
    const c = tensor([-0, -0, 5])
    const sparseFirst = tensor([1, -2, 3], { requiresGrad: true })
    F.weightedSquareSumAt(sparseFirst, idx, w2).add(sparseFirst.mul(c).sum()).backward()
    const denseFirst = tensor([1, -2, 3], { requiresGrad: true })
    denseFirst.mul(c).sum().add(F.weightedSquareSumAt(denseFirst, idx, w2)).backward()
    for (const x of [sparseFirst, denseFirst]) {
      expect(Array.from(x.grad!.data)).toEqual([2, 0, 11])
      expect(Object.is(x.grad!.data[1], 0)).toBe(true) // -0 + 0 = +0, as torch.add gives
    }
    const two = tensor([1, -2, 3], { requiresGrad: true })
    F.weightedSquareSumAt(two, idx, w2).add(F.weightedSquareSumAt(two, tensor([1, 2], { dtype: 'int32' }), tensor([1, 1]))).backward()
    expect(Array.from(two.grad!.data)).toEqual([2, -4, 12])
  })

  it("an adopted gradient is the leaf's own: changing it changes no later backward, and grads still accumulate", () => {
    const x = tensor([1, -2, 3], { requiresGrad: true })
    F.weightedSquareSumAt(x, idx, w2).backward()
    const first = x.grad!
    expect(Array.from(first.data)).toEqual([2, 0, 6])
    F.weightedSquareSumAt(x, idx, w2).backward()
    expect(Array.from(x.grad!.data)).toEqual([4, 0, 12])
    expect(Array.from(first.data)).toEqual([2, 0, 6]) // accumulation made a new tensor
    x.grad!.data[0] = 100
    x.grad = null
    F.weightedSquareSumAt(x, idx, w2).backward()
    expect(Array.from(x.grad!.data)).toEqual([2, 0, 6])
  })
})

describe('copy_: writing values into a tensor in place, as PyTorch', () => {
  it('copies a tensor or a number, broadcast and converted to the destination dtype, and returns the destination', () => {
    const w = zeros([2, 3])
    expect(w.copy_(tensor([1, 2, 3]))).toBe(w)
    expect(w.toArray()).toEqual([[1, 2, 3], [1, 2, 3]])
    w.copy_(7)
    expect(w.toArray()).toEqual([[7, 7, 7], [7, 7, 7]])
    const labels = zeros([3], { dtype: 'int32' }).copy_(tensor([1.9, -1.9, 2]))
    expect(labels.toArray()).toEqual([1, -1, 2])
  })

  it('a leaf that requires grad is written inside noGrad (an SGD step), and refused outside it', () => {
    const w = tensor([1, 2]).requiresGrad_()
    w.mul(w).sum().backward()
    expect(() => w.copy_(0)).toThrow(/copy_: the destination \[2\] is a leaf that requires grad; write it inside noGrad/)
    noGrad(() => w.copy_(w.sub(w.grad!.mul(0.25))))
    expect(w.toArray()).toEqual([0.5, 1])
    expect(w.requiresGrad).toBe(true)
  })

  it('names the shapes that do not broadcast, and refuses a tensor made by an op', () => {
    expect(() => zeros([2, 3]).copy_(zeros([3, 2]))).toThrow(/copy_: shapes \[2,3\] and \[3,2\] cannot be broadcast/)
    expect(() => zeros([3]).copy_(zeros([2, 3]))).toThrow(/copy_: source \[2,3\] does not broadcast to the destination \[3\]/)
    const y = tensor([1, 2]).requiresGrad_().mul(2)
    expect(() => y.copy_(0)).toThrow(/copy_: the destination \[2\] was made by 'mul' and is part of a graph/)
  })
})
