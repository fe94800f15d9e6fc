// tidy(): tensors made inside the scope live in the wasm backend's memory (its kernels use them in
// place) and are freed when it ends; what the scope returns, keep()s, registers on a module or
// leaves as a leaf's gradient survives on the host; anything else is released, and using it is
// an error naming the op. Training inside tidy() gives the same bits as without, memory stays
// flat, and a step copies only what lives on the host (weights, optimizer state, the batch).
import { afterAll, describe, expect, it } from 'vitest'
import {
  Adam, BatchNorm2d, Conv2d, DynamicPriorRegularizer, F, Flatten, Generator, Linear, ReLU, Sequential, backendStats, createModel,
  disposeBackends, getBackend, keep, randint, randn, setBackend, statsSince, tensor, tidy, zeros, type Module, type Tensor,
} from '../src/index.js'
import type { WasmBackend } from '../src/tensor/backends/wasm/index.js'

afterAll(() => disposeBackends())

const wasmMemoryBytes = (): number => (getBackend() as WasmBackend).wasmEngine.memory.buffer.byteLength

describe('tidy() on the wasm backend', () => {
  it('tensors made inside live in WASM memory until the scope ends; the returned one moves to the host', () => {
    setBackend('wasm')
    // liveBuffers also counts the blocks of weights other tests moved with model.to(), until
    // they are garbage-collected: compare with the count before
    const held = backendStats().liveBuffers
    let inside = 0
    const y = tidy(() => {
      const a = randn([3, 40], { generator: new Generator(1) })
      const b = a.mul(2).relu()
      inside = backendStats().liveBuffers - held
      return b.sum(1)
    })
    expect(inside).toBeGreaterThanOrEqual(3)
    expect(backendStats().liveBuffers).toBe(held)
    expect(y.isReleased).toBe(false)
    expect(y.shape).toEqual([3])
    expect(y.data.buffer).toBeInstanceOf(ArrayBuffer) // a host array, not the shared WASM memory
  })

  it('a tensor that is neither returned nor kept is released: reading it or using it in an op is an error naming the op', () => {
    setBackend('wasm')
    let leaked: Tensor | null = null
    const kept = tidy(() => {
      leaked = zeros([2, 3]).add(1)
      return keep(zeros([2, 3]).add(2))
    })
    expect(kept.toArray()).toEqual([[2, 2, 2], [2, 2, 2]])
    expect(leaked!.isReleased).toBe(true)
    expect(() => leaked!.data).toThrow(/Tensor.data: this \[2,3\] tensor was released \(by dispose\(\), or when its tidy\(\) scope ended; return it from the scope or keep\(\) it/)
    expect(() => leaked!.add(1)).toThrow(/^add: this \[2,3\] tensor was released/)
    expect(() => leaked!.item()).toThrow(/released/)
  })

  it('returns arrays and objects of tensors, nests, and frees everything when fn throws', () => {
    setBackend('wasm')
    const held = backendStats().liveBuffers
    const { a, b } = tidy(() => {
      const inner = tidy(() => [tensor([1, 2, 3]).mul(2), tensor([4]).add(1)])
      return { a: inner[0]!.add(1), b: inner[1]! }
    })
    expect([a.toArray(), b.toArray()]).toEqual([[3, 5, 7], [5]])
    expect(() => tidy(() => {
      zeros([100]).add(1)
      throw new Error('boom')
    })).toThrow('boom')
    expect(backendStats().liveBuffers).toBe(held)
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/tidy: fn returned a Promise/)
    expect(() => tidy(3 as unknown as () => void)).toThrow(/tidy: expected a function to run, got number/)
    expect(() => keep([1, 2] as unknown as Tensor)).toThrow(/keep: expected a Tensor \(or null\), got an array/)
  })

  it('a model built inside keeps its parameters and buffers, and leaf gradients survive', () => {
    setBackend('wasm')
    const model = tidy(() => new Sequential([new Linear(20, 30, { generator: new Generator(2) }), new BatchNorm2d(3)]))
    for (const [, p] of model.namedParameters()) expect(p.isReleased).toBe(false)
    const w = (model.parameters()[0]!)
    const x = randn([4, 20], { generator: new Generator(3) })
    tidy(() => {
      (model as Sequential).at(0).forward(x).square().sum().backward()
    })
    expect(w.grad!.isReleased).toBe(false)
    expect(Number.isFinite(w.grad!.data[0]!)).toBe(true)
  })
})

