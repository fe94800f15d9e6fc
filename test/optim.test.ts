// Optimizers and lr schedules against PyTorch 1.13 (test/fixtures/optim.json, float64):
// trajectories, schedules, state dict round trips, allocation-free steps and option checks.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Tensor } from '../src/tensor/tensor.js'
import { Adam, AdamW, CosineAnnealingLR, SGD, StepLR, type Optimizer } from '../src/optim/index.js'

interface Case {
  id: string
  optimizer: 'SGD' | 'Adam' | 'AdamW'
  options: Record<string, unknown>
  params: Array<{ shape: number[]; data: number[] }>
  grads: Array<Array<{ data: number[] }>>
  trajectory: Array<Array<{ data: number[] }>>
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  cases: Case[]
  schedulers: Array<{ id: string; type: string; options: Record<string, number>; lrs: number[] }>
}

const makeParams = (c: Case): Tensor[] => c.params.map((p) => new Tensor(Float64Array.from(p.data), p.shape).requiresGrad_())

function makeOptimizer(kind: string, params: Tensor[], options: any): Optimizer<{ lr: number }> {
  if (kind === 'SGD') return new SGD(params, options)
  if (kind === 'Adam') return new Adam(params, options)
  return new AdamW(params, options)
}
function setGrads(params: Tensor[], grads: Array<{ data: number[] }>): void {
  params.forEach((p, i) => {
    p.grad = new Tensor(Float64Array.from(grads[i]!.data), p.shape)
  })
}
/** Largest |a - b| / (1 + |b|): absolute near 0, relative for large values. */
function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)))
  return worst
}

describe('optimizers reproduce PyTorch 1.13 trajectories (float64)', () => {
  it.each(fixture.cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const params = makeParams(c)
    const opt = makeOptimizer(c.optimizer, params, c.options)
    c.grads.forEach((gs, t) => {
      setGrads(params, gs)
      opt.step()
      params.forEach((p, k) => {
        const err = maxError(p.data, c.trajectory[t]![k]!.data)
        expect(err, `step ${t + 1}, param ${k}`).toBeLessThan(1e-6)
      })
    })
    // The agreement is far tighter than the 1e-6 required; show it stays so.
    expect(maxError(params[0]!.data, c.trajectory[7]![0]!.data)).toBeLessThan(1e-13)
  })

  it.each(['SGD nesterov momentum 0.9', 'Adam amsgrad', 'AdamW default'])('%s in float32 stays within float32 rounding of the float64 trajectory', (id) => {
    const c = fixture.cases.find((x) => x.id === id)!
    const params = c.params.map((p) => new Tensor(Float32Array.from(p.data), p.shape))
    const opt = makeOptimizer(c.optimizer, params, c.options)
    c.grads.forEach((gs) => {
      params.forEach((p, i) => {
        p.grad = new Tensor(Float32Array.from(gs[i]!.data), p.shape)
      })
      opt.step()
    })
    params.forEach((p, k) => expect(maxError(p.data, c.trajectory[7]![k]!.data)).toBeLessThan(1e-5))
  })

  it('a fixture case differs from a wrong rule (the comparison can fail)', () => {
    const c = fixture.cases.find((x) => x.id === 'Adam weightDecay 0.1')!
    const params = makeParams(c)
    const opt = new AdamW(params, c.options) // decoupled decay instead of L2: a different trajectory
    c.grads.forEach((gs) => {
      setGrads(params, gs)
      opt.step()
    })
    expect(maxError(params[0]!.data, c.trajectory[7]![0]!.data)).toBeGreaterThan(1e-6)
  })
})

describe('lr schedulers match PyTorch sequences', () => {
  it.each(fixture.schedulers.map((s) => [s.id, s] as const))('%s', (_id, s) => {
    const opt = new SGD([new Tensor(new Float64Array(1), [1])], { lr: s.options.lr! })
    const sched = s.type === 'StepLR'
      ? new StepLR(opt, { stepSize: s.options.stepSize!, gamma: s.options.gamma! })
      : new CosineAnnealingLR(opt, { tMax: s.options.tMax!, etaMin: s.options.etaMin! })
    const lrs: number[] = []
    for (let e = 0; e < s.lrs.length; e++) {
      lrs.push(opt.paramGroups[0]!.lr)
      expect(sched.getLastLr()).toEqual([opt.paramGroups[0]!.lr])
      sched.step()
    }
    lrs.forEach((lr, e) => expect(Math.abs(lr - s.lrs[e]!), `epoch ${e}`).toBeLessThan(1e-12))
  })

  it('cosine schedule equals the closed form, and a scheduler state dict resumes the sequence', () => {
    const opt = new SGD([new Tensor(new Float64Array(1), [1])], { lr: 0.1 })
    const sched = new CosineAnnealingLR(opt, { tMax: 7, etaMin: 0.01 })
    for (let e = 0; e < 5; e++) sched.step()
    const saved = JSON.parse(JSON.stringify({ opt: opt.stateDict(), sched: sched.stateDict() }))
    const opt2 = new SGD([new Tensor(new Float64Array(1), [1])], { lr: 0.5 })
    const sched2 = new CosineAnnealingLR(opt2, { tMax: 7, etaMin: 0.01 })
    opt2.loadStateDict(saved.opt)
    sched2.loadStateDict(saved.sched)
    for (let e = 5; e < 20; e++) {
      const closed = 0.01 + ((0.1 - 0.01) * (1 + Math.cos((Math.PI * e) / 7))) / 2
      expect(Math.abs(opt.paramGroups[0]!.lr - closed)).toBeLessThan(1e-12)
      expect(opt2.paramGroups[0]!.lr).toBe(opt.paramGroups[0]!.lr)
      sched.step()
      sched2.step()
    }
  })

  it('scheduler options and state dicts are validated', () => {
    const opt = new SGD([new Tensor(new Float64Array(1), [1])], { lr: 0.1 })
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(/StepLR: stepSize must be a finite number an integer/)
    expect(() => new CosineAnnealingLR(opt, { tMax: 0 })).toThrow(/CosineAnnealingLR: tMax/)
    const sched = new StepLR(opt, { stepSize: 2 })
    expect(() => sched.loadStateDict({ ...sched.stateDict(), baseLrs: [0.1, 0.2] })).toThrow(/baseLrs must list 1 lrs/)
    expect(() => sched.loadStateDict({ ...sched.stateDict(), type: 'CosineAnnealingLR' })).toThrow(/is for CosineAnnealingLR/)
  })
})

