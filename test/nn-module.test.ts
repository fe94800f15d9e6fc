// The Module API: dotted names, registration order, train/eval, zeroGrad, stateDict order,
// loadStateDict validation (all-or-nothing), containers, repr, losses as modules.
import { describe, expect, it } from 'vitest'
import { F, Generator, Tensor, tensor, zeros } from '../src/index.js'
import {
  BatchNorm1d, BatchNorm2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Identity, Linear, MSELoss, Module, ModuleList,
  NLLLoss, ReLU, Sequential, Sigmoid, Tanh, createModel, models,
} from '../src/nn/index.js'

class Block extends Module {
  readonly conv: Conv2d
  readonly bn: BatchNorm2d
  constructor(g: Generator) {
    super()
    this.conv = this.registerModule('conv', new Conv2d(2, 3, 3, { padding: 1, bias: false, generator: g }))
    this.bn = this.registerModule('bn', new BatchNorm2d(3))
  }
  override forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu()
  }
}

class Net extends Module {
  readonly scale: Tensor
  readonly stem: Block
  readonly head: Sequential
  constructor(seed = 0) {
    super()
    const g = new Generator(seed)
    this.scale = this.registerParameter('scale', tensor([1]))
    this.registerBuffer('steps', zeros([1]))
    this.stem = this.registerModule('stem', new Block(g))
    this.head = this.registerModule('head', new Sequential(new Flatten(), new Linear(3 * 4 * 4, 5, { generator: g }), new ReLU(), new Linear(5, 2, { generator: g })))
  }
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.stem.forward(x)).mul(this.scale)
  }
}

const snapshot = (m: Module): number[][] => [...m.stateDict().values()].map((t) => Array.from(t.data))

describe('Module: names and traversal', () => {
  it('namedParameters uses dotted names in registration order, like PyTorch', () => {
    expect(new Net().namedParameters().map(([n]) => n)).toEqual([
      'scale', 'stem.conv.weight', 'stem.bn.weight', 'stem.bn.bias', 'head.1.weight', 'head.1.bias', 'head.3.weight', 'head.3.bias',
    ])
  })

  it('parameters require grad; buffers do not; numParameters counts elements', () => {
    const net = new Net()
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true)
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['steps', 'stem.bn.running_mean', 'stem.bn.running_var', 'stem.bn.num_batches_tracked'])
    expect(net.buffers().some((b) => b.requiresGrad)).toBe(false)
    expect(net.numParameters()).toBe(1 + 54 + 3 + 3 + 48 * 5 + 5 + 5 * 2 + 2)
  })

  it('children, namedChildren, modules and namedModules (self as "")', () => {
    const net = new Net()
    expect(net.namedChildren().map(([n]) => n)).toEqual(['stem', 'head'])
    expect(net.children()).toEqual([net.stem, net.head])
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'stem', 'stem.conv', 'stem.bn', 'head', 'head.0', 'head.1', 'head.2', 'head.3'])
    expect(net.modules()[0]).toBe(net)
  })

  it('a shared parameter is listed once', () => {
    const lin = new Linear(2, 2)
    const seq = new Sequential(lin, lin)
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias'])
  })

  it('rejects duplicate or dotted names', () => {
    const m = new Module()
    m.registerParameter('w', zeros([1]))
    expect(() => m.registerBuffer('w', zeros([1]))).toThrow(/'w' is already registered/)
    expect(() => m.registerModule('a.b', new ReLU())).toThrow(/no '\.'/)
  })

  it('train() and eval() reach every descendant', () => {
    const net = new Net()
    net.eval()
    expect(net.modules().every((m) => !m.training)).toBe(true)
    net.train()
    expect(net.modules().every((m) => m.training)).toBe(true)
    expect(net.train(false).training).toBe(false)
  })

  it('zeroGrad sets every grad to null', () => {
    const net = new Net()
    net.forward(new Tensor(new Float32Array(2 * 2 * 16).map((_, i) => Math.sin(i)), [2, 2, 4, 4])).sum().backward()
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true)
    net.zeroGrad()
    expect(net.parameters().every((p) => p.grad === null)).toBe(true)
  })

  it('apply visits children before the parent', () => {
    const seen: string[] = []
    new Sequential(new ReLU(), new Sequential(new Tanh())).apply((m) => seen.push(m.constructor.name))
    expect(seen).toEqual(['ReLU', 'Tanh', 'Sequential', 'Sequential'])
  })

  it('a module without forward says so', () => {
    expect(() => new ModuleList().forward(zeros([1]))).toThrow(/ModuleList.forward: this module does not define forward/)
  })
})

