// L1/L2 baselines, the default parameter selection, the weight metrics, and the two building
// blocks of the dynamic prior's speed (bulk uniforms, linear-time top-k), by hand-worked cases.
import { describe, expect, it } from 'vitest'
import { Generator, Tensor, gradcheck, tensor } from '../src/index.js'
import { BatchNorm2d, Conv2d, Linear, Module, Sequential, cnn2, resnet18 } from '../src/nn/index.js'
import {
  L1, L2, defaultRegularized, fillUniform, globalL2Norm, kthLargest, meanAbsWeight, selectAbove, selectParams, selectTopK, weightDensity, weightStats,
} from '../src/regularizers/index.js'

const f64 = (values: number[], shape = [values.length]): Tensor => new Tensor(Float64Array.from(values), shape).requiresGrad_()

describe('parameter selection', () => {
  it('defaults to the weights of Linear and Conv2d layers: no biases, no BatchNorm', () => {
    expect(defaultRegularized(cnn2()).map(([n]) => n)).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight'])
    const names = defaultRegularized(resnet18({ numClasses: 10 })).map(([n]) => n)
    expect(names).toContain('layer2.0.shortcut.0.weight')
    expect(names).toContain('linear.weight')
    expect(names.some((n) => n.includes('bn') || n.endsWith('.bias') || n === 'layer2.0.shortcut.1.weight')).toBe(false)
    expect(names).toHaveLength(21) // 17 3x3 convs + 3 shortcut 1x1 convs + the classifier
  })

  it('a filter chooses others and sees the owning module', () => {
    const net = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new Linear(4, 3))
    const bn = selectParams(net, (_name, _p, m) => m instanceof BatchNorm2d).map(([n]) => n)
    expect(bn).toEqual(['1.weight', '1.bias'])
    const biases = selectParams(net, (name) => name.endsWith('bias')).map(([n]) => n)
    expect(biases).toEqual(['0.bias', '1.bias', '2.bias'])
  })

  it('takes named tensors as given and rejects anything else', () => {
    const w = f64([1, 2])
    expect(selectParams([['x', w]])).toEqual([['x', w]])
    expect(selectParams(new Map([['x', w]]))).toEqual([['x', w]])
    expect(() => selectParams([['x', w], ['x', w]])).toThrow(/'x' appears twice/)
    expect(() => selectParams([w] as unknown as [string, Tensor][])).toThrow(/expected a Module or an iterable of \[name, Tensor\] pairs/)
    expect(new Module().namedParameters()).toEqual([])
  })
})

describe('L1 and L2', () => {
  it('worked by hand: w = [3, -4], lambda = 0.5', () => {
    const w = f64([3, -4])
    const l1 = new L1({ lambda: 0.5 }).penalty([['w', w]])
    expect(l1.item()).toBe(3.5)
    l1.backward()
    expect(Array.from(w.grad!.data)).toEqual([0.5, -0.5])
    w.grad = null
    const l2 = new L2({ lambda: 0.5 }).penalty([['w', w]])
    expect(l2.item()).toBe(12.5)
    l2.backward()
    expect(Array.from(w.grad!.data)).toEqual([3, -4]) // 2 * lambda * w
  })

  it('defaults: L1 lambda 1e-5, L2 lambda 5e-4, on the default selection of a model', () => {
    expect(new L1().lambda).toBe(1e-5)
    expect(new L2().lambda).toBe(5e-4)
    const model = cnn2()
    const expected = defaultRegularized(model).reduce((a, [, t]) => a + Array.from(t.data).reduce((s, v) => s + v * v, 0), 0)
    // float32 sums over 421k entries: compare relatively
    expect(Math.abs(new L2().penalty(model).item() / (5e-4 * expected) - 1)).toBeLessThan(1e-3)
    expect(model.parameters().every((p) => p.grad === null)).toBe(true)
  })

  it('gradcheck on several tensors', () => {
    const g = new Generator(1)
    const a = f64(Array.from({ length: 6 }, () => g.normal() + 0.2 * Math.sign(g.normal())), [2, 3])
    const b = f64(Array.from({ length: 4 }, () => g.normal() + 0.5))
    expect(gradcheck((x, y) => new L2({ lambda: 0.3 }).penalty([['a', x], ['b', y]]), [a, b])).toPass()
    expect(gradcheck((x, y) => new L1({ lambda: 0.3 }).penalty([['a', x], ['b', y]]), [a, b])).toPass()
  })

  it('rejects a negative or non-finite lambda, naming the option', () => {
    expect(() => new L1({ lambda: -1 })).toThrow(/L1: option lambda must be a finite number >= 0, got -1/)
    expect(() => new L2({ lambda: NaN })).toThrow(/L2: option lambda/)
  })
})

