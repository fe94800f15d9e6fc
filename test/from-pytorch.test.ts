// The habits a PyTorch user brings (issue: "What a PyTorch user trips over"), one block per habit:
// each case failed, or gave a raw runtime error, before the library accepted the PyTorch form.
import { describe, expect, it } from 'vitest'
import {
  DataLoader,
  Generator,
  ImageDataset,
  Linear,
  ModuleList,
  ReLU,
  manualSeed,
  mlp,
  noGrad,
  toDot,
  Sequential,
  ones,
  rand,
  randn,
  tensor,
  zeros,
} from '../src/index.js'

describe('backward takes PyTorch\'s options', () => {
  it('backward({ retainGraph: true }) keeps the graph for a second backward', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true })
    const y = x.mul(x).sum()
    y.backward({ retainGraph: true })
    y.backward()
    // d/dx sum(x^2) = 2x, accumulated twice
    expect(x.grad!.toArray()).toEqual([4, 8, 12])
    expect(() => y.backward()).toThrow(/already freed .* backward\(\{ retainGraph: true \}\)/)
  })

  it('backward(grad, options) still works, and a wrong gradient is named', () => {
    const x = tensor([1, 2], { requiresGrad: true })
    x.mul(3).backward(tensor([1, 1]), { retainGraph: false })
    expect(x.grad!.toArray()).toEqual([3, 3])
    expect(() => x.mul(3).backward(tensor([1, 1, 1]))).toThrow('backward: gradient shape [3] does not match output shape [2]')
    expect(() => x.mul(3).backward([1, 1] as never)).toThrow('backward: the gradient must be a Tensor of shape [2] (or nothing, for a one-element output), got an array of length 2')
    expect(() => x.mul(3).backward(tensor([1, 1], { dtype: 'float64' }))).toThrow('backward: gradient dtype float64 does not match output dtype float32')
    expect(() => x.sum().backward({ retain_graph: true } as never)).toThrow("backward: unknown option 'retain_graph' (known: retainGraph)")
  })
})

/** 10 one-pixel images labelled 0..9; pixel value = label. */
function tinyDataset(): ImageDataset {
  const labels = Int32Array.from({ length: 10 }, (_, i) => i)
  return new ImageDataset({ pixels: Uint8Array.from(labels), labels, shape: [1, 1, 1], numClasses: 10 })
}