describe('optimizer state dict', () => {
  it.each(fixture.cases.map((c) => [c.id, c] as const))('%s: save after 4 steps, JSON round trip, continue bit-identically', (_id, c) => {
    const a = makeParams(c)
    const optA = makeOptimizer(c.optimizer, a, c.options)
    for (let t = 0; t < 4; t++) {
      setGrads(a, c.grads[t]!)
      optA.step()
    }
    const saved = JSON.parse(JSON.stringify(optA.stateDict()))
    const b = a.map((p) => new Tensor(Float64Array.from(p.data), p.shape).requiresGrad_())
    // A fresh optimizer with other hyper-parameters: loading restores the saved ones too.
    const optB = makeOptimizer(c.optimizer, b, { ...c.options, lr: 123 })
    optB.loadStateDict(saved)
    for (let t = 4; t < 8; t++) {
      setGrads(a, c.grads[t]!)
      setGrads(b, c.grads[t]!)
      optA.step()
      optB.step()
    }
    a.forEach((p, k) => expect(Array.from(b[k]!.data)).toEqual(Array.from(p.data)))
  })

  it('typedArrays: true returns copies with the param dtype', () => {
    const p = new Tensor(new Float32Array([1, 2]), [2])
    const opt = new Adam([p])
    p.grad = new Tensor(new Float32Array([0.5, -0.5]), [2])
    opt.step()
    const sd = opt.stateDict({ typedArrays: true })
    expect(sd.state['0']!.expAvg).toBeInstanceOf(Float32Array)
    expect(sd.state['0']!.expAvg).not.toBe(opt.state.get(p)!.expAvg)
    expect(sd.state['0']!.step).toBe(1)
    expect(sd.paramGroups).toEqual([{ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [0] }])
  })

  it('bad state dicts throw a clear error and leave the optimizer untouched', () => {
    const p = new Tensor(new Float64Array([1, 2, 3]), [3])
    const q = new Tensor(new Float64Array([4]), [1])
    const opt = new Adam([p, q], { lr: 0.01 })
    p.grad = new Tensor(new Float64Array([1, 1, 1]), [3])
    q.grad = new Tensor(new Float64Array([1]), [1])
    opt.step()
    const good = JSON.parse(JSON.stringify(opt.stateDict()))
    const before = JSON.stringify(opt.stateDict())
    const bad = (mutate: (sd: any) => void): any => {
      const sd = structuredClone(good)
      mutate(sd)
      return sd
    }
    const cases: Array<[any, RegExp]> = [
      [bad((sd) => { sd.state['0'].expAvg.pop() }), /Adam.loadStateDict: state of param 0: "expAvg" has 2 values, the param has shape \[3\] \(3 values\)/],
      [bad((sd) => { sd.paramGroups[0].params.pop() }), /param group 0 has 1 params in the state dict, 2 in this optimizer/],
      [bad((sd) => { sd.paramGroups.push({ params: [] }) }), /has 2 param groups, this optimizer has 1/],
      [bad((sd) => { sd.state['5'] = {} }), /state for param "5", which no param group lists/],
      [bad((sd) => { sd.state['1'].momentumBuffer = [1] }), /unknown key "momentumBuffer"/],
      [bad((sd) => { delete sd.state['1'].expAvgSq }), /state of param 1: expected step, expAvg and expAvgSq together/],
      [bad((sd) => { sd.paramGroups[0].betas = [1, 0.9] }), /Adam: betas\[0\] must be a finite number in \[0, 1\), got 1/],
      [bad((sd) => { sd.paramGroups[0].momentum = 0.9 }), /unknown option "momentum"/],
      [bad((sd) => { sd.state['0'].step = 'x' }), /"step" must be a finite number/],
    ]
    for (const [sd, message] of cases) {
      expect(() => opt.loadStateDict(sd)).toThrow(message)
      expect(JSON.stringify(opt.stateDict())).toBe(before)
    }
  })
})