describe('weight metrics', () => {
  const a = tensor([0, 0.5, -2, 1e-4], { dtype: 'float64' })
  const b = tensor([[0.02, -0.005]], { dtype: 'float64' })
  it('density counts |w| > tau over all entries of the set', () => {
    expect(weightDensity(a, 1e-3)).toBe(0.5)
    expect(weightDensity(a, 0)).toBe(0.75)
    expect(weightDensity([a, b], 1e-2)).toBe(3 / 6)
    expect(weightDensity([['a', a], ['b', b]], 1e-1)).toBe(2 / 6)
    expect(weightDensity(tensor([-0.5, 0.5]), 0.5)).toBe(0) // strictly greater
  })
  it('mean |w| and the global L2 norm', () => {
    expect(meanAbsWeight(a)).toBeCloseTo((0.5 + 2 + 1e-4) / 4, 15)
    expect(globalL2Norm([tensor([3]), tensor([[4]])])).toBe(5)
  })
  it('weightStats: per layer by dotted name and for the whole selection', () => {
    const net = new Sequential(new Linear(2, 2, { bias: true }), new Linear(2, 1))
    net.namedParameters().forEach(([, p], i) => p.data.set(i === 0 ? [0.5, -0.05, 0.005, 0] : i === 2 ? [3, 4] : p.data.map(() => 9)))
    const s = weightStats(net)
    expect(s.taus).toEqual([1e-3, 1e-2, 1e-1])
    expect(s.layers.map((l) => l.name)).toEqual(['0.weight', '1.weight'])
    expect(s.layers[0]!.density).toEqual([0.75, 0.5, 0.25])
    expect(s.layers[1]!.l2Norm).toBe(5)
    expect(s.total.numel).toBe(6)
    expect(s.total.density).toEqual([5 / 6, 4 / 6, 3 / 6])
    expect(s.total.l2Norm).toBeCloseTo(Math.sqrt(0.25 + 0.0025 + 0.000025 + 25), 6)
    expect(s.total.meanAbs).toBeCloseTo((0.555 + 7) / 6, 6)
  })
  it('rejects bad tau and empty input', () => {
    expect(() => weightDensity(a, -1)).toThrow(/weightDensity: tau must be a finite number >= 0, got -1/)
    expect(() => meanAbsWeight([])).toThrow(/meanAbsWeight: no entries to measure/)
  })
})