describe('Module: stateDict and loadStateDict', () => {
  it('stateDict: each module\'s parameters, then its buffers, then its children (PyTorch order)', () => {
    const sd = new Net().stateDict()
    expect([...sd.keys()]).toEqual([
      'scale', 'steps', 'stem.conv.weight', 'stem.bn.weight', 'stem.bn.bias', 'stem.bn.running_mean', 'stem.bn.running_var',
      'stem.bn.num_batches_tracked', 'head.1.weight', 'head.1.bias', 'head.3.weight', 'head.3.bias',
    ])
    expect(sd.get('stem.bn.num_batches_tracked')!.dtype).toBe('int32')
    expect(sd.get('stem.bn.num_batches_tracked')!.shape).toEqual([])
  })

  it('stateDict tensors are detached and share storage with the module', () => {
    const net = new Net()
    const w = net.stateDict().get('head.1.weight')!
    expect(w.requiresGrad).toBe(false)
    expect(w.data).toBe(net.head.at(1).namedParameters()[0]![1].data)
  })

  it('loadStateDict copies every value in place (Map or Record)', () => {
    const a = new Net(1)
    const b = new Net(2)
    const weightBefore = b.stem.conv.weight
    expect(snapshot(a)).not.toEqual(snapshot(b))
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] })
    expect(snapshot(b)).toEqual(snapshot(a))
    expect(b.stem.conv.weight).toBe(weightBefore)
    const c = new Net(3)
    c.loadStateDict(Object.fromEntries(a.stateDict()))
    expect(snapshot(c)).toEqual(snapshot(a))
  })

  it('strict: a missing key fails, names it, and changes nothing', () => {
    const target = new Net(2)
    const before = snapshot(target)
    const sd = new Net(1).stateDict()
    sd.delete('head.3.bias')
    expect(() => target.loadStateDict(sd)).toThrow(/missing keys: head\.3\.bias/)
    expect(snapshot(target)).toEqual(before)
  })

  it('strict: an unexpected key fails, names it, and changes nothing', () => {
    const target = new Net(2)
    const before = snapshot(target)
    const sd = new Net(1).stateDict()
    sd.set('head.9.weight', zeros([2]))
    expect(() => target.loadStateDict(sd)).toThrow(/unexpected keys: head\.9\.weight/)
    expect(snapshot(target)).toEqual(before)
  })

  it('a wrong shape fails naming the key and both shapes, even when not strict, and changes nothing', () => {
    const target = new Net(2)
    const before = snapshot(target)
    const sd = new Net(1).stateDict()
    sd.set('head.1.weight', zeros([5, 47]))
    expect(() => target.loadStateDict(sd)).toThrow(/size mismatch for head\.1\.weight: expected shape \[5,48\], found \[5,47\]/)
    expect(() => target.loadStateDict(sd, { strict: false })).toThrow(/head\.1\.weight/)
    expect(snapshot(target)).toEqual(before)
  })

  it('a wrong dtype fails naming the key and both dtypes', () => {
    const target = new Net(2)
    const before = snapshot(target)
    const sd = new Net(1).stateDict()
    sd.set('scale', tensor([1], { dtype: 'float64' }))
    expect(() => target.loadStateDict(sd)).toThrow(/dtype mismatch for scale: expected float32, found float64/)
    expect(snapshot(target)).toEqual(before)
  })

  it('non-strict returns the missing and unexpected keys and loads the rest', () => {
    const src = new Net(1)
    const target = new Net(2)
    const sd = src.stateDict()
    sd.delete('scale')
    sd.set('extra', zeros([3]))
    expect(target.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['scale'], unexpectedKeys: ['extra'] })
    expect(Array.from(target.head.at(3).namedParameters()[0]![1].data)).toEqual(Array.from(src.head.at(3).namedParameters()[0]![1].data))
  })
})