describe('DataLoader iterates like torch.utils.data.DataLoader', () => {
  it('for (const [x, y] of loader) runs one epoch; length is the batch count', () => {
    const loader = new DataLoader(tinyDataset(), { batchSize: 4 })
    expect(loader.length).toBe(3)
    const labels: number[] = []
    for (const [x, y] of loader) {
      expect(x!.shape[1]).toBe(1)
      labels.push(...Array.from(y!.data))
    }
    expect(labels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    // The object form keeps working.
    expect([...loader].map(({ y }) => y.shape[0])).toEqual([4, 4, 2])
  })

  it('each pass is the next epoch (a new shuffle), the same in every run; setEpoch picks one', () => {
    const order = (l: DataLoader): number[] => [...l].flatMap((b) => Array.from(b.y.data))
    const a = new DataLoader(tinyDataset(), { batchSize: 5, shuffle: true, seed: 7 })
    const b = new DataLoader(tinyDataset(), { batchSize: 5, shuffle: true, seed: 7 })
    const a0 = order(a)
    const a1 = order(a)
    expect(a1).not.toEqual(a0)
    expect(order(b)).toEqual(a0)
    expect(b.nextEpoch).toBe(1)
    b.setEpoch(0)
    expect(order(b)).toEqual(a0)
    expect(a1).toEqual(Array.from(a.epochOrder(1)))
    expect(() => b.setEpoch(-1)).toThrow('DataLoader: epoch must be an integer >= 0, got -1')
  })
})

describe('stateDict is an ordered Map (PyTorch\'s OrderedDict)', () => {
  it('enumerates in PyTorch\'s order and round-trips through a plain object', () => {
    const net = new Sequential(new Linear(2, 3, { generator: new Generator(0) }), new ReLU(), new Linear(3, 1, { generator: new Generator(1) }))
    const sd = net.stateDict()
    expect([...sd.keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias'])
    const plain = Object.fromEntries(sd)
    expect(Object.keys(plain)).toEqual([...sd.keys()])
    const copy = new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1))
    copy.loadStateDict(plain)
    expect(copy.stateDict().get('2.weight')!.toArray()).toEqual(sd.get('2.weight')!.toArray())
  })
})

describe('creation functions take PyTorch\'s size arguments', () => {
  it('zeros(3, 4) = zeros([3, 4]), with options last', () => {
    expect(zeros(3, 4).shape).toEqual([3, 4])
    expect(ones(2, { dtype: 'float64' }).dtype).toBe('float64')
    expect(randn(3, 4, { generator: new Generator(1) }).toArray()).toEqual(randn([3, 4], { generator: new Generator(1) }).toArray())
    expect(rand(2, 2, { requiresGrad: true }).requiresGrad).toBe(true)
    expect(zeros().shape).toEqual([])
  })

  it('bad sizes and options are named by the function', () => {
    expect(() => zeros('3' as never)).toThrow("zeros: expected a shape like zeros(2, 3) or zeros([2, 3]), optionally with an options object last; got '3'")
    expect(() => zeros([2.5])).toThrow('zeros: invalid shape [2.5]: sizes must be non-negative integers, got 2.5 at position 0')
    expect(() => randn(3, { requires_grad: true } as never)).toThrow("randn: unknown option 'requires_grad' (known: dtype, requiresGrad, generator)")
    expect(() => ones(2, { dtype: 'float16' } as never)).toThrow("ones: dtype must be 'float32', 'float64' or 'int32', got 'float16'")
    expect(() => tensor([1], { dtyp: 'float64' } as never)).toThrow("tensor: unknown option 'dtyp'")
  })
})

describe('containers take what PyTorch\'s take', () => {
  it('Sequential from modules, an array, or named modules (the OrderedDict form)', () => {
    const x = randn(1, 2, { generator: new Generator(3) })
    const fromArray = new Sequential([new Linear(2, 3, { generator: new Generator(0) }), new ReLU()])
    const fromArgs = new Sequential(new Linear(2, 3, { generator: new Generator(0) }), new ReLU())
    expect(fromArray.forward(x).toArray()).toEqual(fromArgs.forward(x).toArray())
    const named = new Sequential(new Map<string, Linear | ReLU>([['fc', new Linear(2, 3)], ['act', new ReLU()]]))
    expect([...named.stateDict().keys()]).toEqual(['fc.weight', 'fc.bias'])
    expect([...new Sequential({ fc: new Linear(2, 3) }).stateDict().keys()]).toEqual(['fc.weight', 'fc.bias'])
  })

  it('a non-module is named with its position', () => {
    expect(() => new Sequential(Linear as never)).toThrow("Sequential: argument 0 must be a Module, got the function or class 'Linear' (did you forget new?)")
    expect(() => new Sequential([new ReLU(), 3 as never])).toThrow('Sequential: element 1 of the array must be a Module, got a value of type number')
    expect(() => new ModuleList(new ReLU() as never)).toThrow('ModuleList: expected an array (or other iterable) of modules, got a single Module (wrap it in [ ])')
  })

  it('layer constructors name a bad size', () => {
    expect(() => new Linear('a' as never, 3)).toThrow("Linear: inFeatures must be an integer >= 1, got 'a'")
    expect(() => new DataLoader(3 as never, { batchSize: 2 })).toThrow('DataLoader: the first argument must be a Dataset')
  })
})

describe('binary ops name a bad operand', () => {
  it('a string or an array where a Tensor or number belongs', () => {
    expect(() => randn(2).add('x' as never)).toThrow('add: expected a Tensor or a number, got string')
    expect(() => randn(2).mul([1, 2] as never)).toThrow('mul: expected a Tensor or a number, got an array (wrap it with tensor())')
    expect(() => randn(2).gt(null as never)).toThrow('gt: expected a Tensor or a number, got null')
  })
})

describe('public entry points name themselves', () => {
  it('models, noGrad, toDot and softmax check their arguments', () => {
    expect(() => mlp({ hidden: 3 } as never)).toThrow("MLP: unknown option 'hidden' (known: numClasses, inChannels, inputSize, generator, dtype)")
    expect(() => mlp({ numClasses: 0 })).toThrow('MLP: numClasses must be an integer >= 1, got 0')
    expect(() => noGrad(3 as never)).toThrow('noGrad: expected a function to run without recording, got number')
    expect(() => toDot(3 as never)).toThrow('toDot: expected the Tensor whose graph to draw, got number')
    expect(() => randn(2, 3).softmax(4)).toThrow('softmax: dim 4 is out of range for a tensor with 2 dims (expected -2..1)')
  })
})

describe('seeds are checked', () => {
  it('a NaN or object seed is an error, not the string "NaN"', () => {
    expect(() => new Generator({} as never)).toThrow('Generator: seed must be a finite number or a string, got object')
    expect(() => manualSeed(Number.NaN)).toThrow('Generator: seed must be a finite number or a string, got NaN')
  })
})