// Issue #21: NaN/Inf weights used to give a NaN/Inf penalty or metric silently (weightDensity
// skipped NaN). One rule for both families (metrics.ts): reject, naming the function, the tensor
// and the flat index of the first non-finite entry.
describe('non-finite weights are rejected by the penalties and the metrics', () => {
  const bad = (v: number): Tensor => f64([0.5, -1, v, v]) // first non-finite entry at flat index 2
  const msg = (op: string, what: string, v: number, shape = '4'): RegExp =>
    new RegExp(`${op}: ${what} has a non-finite value ${v} at flat index 2 \\(shape \\[${shape}\\]\\); expected finite values`)
  for (const v of [NaN, Infinity, -Infinity]) {
    it(`L1.penalty and L2.penalty on ${v}, whatever lambda`, () => {
      const params: [string, Tensor][] = [['a', f64([1, 2])], ['fc.weight', bad(v)]]
      expect(() => new L1().penalty(params)).toThrow(msg('L1\\.penalty', "parameter 'fc\\.weight'", v))
      expect(() => new L2().penalty(params)).toThrow(msg('L2\\.penalty', "parameter 'fc\\.weight'", v))
      expect(() => new L1({ lambda: 0 }).penalty(params)).toThrow(msg('L1\\.penalty', "parameter 'fc\\.weight'", v))
    })
    it(`weightDensity, meanAbsWeight, globalL2Norm and weightStats on ${v}`, () => {
      expect(() => weightDensity(bad(v), 0.1)).toThrow(msg('weightDensity', 'the tensor', v))
      expect(() => meanAbsWeight([f64([1]), bad(v)])).toThrow(msg('meanAbsWeight', 'tensor 1', v))
      expect(() => globalL2Norm([['x', bad(v)]])).toThrow(msg('globalL2Norm', "parameter 'x'", v))
      const net = new Sequential(new Linear(2, 2), new Linear(4, 1))
      const [name, w] = net.namedParameters().find(([n]) => n === '1.weight')!
      w.data[2] = v
      expect(() => weightStats(net)).toThrow(msg('weightStats', `parameter '${name.replace('.', '\\.')}'`, v, '1,4'))
    })
  }
  it('a float32 L2 penalty that overflows with finite weights is an error, not Infinity', () => {
    const w = new Tensor(Float32Array.from([1, 2e19, 3e19]), [3])
    expect(() => new L2({ lambda: 1 }).penalty([['w', w]])).toThrow(
      /L2\.penalty: the penalty is Infinity although every weight is finite: the float32 sum overflowed \(largest \|w\| [^,]+, parameter 'w' at flat index 2\); expected a finite penalty/,
    )
  })
})

describe('building blocks', () => {
  it('fillUniform reproduces generator.uniform() bit for bit and leaves the generator where uniform() would', () => {
    const g1 = new Generator(123)
    const g2 = new Generator(123)
    const out = new Float64Array(1000)
    fillUniform(g1, out, 10, 500)
    const expected = Array.from({ length: 500 }, () => g2.uniform())
    expect(Array.from(out.subarray(10, 510))).toEqual(expected)
    expect(out[9]).toBe(0)
    expect(out[510]).toBe(0)
    expect(g1.uniform()).toBe(g2.uniform())
    expect(() => fillUniform(g1, out, 900, 200)).toThrow(/does not fit an array of length 1000/)
  })

  it('kthLargest and selectTopK: ties go to the lower index', () => {
    const v = Float64Array.of(1, 5, 3, 5, 5, 0)
    const scratch = new Float64Array(6)
    expect([1, 2, 3, 4, 5, 6].map((k) => kthLargest(v, 6, k, scratch))).toEqual([5, 5, 5, 3, 1, 0])
    const out = new Int32Array(8)
    expect(selectTopK(v, 6, 2, scratch, out, 3)).toBe(2)
    expect(Array.from(out.subarray(3, 5))).toEqual([1, 3])
    selectTopK(v, 6, 4, scratch, out, 0)
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 2, 3, 4])
  })

  it('selectTopK agrees with a full sort on random and tie-heavy inputs', () => {
    const g = new Generator(9)
    const cases = [[1, 0], [257, 0], [1000, 3], [5000, 1], [20000, 0], [20000, 50], [30000, 2]] as const
    for (const [n, levels] of cases) {
      const v = Float64Array.from({ length: n }, () => (levels ? Math.floor(g.uniform() * levels) : g.uniform()))
      for (const k of [1, Math.ceil(n / 100), Math.max(1, Math.floor(n / 16)), Math.ceil(n / 3), n]) {
        const out = new Int32Array(k)
        selectTopK(v, n, k, new Float64Array(n), out, 0)
        const ref = Array.from(v, (x, i) => [x, i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map(([, i]) => i).sort((p, q) => p - q)
        expect(Array.from(out)).toEqual(ref)
      }
    }
  })

  it('selectAbove keeps values strictly above the threshold and grows its output', () => {
    const r = selectAbove(Float64Array.of(0.1, 0.6, 0.5, 0.9), 4, 0.5, new Int32Array(1), 0)
    expect(r.count).toBe(2)
    expect(Array.from(r.out.subarray(0, 2))).toEqual([1, 3])
  })
})
