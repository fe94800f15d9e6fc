// Every differentiable op, gradient-checked in float64 against central differences.
// The case list is keyed by op name and checked against the op registry, so an op
// added without a case here fails the suite; each case also asserts that its graph
// really contains the op it claims to test.
import { describe, expect, it } from 'vitest'
import { F, Tensor, cat, clamp, GradcheckError, gradcheck, opRegistry, pad, stack, where, type GradcheckOptions } from '../src/index.js'
import { input, ints, makeRng, type Kind } from './helpers/inputs.js'

type Spec = number[] | { shape: number[]; kind?: Kind; grad?: boolean } | Tensor
interface Case {
  title: string
  fn: (...xs: Tensor[]) => Tensor
  inputs: Spec[]
  options?: GradcheckOptions
}

const un = (name: string, kind: Kind = 'normal'): Case => ({
  title: `${name} [3,4]`,
  fn: (x) => (x as unknown as Record<string, () => Tensor>)[name]!.call(x),
  inputs: [{ shape: [3, 4], kind }],
})

const cases: Record<string, Case[]> = {
  neg: [un('neg')],
  exp: [un('exp')],
  log: [un('log', 'positive')],
  sqrt: [un('sqrt', 'positive')],
  abs: [un('abs', 'awayFromZero')],
  relu: [un('relu', 'awayFromZero')],
  sigmoid: [un('sigmoid')],
  tanh: [un('tanh')],
  reciprocal: [un('reciprocal', 'positive')],
  add: [
    { title: 'add [3,4]+[4]', fn: (a, b) => a.add(b), inputs: [[3, 4], [4]] },
    { title: 'add [3,1]+[1,4]', fn: (a, b) => a.add(b), inputs: [[3, 1], [1, 4]] },
    { title: 'add []+[2,3] (scalar tensor)', fn: (a, b) => a.add(b), inputs: [[], [2, 3]] },
  ],
  mul: [
    { title: 'mul [2,1,3]*[4,1]', fn: (a, b) => a.mul(b), inputs: [[2, 1, 3], [4, 1]] },
    { title: 'mul by itself (gradient accumulates)', fn: (a) => a.mul(a), inputs: [[3]] },
  ],
  pow: [
    { title: 'pow [3,4]^[4]', fn: (a, b) => a.pow(b), inputs: [{ shape: [3, 4], kind: 'positive' }, [4]] },
    { title: 'pow [3]^2.5', fn: (a) => a.pow(2.5), inputs: [{ shape: [3], kind: 'positive' }] },
  ],
  maximum: [{ title: 'maximum [3,4],[4]', fn: (a, b) => a.maximum(b), inputs: [[3, 4], [4]] }],
  minimum: [{ title: 'minimum [3,1],[1,4]', fn: (a, b) => a.minimum(b), inputs: [[3, 1], [1, 4]] }],
  where: [
    {
      title: 'where cond [3,4], a [3,4], b [4]',
      fn: (c, a, b) => where(c, a, b),
      inputs: [new Tensor(Float64Array.from({ length: 12 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), [3, 4]), [3, 4], [4]],
    },
  ],
  clamp: [
    { title: 'clamp [-0.5, 0.5]', fn: (x) => clamp(x, -0.5, 0.5), inputs: [[3, 4]] },
    { title: 'clamp min only', fn: (x) => x.clamp(0.2), inputs: [[5]] },
  ],
  cast: [
    { title: 'clone (cast to the same dtype)', fn: (x) => x.clone().mul(x), inputs: [[3, 2]] },
    // NOTE: a trip through float32 rounds at ~1e-7; a larger eps keeps the differences meaningful.
    { title: 'cast float64 -> float32 -> float64', fn: (x) => x.float().double().mul(3), inputs: [[4]], options: { eps: 1e-2 } },
  ],
  sum: [
    { title: 'sum all', fn: (x) => x.sum(), inputs: [[2, 3, 4]] },
    { title: 'sum dim 1', fn: (x) => x.sum(1), inputs: [[2, 3, 4]] },
    { title: 'sum dim -1 keepdim', fn: (x) => x.sum(-1, true), inputs: [[2, 3, 4]] },
    { title: 'sum dims [0,2]', fn: (x) => x.sum([0, 2]), inputs: [[2, 3, 4]] },
  ],
  matmul: [
    { title: 'matmul [3,4]@[4,5]', fn: (a, b) => a.matmul(b), inputs: [[3, 4], [4, 5]] },
    { title: 'matmul [2,3,4]@[4,5] (batch folded)', fn: (a, b) => a.matmul(b), inputs: [[2, 3, 4], [4, 5]] },
    { title: 'matmul [2,1,3,4]@[5,4,2] (batch broadcast)', fn: (a, b) => a.matmul(b), inputs: [[2, 1, 3, 4], [5, 4, 2]] },
    { title: 'matmul [4]@[4,3] (vector)', fn: (a, b) => a.matmul(b), inputs: [[4], [4, 3]] },
  ],
  linear: [
    { title: 'linear [4,6] by [3,6] + [3]', fn: (x, w, b) => F.linear(x, w, b), inputs: [[4, 6], [3, 6], [3]] },
    { title: 'linear [2,3,6] (batch dims) without bias', fn: (x, w) => F.linear(x, w), inputs: [[2, 3, 6], [3, 6]] },
  ],
  reshape: [{ title: 'reshape [3,4] -> [6,-1]', fn: (x) => x.reshape(6, -1).mul(x.reshape(6, 2)), inputs: [[3, 4]] }],
  permute: [
    { title: 'permute [2,3,4] by [2,0,1]', fn: (x) => x.permute(2, 0, 1), inputs: [[2, 3, 4]] },
    { title: 'transpose -1,-3', fn: (x) => x.transpose(-1, -3), inputs: [[2, 3, 4]] },
  ],
  expand: [{ title: 'expand [3,1] -> [2,3,4]', fn: (x) => x.expand(2, 3, 4), inputs: [[3, 1]] }],
  cat: [
    { title: 'cat dim 1', fn: (a, b) => cat([a, b], 1), inputs: [[2, 3], [2, 5]] },
    { title: 'stack dim -1', fn: (a, b) => stack([a, b], -1), inputs: [[2, 3], [2, 3]] },
  ],
  narrow: [{ title: 'narrow dim 1 start 1 length 2', fn: (x) => x.narrow(1, 1, 2), inputs: [[3, 5]] }],
  pad: [
    { title: 'pad last dim (1,2)', fn: (x) => pad(x, [1, 2]), inputs: [[2, 3]] },
    { title: 'pad (1,1,2,0) value 0.5', fn: (x) => pad(x, [1, 1, 2, 0], 0.5).mul(pad(x, [1, 1, 2, 0], 0.5)), inputs: [[2, 3, 4]] },
  ],
  gather: [
    { title: 'gather dim 1', fn: (x) => x.gather(1, ints([0, 3, 1, 1, 2, 0], [3, 2])), inputs: [[3, 4]] },
    { title: 'max dim 1 (gather of argmax)', fn: (x) => x.max(1).values, inputs: [[3, 5]] },
  ],
  indexSelect: [{ title: 'indexSelect dim 1 with a repeat', fn: (x) => x.indexSelect(1, ints([4, 1, 1, 0])), inputs: [[4, 5]] }],
  conv2d: [
    { title: 'conv2d stride 1 pad 0 with bias', fn: (x, w, b) => F.conv2d(x, w, b), inputs: [[2, 3, 7, 6], [4, 3, 3, 3], [4]] },
    { title: 'conv2d stride 2 pad 1', fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), inputs: [[2, 3, 7, 6], [4, 3, 3, 3], [4]] },
    { title: 'conv2d 5x5 pad 2', fn: (x, w) => F.conv2d(x, w, null, { padding: 2 }), inputs: [[1, 2, 5, 5], [3, 2, 5, 5]] },
    { title: 'conv2d 1x1 no bias', fn: (x, w) => F.conv2d(x, w), inputs: [[2, 3, 4, 5], [5, 3, 1, 1]] },
    { title: 'conv2d stride [2,1] pad [0,1]', fn: (x, w) => F.conv2d(x, w, null, { stride: [2, 1], padding: [0, 1] }), inputs: [[1, 2, 6, 5], [2, 2, 3, 2]] },
  ],
  maxPool2d: [
    { title: 'maxPool2d kernel 2', fn: (x) => F.maxPool2d(x, 2), inputs: [[2, 3, 6, 6]] },
    { title: 'maxPool2d kernel 3 stride 2 pad 1', fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [[1, 2, 7, 7]] },
  ],
  avgPool2d: [
    { title: 'avgPool2d kernel 2', fn: (x) => F.avgPool2d(x, 2), inputs: [[2, 3, 6, 6]] },
    { title: 'avgPool2d kernel 3 stride 2 pad 1', fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [[1, 2, 7, 7]] },
  ],
  adaptiveAvgPool2d: [
    { title: 'adaptiveAvgPool2d to 1', fn: (x) => F.adaptiveAvgPool2d(x, 1), inputs: [[2, 3, 5, 5]] },
    { title: 'adaptiveAvgPool2d to [3,2] (overlapping windows)', fn: (x) => F.adaptiveAvgPool2d(x, [3, 2]), inputs: [[1, 2, 7, 5]] },
  ],
  weightedSquareSum: [
    { title: 'weightedSquareSum [3,4] with weights [3,4] (both differentiated)', fn: (x, c) => F.weightedSquareSum(x, c), inputs: [[3, 4], [3, 4]] },
    { title: 'weightedSquareSum [5] with constant weights', fn: (x) => F.weightedSquareSum(x, new Tensor(Float64Array.of(0, 1, 2, 3, 10), [5])), inputs: [[5]] },
  ],
  weightedSquareSumAt: [
    { title: 'weightedSquareSumAt [3,4] at 3 entries (both differentiated)', fn: (x, c) => F.weightedSquareSumAt(x, ints([0, 5, 11]), c), inputs: [[3, 4], [3]] },
    { title: 'weightedSquareSumAt with a repeated index (gradients add)', fn: (x) => F.weightedSquareSumAt(x, ints([2, 2, 4]), new Tensor(Float64Array.of(1, 3, 2), [3])), inputs: [[5]] },
  ],
}