function train(model: 'cnn2' | 'bn', steps: number, scoped: boolean, prior: boolean, moved = false): { losses: number[]; weights: number[][] } {
  const g = new Generator(0)
  const net = model === 'cnn2'
    ? createModel('cnn2', { numClasses: 10, inChannels: 1, generator: g })
    : new Sequential([new Conv2d(1, 6, 3, { padding: 1, generator: g }), new BatchNorm2d(6), new ReLU(), new Flatten(), new Linear(6 * 28 * 28, 10, { generator: g })])
  if (moved) net.to()
  const opt = new Adam(net.parameters(), { lr: 1e-3 })
  const reg = prior ? new DynamicPriorRegularizer({ lambda: 1e-3, generator: new Generator(5) }) : null
  const x = randn([8, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [8], { generator: g })
  const step = (): number => {
    opt.zeroGrad()
    const data = F.crossEntropy(net.forward(x), y)
    const loss = reg ? data.add(reg.penalty(net)) : data
    loss.backward()
    opt.step()
    return loss.item()
  }
  const losses: number[] = []
  for (let s = 0; s < steps; s++) losses.push(scoped ? tidy(step) : step())
  return { losses, weights: net.parameters().map((p) => Array.from(p.data)) }
}

// cnn2 with Adam on a fixed random batch; `step` is one training step (zeroGrad, loss, backward, step).
function cnn2Step(batch: number, moved = false): { net: Module; opt: Adam; step: () => void } {
  const g = new Generator(0)
  const net = createModel('cnn2', { numClasses: 10, inChannels: 1, generator: g })
  if (moved) net.to()
  const opt = new Adam(net.parameters(), { lr: 1e-3 })
  const x = randn([batch, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [batch], { generator: g })
  const step = (): void => {
    opt.zeroGrad()
    F.crossEntropy(net.forward(x), y).backward()
    opt.step()
  }
  return { net, opt, step }
}

describe('training inside tidy() gives the same bits, in flat memory', () => {
  it.each([
    ['cnn2 with the dynamic prior', 'cnn2', true],
    ['conv + BatchNorm + linear', 'bn', false],
  ] as const)('%s: 20 steps, losses and weights identical with and without tidy() and model.to()', (_name, model, prior) => {
    setBackend('wasm')
    const plain = train(model, 20, false, prior)
    const scoped = train(model, 20, true, prior)
    const moved = train(model, 20, true, prior, true)
    expect(scoped.losses).toEqual(plain.losses)
    expect(scoped.weights).toEqual(plain.weights)
    expect(moved.losses).toEqual(plain.losses)
    expect(moved.weights).toEqual(plain.weights)
  }, 60_000)

  it('cnn2: after the first steps the WASM memory stops growing and no block stays live', () => {
    setBackend('wasm')
    const { step } = cnn2Step(8)
    for (let s = 0; s < 3; s++) tidy(step)
    const bytes = wasmMemoryBytes()
    const held = backendStats().liveBuffers
    const live: number[] = []
    for (let s = 0; s < 30; s++) {
      tidy(step)
      live.push(backendStats().liveBuffers)
    }
    expect(wasmMemoryBytes()).toBe(bytes)
    expect(new Set(live)).toEqual(new Set([held]))
  }, 60_000)

  it('cnn2: a step inside tidy() copies only what lives on the host (batch, weights, optimizer state)', () => {
    setBackend('wasm')
    const { step } = cnn2Step(4)
    step()
    const before = backendStats()
    step()
    const plain = statsSince(before, backendStats())
    const mid = backendStats()
    tidy(step)
    const scoped = statsSince(mid, backendStats())
    // Outside tidy: 123 uploads, 84 downloads (test/backend-stats.test.ts). Inside, only what
    // lives on the host is copied: the batch (conv1's forward and weight gradient read it), conv1's
    // w and b, conv2's w and b (w again for its input gradient), fc1's and fc2's w in forward and
    // again in backward, and their biases (added in forward): 13; then Adam's p, m and v (8 x 3
    // in, 8 x 3 out; the gradient is resident): 37 uploads, 24 downloads in all.
    expect(plain).toMatchObject({ uploads: 123, downloads: 84 })
    expect(scoped).toMatchObject({ uploads: 37, downloads: 24, kernelCalls: plain.kernelCalls, liveBuffers: 0 })
  })

  it('cnn2 after model.to(): weights and optimizer state live in WASM memory, and a step copies only the batch', () => {
    setBackend('wasm')
    const { net, opt, step } = cnn2Step(4)
    const before = net.parameters().map((p) => Array.from(p.data))
    const held = backendStats().liveBuffers
    expect(net.to('wasm')).toBe(net)
    expect(backendStats().liveBuffers).toBe(held + 8) // 4 weights, 4 biases
    net.to() // already there: nothing moves
    expect(backendStats().liveBuffers).toBe(held + 8)
    expect(net.parameters().map((p) => Array.from(p.data))).toEqual(before)
    expect(net.parameters().every((p) => getBackend().holds(p.data))).toBe(true)
    tidy(step)
    const state = opt.stateDict().state as Record<string, Record<string, unknown>>
    expect(Object.keys(state)).toHaveLength(8)
    const mark = backendStats()
    tidy(step)
    // the batch, read by conv1's forward and by its weight gradient; nothing comes back
    expect(statsSince(mark, backendStats())).toMatchObject({ uploads: 2, downloads: 0, liveBuffers: 0 })
  })

  it('model.to() names a backend that is not the active one; on the reference backend it moves nothing', () => {
    setBackend('wasm')
    const net = new Linear(3, 2, { generator: new Generator(1) })
    expect(() => net.to('gpujs')).toThrow(/Linear.to: 'gpujs' is not the active backend \('wasm'\); call setBackend\('gpujs'\) first/)
    setBackend('reference')
    const w = net.weight.data
    net.to()
    expect(net.weight.data).toBe(w)
    setBackend('wasm')
  })
})

describe('tidy() on backends that keep tensors on the host', () => {
  it('reference: nothing moves, nothing is released, results are the same', () => {
    setBackend('reference')
    let t: Tensor | null = null
    const y = tidy(() => {
      t = tensor([1, 2, 3]).mul(2)
      return t.sum()
    })
    expect(y.item()).toBe(12)
    expect(t!.isReleased).toBe(false)
    expect(t!.toArray()).toEqual([2, 4, 6])
    expect(backendStats()).toMatchObject({ liveBuffers: 0 })
    setBackend('wasm')
  })
})

describe('tidy() edge cases', () => {
  it('a tensor made in an inner scope on an outer scope\'s array is released with the outer scope', () => {
    setBackend('wasm')
    let view: Tensor | null = null
    tidy(() => {
      const a = zeros([2, 3]).add(1)
      tidy(() => {
        view = a.reshape(3, 2) // shares a's array, made while the inner scope is open
      })
      expect(view!.isReleased).toBe(false) // the inner scope did not own a's array
    })
    expect(view!.isReleased).toBe(true)
    expect(() => view!.sum()).toThrow(/^sum: this \[3,2\] tensor was released/)
  })

  it('model.to() inside a scope moves weights made in it for good', () => {
    setBackend('wasm')
    const net = tidy(() => new Linear(4, 3, { generator: new Generator(2) }).to())
    expect(net.weight.isReleased).toBe(false)
    expect(getBackend().holds(net.weight.data)).toBe(true) // still in WASM memory after the scope
    expect(net.forward(zeros([2, 4]).add(1)).shape).toEqual([2, 3])
  })
})

describe('dispose()', () => {
  it('inside a scope, gives the block back at once when no other tensor shares it', () => {
    setBackend('wasm')
    tidy(() => {
      const a = zeros([100]).add(1)
      const b = a.reshape(10, 10) // shares a's block
      expect(b.sum().item()).toBe(100)
      const held = backendStats().liveBuffers
      a.dispose()
      expect(a.isReleased).toBe(true)
      expect(backendStats().liveBuffers).toBe(held) // b still uses the block
      expect(Array.from(b.data.subarray(0, 3))).toEqual([1, 1, 1]) // reads, allocates nothing
      b.dispose()
      expect(backendStats().liveBuffers).toBe(held - 1) // a's and b's block is free again
      a.dispose() // twice: nothing more happens
      expect(backendStats().liveBuffers).toBe(held - 1)
      expect(() => b.add(1)).toThrow(/^add: this \[10,10\] tensor was released \(by dispose\(\)/)
    })
  })

  it('outside any scope, marks the tensor released and leaves its host array to the garbage collector', () => {
    const t = tensor([1, 2, 3])
    t.dispose()
    expect(t.isReleased).toBe(true)
    expect(() => t.mul(2)).toThrow(/^mul: this \[3\] tensor was released/)
  })

  it('a kept tensor disposed before the scope ends is not moved out', () => {
    setBackend('wasm')
    const held = backendStats().liveBuffers
    const t = tidy(() => {
      const k = keep(zeros([50]).add(3))
      k.dispose()
      return tensor([1])
    })
    expect(t.toArray()).toEqual([1])
    expect(backendStats().liveBuffers).toBe(held)
  })
})