describe('step', () => {
  it('updates in place, allocates state once, builds no graph, skips params without grad', () => {
    const p = new Tensor(new Float32Array([1, 2, 3]), [3]).requiresGrad_()
    const q = new Tensor(new Float32Array([5]), [1]).requiresGrad_()
    const opt = new Adam([p, q], { amsgrad: true })
    const data = p.data
    p.grad = new Tensor(new Float32Array([0.1, 0.2, 0.3]), [3])
    opt.step()
    const s = opt.state.get(p)!
    const buffers = [s.expAvg, s.expAvgSq, s.maxExpAvgSq]
    expect(buffers.every((b) => b instanceof Float32Array)).toBe(true)
    for (let i = 0; i < 5; i++) opt.step()
    expect(opt.state.get(p)).toBe(s)
    expect([s.expAvg, s.expAvgSq, s.maxExpAvgSq]).toEqual(buffers)
    buffers.forEach((b, k) => expect([s.expAvg, s.expAvgSq, s.maxExpAvgSq][k]).toBe(b))
    expect(s.step).toBe(6)
    expect(p.data).toBe(data)
    expect(p.node).toBeNull()
    expect(p.requiresGrad).toBe(true)
    expect(q.data[0]).toBe(5)
    expect(opt.state.has(q)).toBe(false)
    opt.zeroGrad()
    expect(p.grad).toBeNull()
  })

  it('checkFinite throws naming the param before updating any param', () => {
    const p = new Tensor(new Float64Array([1, 2]), [2])
    const q = new Tensor(new Float64Array([3, 4]), [2])
    const opt = new SGD([p, q], { lr: 0.1, momentum: 0.9 })
    p.grad = new Tensor(new Float64Array([1, 1]), [2])
    q.grad = new Tensor(new Float64Array([1, NaN]), [2])
    expect(() => opt.step({ checkFinite: true })).toThrow(/SGD.step: the grad of param 1 \(shape \[2\]\) is NaN at element 1; nothing was updated/)
    expect(Array.from(p.data)).toEqual([1, 2])
    expect(opt.state.size).toBe(0)
    q.grad = new Tensor(new Float64Array([1, 1, 1]), [3])
    expect(() => opt.step()).toThrow(/param 1 has shape \[2\] but its grad has shape \[3\]/)
    expect(Array.from(p.data)).toEqual([1, 2])
  })

  it('param groups keep their own options', () => {
    const p = new Tensor(new Float64Array([1]), [1])
    const q = new Tensor(new Float64Array([1]), [1])
    const opt = new SGD([{ params: [p] }, { params: [q], lr: 0.5 }], { lr: 0.1 })
    p.grad = new Tensor(new Float64Array([1]), [1])
    q.grad = new Tensor(new Float64Array([1]), [1])
    opt.step()
    expect([p.data[0], q.data[0]]).toEqual([0.9, 0.5])
    expect(opt.stateDict().paramGroups.map((g) => g.params)).toEqual([[0], [1]])
  })

  it('maximize ascends', () => {
    const p = new Tensor(new Float64Array([1]), [1])
    const opt = new SGD([p], { lr: 0.1, maximize: true })
    p.grad = new Tensor(new Float64Array([1]), [1])
    opt.step()
    expect(p.data[0]).toBeCloseTo(1.1, 15)
  })
})

describe('option validation', () => {
  const p = (): Tensor[] => [new Tensor(new Float64Array(1), [1])]
  it.each([
    [() => new SGD(p(), { lr: -1 }), /SGD: lr must be a finite number >= 0, got -1/],
    [() => new SGD(p(), { lr: NaN }), /SGD: lr must be a finite number >= 0, got NaN/],
    [() => new SGD(p(), { lr: 0.1, momentum: -0.1 }), /SGD: momentum must be a finite number >= 0/],
    [() => new SGD(p(), { lr: 0.1, nesterov: true }), /SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0/],
    [() => new SGD(p(), { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }), /nesterov requires .* dampening 0.1/],
    [() => new Adam(p(), { betas: [0.9, 1] }), /Adam: betas\[1\] must be a finite number in \[0, 1\), got 1/],
    [() => new Adam(p(), { eps: -1 }), /Adam: eps must be/],
    [() => new AdamW(p(), { weightDecay: -0.1 }), /AdamW: weightDecay must be/],
    [() => new Adam(p(), { amsgrad: 1 as unknown as boolean }), /Adam: amsgrad must be a boolean/],
    [() => new Adam([{ params: p(), lr: -2 }]), /Adam: lr must be a finite number >= 0, got -2/],
    [() => new Adam([]), /Adam: params must be a non-empty array/],
    [() => new Adam([new Tensor(new Int32Array(1), [1])]), /Adam: param group 0 entry 0 has dtype int32/],
    [() => { const t = p()[0]!; return new Adam([t, t]) }, /appears in more than one place/],
  ])('%#: %s', (make, message) => {
    expect(make).toThrow(message)
  })
})