// Composed functions have no backward of their own, but their gradients are checked too.
const composed: Case[] = [
  { title: 'sub', fn: (a, b) => a.sub(b), inputs: [[3, 4], [4]] },
  { title: 'div', fn: (a, b) => a.div(b), inputs: [[3, 4], { shape: [4], kind: 'positive' }] },
  { title: 'mean dims [0,2] keepdim', fn: (x) => x.mean([0, 2], true), inputs: [[2, 3, 4]] },
  { title: 'var dim 1', fn: (x) => x.var(1), inputs: [[3, 5]] },
  { title: 'max global', fn: (x) => x.max(), inputs: [[3, 5]] },
  { title: 'min dim -1 keepdim', fn: (x) => x.min(-1, true).values, inputs: [[3, 5]] },
  { title: 'logsumexp dim 0 keepdim', fn: (x) => x.logsumexp(0, true), inputs: [[4, 6]] },
  { title: 'softmax dim 1', fn: (x) => x.softmax(1), inputs: [[4, 6]] },
  { title: 'logSoftmax dim -1', fn: (x) => x.logSoftmax(-1), inputs: [[4, 6]] },
  { title: 'crossEntropy', fn: (z) => F.crossEntropy(z, ints([0, 6, 3, 3, 1])), inputs: [[5, 7]] },
  { title: 'nllLoss', fn: (z) => F.nllLoss(z, ints([2, 0, 1])), inputs: [[3, 4]] },
  { title: 'mseLoss', fn: (a, b) => F.mseLoss(a, b), inputs: [[3, 4], [3, 4]] },
  { title: 'squeeze/unsqueeze/flatten', fn: (x) => x.unsqueeze(0).squeeze(2).flatten(), inputs: [[3, 1, 4]] },
]