describe('containers, simple layers and repr', () => {
  it('Sequential chains, indexes (negative too) and iterates', () => {
    const seq = new Sequential(new Flatten(), new Identity(), new Sigmoid())
    const x = tensor([[[0, 1]], [[2, 3]]])
    expect(seq.forward(x).shape).toEqual([2, 2])
    expect(seq.at(-1)).toBeInstanceOf(Sigmoid)
    expect([...seq].length).toBe(3)
    expect(() => seq.at(3)).toThrow(/Sequential.at: index 3 out of range for 3 modules/)
  })

  it('ModuleList registers pushed modules by position', () => {
    const list = new ModuleList([new Linear(2, 3)])
    expect(list.push(new Linear(3, 4))).toBe(2)
    expect(list.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias'])
    expect(list.at(1)).toBeInstanceOf(Linear)
    expect(list.length).toBe(2)
  })

  it('Flatten(startDim, endDim) and Tanh/ReLU/Sigmoid match the tensor functions', () => {
    const x = tensor([[[1, -2], [3, -4]]])
    expect(new Flatten(0, 1).forward(x).shape).toEqual([2, 2])
    expect(new ReLU().forward(x).toArray()).toEqual(x.relu().toArray())
    expect(new Tanh().forward(x).toArray()).toEqual(x.tanh().toArray())
  })

  it('Dropout: seeded in training, identity in eval', () => {
    const x = tensor(new Array(1000).fill(1))
    const a = new Dropout(0.5, { generator: new Generator(7) }).forward(x)
    const b = new Dropout(0.5, { generator: new Generator(7) }).forward(x)
    expect(Array.from(a.data)).toEqual(Array.from(b.data))
    const kept = Array.from(a.data).filter((v) => v !== 0)
    expect(kept.every((v) => v === 2)).toBe(true)
    expect(kept.length).toBeGreaterThan(430)
    expect(kept.length).toBeLessThan(570)
    const d = new Dropout(0.5).eval()
    expect(d.forward(x)).toBe(x)
    expect(() => new Dropout(1.5)).toThrow(/p must be in \[0, 1\], got 1.5/)
  })

  it('toString gives a PyTorch-like repr', () => {
    const seq = new Sequential(new Linear(784, 256), new ReLU(), new Sequential(new Linear(256, 10, { bias: false })))
    expect(String(seq)).toBe(
      'Sequential(\n' +
        '  (0): Linear(inFeatures=784, outFeatures=256, bias=true)\n' +
        '  (1): ReLU()\n' +
        '  (2): Sequential(\n' +
        '    (0): Linear(inFeatures=256, outFeatures=10, bias=false)\n' +
        '  )\n' +
        ')',
    )
    expect(String(new BatchNorm1d(4))).toBe('BatchNorm1d(4, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)')
  })

  it('Linear and Conv2d check their inputs', () => {
    expect(() => new Linear(3, 2).forward(zeros([4, 5]))).toThrow(/linear: input \[4,5\] has 5 features but weight \[2,3\] expects 3/)
    expect(() => new Conv2d(3, 2, 3).forward(zeros([3, 8, 8]))).toThrow(/Conv2d: expected a 4-D input, got shape \[3,8,8\]/)
    expect(() => new BatchNorm2d(3).forward(zeros([2, 4, 2, 2]))).toThrow(/BatchNorm2d: expected 3 channels in dim 1/)
  })
})

describe('losses as modules', () => {
  const logits = tensor([[1, 2, 0.5], [0.1, -1, 2]])
  const y = tensor([1, 2], { dtype: 'int32' })
  it('CrossEntropyLoss and NLLLoss equal the functional forms', () => {
    expect(new CrossEntropyLoss().forward(logits, y).item()).toBe(F.crossEntropy(logits, y).item())
    expect(new NLLLoss().forward(logits.logSoftmax(1), y).item()).toBe(F.crossEntropy(logits, y).item())
  })
  it('MSELoss is the mean squared error', () => {
    expect(new MSELoss().forward(tensor([1, 2, 3]), tensor([1, 0, 0])).item()).toBeCloseTo((0 + 4 + 9) / 3, 6)
  })
})

describe('createModel', () => {
  it('builds models by name and lists valid names for an unknown one', () => {
    expect(Object.keys(models)).toEqual(['mlp', 'cnn2', 'vgg11', 'resnet18', 'senet18', 'densenet121'])
    expect(createModel('mlp', { numClasses: 3 }).numParameters()).toBe(784 * 256 + 256 + 256 * 3 + 3)
    expect(() => createModel('resnet50')).toThrow(/unknown model 'resnet50'; valid names are mlp, cnn2, vgg11, resnet18, senet18, densenet121/)
    expect(() => createModel('toString')).toThrow(/unknown model/)
  })
})