function materialize(specs: Spec[], seed: number): Tensor[] {
  const rng = makeRng(seed)
  return specs.map((s) => {
    if (s instanceof Tensor) return s
    if (Array.isArray(s)) return input(s, rng)
    return input(s.shape, rng, s.kind ?? 'normal', s.grad ?? true)
  })
}

function opsInGraph(root: Tensor): Set<string> {
  const names = new Set<string>()
  const stack = [root]
  const seen = new Set<Tensor>()
  while (stack.length) {
    const t = stack.pop()!
    if (seen.has(t) || !t.node) continue
    seen.add(t)
    names.add(t.node.opName)
    stack.push(...t.node.inputs)
  }
  return names
}

describe('gradcheck of every registered op (float64, central differences)', () => {
  it('every op in the registry has at least one case', () => {
    const missing = [...opRegistry.keys()].filter((name) => !(name in cases) || cases[name]!.length === 0)
    expect(missing, `ops without a gradcheck case: ${missing.join(', ')}`).toEqual([])
    const unknown = Object.keys(cases).filter((name) => !opRegistry.has(name))
    expect(unknown).toEqual([])
  })

  for (const [op, list] of Object.entries(cases)) {
    list.forEach((c, i) => {
      it(`${op}: ${c.title}`, () => {
        const xs = materialize(c.inputs, 100 + i)
        expect(opsInGraph(c.fn(...xs))).toContain(op)
        expect(gradcheck(c.fn, xs, c.options)).toPass()
      })
    })
  }
})

describe('gradcheck of composed functions', () => {
  composed.forEach((c, i) => {
    it(c.title, () => {
      expect(gradcheck(c.fn, materialize(c.inputs, 200 + i), c.options)).toPass()
    })
  })
})

describe('gradcheck itself', () => {
  it('catches a wrong backward and names the worst element', () => {
    const wrong = { ...opRegistry.get('exp')!, name: 'exp', backward: (_ctx: unknown, g: Tensor) => [g] }
    const x = input([3], makeRng(1))
    const wrongExp = (t: Tensor): Tensor => {
      const y = t.exp()
      y.node = { ...y.node!, op: wrong }
      return y
    }
    // By default it throws, like PyTorch's raise_exception=True, with the report attached.
    let thrown: unknown
    try {
      gradcheck(wrongExp, [x])
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(GradcheckError)
    expect((thrown as GradcheckError).message).toMatch(/^gradcheck: Jacobian mismatch for input 0/)
    expect((thrown as GradcheckError).result.ok).toBe(false)
    // With raiseException: false the failing report comes back instead.
    const r = gradcheck(wrongExp, [x], { raiseException: false })
    expect(r.ok).toBe(false)
    expect(r.worst).not.toBeNull()
    expect(r.message).toMatch(/input 0 at element \d, output \d: analytic .* vs numeric/)
  })

  it('refuses float32 inputs', () => {
    const x = input([2], makeRng(2)).float().detach().requiresGrad_()
    expect(() => gradcheck((t) => t.exp(), [x])).toThrow(/float64/)
  })
})
