// The dynamic informative-prior regularizer of Kori & Sharma (Algorithm 1; Eq. 3-6; Sec. 2.3).
// Each evaluation draws S random masks over a tensor's entries, favouring large entries of the
// current and the previous weights (Eq. 4, 5), counts how often each entry was kept (c_j), and
// returns R = lambda_eff * sum_j c_j w_j^2 (or the sum of the masked L2 norms, Eq. 6) as a scalar
// in the graph, so `loss.add(reg.penalty(model)).backward()` trains with it. The masks are
// constants: dR/dW = 2 * lambda_eff * c ⊙ W exactly. After the call W_old <- a copy of W.
// Every reading of the paper the project had to choose is an option (dynamic-prior-options.ts).
import { Tensor } from '../tensor/tensor.js'
import { allocateHost, isFloat, type TypedArray } from '../tensor/dtype.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { defaultGenerator, type Generator, type GeneratorState } from '../tensor/generator.js'
import type { FloatArray } from '../tensor/backends/backend.js'
import { selectParams, type NamedParam, type ParamFilter, type ParamSource } from './params.js'
import { keptCount, resolveDynamicPriorOptions, type DynamicPriorOptions, type ResolvedDynamicPriorOptions } from './dynamic-prior-options.js'
import { allocateGroupBuffers, allocateWork, sampleExperiments, type GroupBuffers, type SamplingConfig, type WorkBuffers } from './dynamic-prior-sampling.js'
import { referenceEvaluation } from './dynamic-prior-reference.js'
import { drawKeys } from '../tensor/counter-random.js'
import { buildPenalty, checkGroupFits, effectiveLambda, type GroupSample } from './dynamic-prior-penalty.js'

const NAME = 'DynamicPriorRegularizer'

// x * 0 is 0 for finite x and NaN for NaN and +-Inf; four sums keep the adds independent
function allFinite(d: ArrayLike<number>): boolean {
  let a = 0
  let b = 0
  let c = 0
  let e = 0
  const n = d.length - (d.length % 4)
  for (let i = 0; i < n; i += 4) {
    a += d[i]! * 0
    b += d[i + 1]! * 0
    c += d[i + 2]! * 0
    e += d[i + 3]! * 0
  }
  for (let i = n; i < d.length; i++) a += d[i]! * 0
  return a + b + c + e === 0
}
const MODEL_KEY = '<model>'

/** The masks of one evaluation, per group; pass to {@link DynamicPriorRegularizer.penaltyWithMasks}. */
export interface DynamicPriorSample {
  groups: GroupSample[]
}

/** Checkpoint state: the W_old snapshots and the generator's state. */
export interface DynamicPriorState {
  generator: GeneratorState
  snapshots: Record<string, Tensor>
}

interface Group {
  names: string[]
  shapes: number[][]
  offsets: number[]
  n: number
  cfg: SamplingConfig
  buf: GroupBuffers
  sample: GroupSample | null
}

/**
 * The dynamic informative-prior penalty; see the options for each reading of the paper.
 * @example const reg = new DynamicPriorRegularizer({ sp: 0.01, generator: new Generator(0) }); loss.add(reg.penalty(model)).backward()
 */
export class DynamicPriorRegularizer {
  readonly options: Readonly<ResolvedDynamicPriorOptions>
  private readonly generator: Generator | undefined
  private readonly filter: ParamFilter | undefined
  private readonly groups = new Map<string, Group>()
  private readonly snapshots = new Map<string, TypedArray>()
  private readonly snapshotShapes = new Map<string, number[]>()
  // NOTE: one set of working arrays serves every group in turn (sized for the largest), so the
  // sampling's memory is ~28 bytes per entry of the largest tensor, not of the whole model.
  private work: WorkBuffers = allocateWork(0)
  /** Number of scratch buffers allocated so far (debug: stays flat once every tensor has been seen). */
  allocations = 0

  constructor(options: DynamicPriorOptions = {}) {
    this.options = Object.freeze(resolveDynamicPriorOptions(options))
    this.generator = options.generator
    this.filter = options.filter
  }

  private gen(): Generator {
    return this.generator ?? defaultGenerator()
  }

  /**
   * Draw this evaluation's masks and return the penalty (a scalar tensor in the graph).
   * Checks everything before changing any state: on an error nothing has moved.
   * @example const loss = F.crossEntropy(model.forward(x), y).add(reg.penalty(model))
   */
  penalty(source: ParamSource): Tensor {
    const params = selectParams(source, this.filter)
    const parts = this.partition(params)
    this.validate(params, parts)
    let total: Tensor | null = null
    for (const [key, members] of parts) {
      const g = this.groupFor(key, members)
      const fresh = members.map(([name, t]) => this.snapshotFor(name, t))
      // read only: on gpujs the weights stay on the device (hostData does not drop the copy)
      const cur = members.map(([, t]) => t.hostData(NAME) as FloatArray)
      const old = members.map(([name]) => this.snapshots.get(name) as FloatArray)
      if (this.options.implementation === 'reference') {
        this.sampleByReference(g, cur, old)
      } else {
        if (this.work.values.length < g.n) {
          this.work = allocateWork(g.n)
          this.allocations++
        }
        if (sampleExperiments(cur, old, g.n, g.cfg, this.gen(), this.work, g.buf, fresh.every(Boolean))) this.allocations++
      }
      const lambdaEff = effectiveLambda(this.options.lambda, this.options.normalize, g.buf.maxCount)
      g.sample = { names: g.names, shapes: g.shapes, S: g.cfg.S, kept: g.buf.kept, starts: g.buf.starts, entries: g.buf.entries.subarray(0, g.buf.distinct), counts: g.buf.counts.subarray(0, g.buf.distinct), lambdaEff }
      const term = buildPenalty(members.map(([, t]) => t), g.sample, this.options.norm, this.options.eps)
      total = total ? total.add(term) : term
    }
    for (const [name, t] of params) this.snapshots.get(name)!.set(t.hostData(NAME))
    return total ?? new Tensor(new Float32Array(1), [])
  }

  /**
   * The penalty for masks drawn earlier (from {@link lastSample}), without drawing or updating
   * W_old: the masks are held fixed, e.g. for a finite-difference check.
   * @example const m = reg.lastSample(); gradcheck((w) => reg.penaltyWithMasks([['w', w]], m), [w])
   */
  penaltyWithMasks(source: ParamSource, sample: DynamicPriorSample): Tensor {
    const params = selectParams(source, this.filter)
    let total: Tensor | null = null
    for (const members of this.partition(params).values()) {
      const first = members[0]![0]
      const g = sample.groups.find((x) => x.names.includes(first))
      if (!g) throw new Error(`${NAME}.penaltyWithMasks: the sample has no masks for parameter '${first}'`)
      checkGroupFits(`${NAME}.penaltyWithMasks`, members, g)
      const term = buildPenalty(members.map(([, t]) => t), g, this.options.norm, this.options.eps)
      total = total ? total.add(term) : term
    }
    return total ?? new Tensor(new Float32Array(1), [])
  }

  /** A copy of the last evaluation's masks and lambda_eff, per group. @example reg.lastSample().groups[0].lambdaEff */
  lastSample(): DynamicPriorSample {
    const groups: GroupSample[] = []
    for (const g of this.groups.values()) {
      const s = g.sample
      if (!s) continue
      const used = s.starts[s.S]!
      groups.push({ ...s, names: [...s.names], shapes: s.shapes.map((x) => [...x]), kept: s.kept.slice(0, used), starts: s.starts.slice(), counts: s.counts.slice(), entries: s.entries.slice() })
    }
    return { groups }
  }

  /** c_j of the last evaluation for one parameter, shaped like it (float64). @example reg.lastCounts('fc1.weight') */
  lastCounts(name: string): Tensor {
    const { g, i } = this.locate(name)
    const off = g.offsets[i]!
    const n = g.offsets[i + 1]! - off
    const s = g.sample!
    const c = new Float64Array(n)
    for (let q = 0; q < s.entries.length; q++) {
      const j = s.entries[q]! - off
      if (j >= 0 && j < n) c[j] = s.counts[q]!
    }
    return new Tensor(c, g.shapes[i]!)
  }

  /** The S masks of the last evaluation for one parameter, int32 0/1 of shape [S, ...shape]. @example reg.lastMasks('fc1.weight').sum() */
  lastMasks(name: string): Tensor {
    const { g, i } = this.locate(name)
    const s = g.sample!
    const off = g.offsets[i]!
    const n = g.offsets[i + 1]! - off
    const out = new Int32Array(s.S * n)
    for (let e = 0; e < s.S; e++) {
      for (let q = s.starts[e]!; q < s.starts[e + 1]!; q++) {
        const j = s.kept[q]! - off
        if (j >= 0 && j < n) out[e * n + j] = 1
      }
    }
    return new Tensor(out, [s.S, ...g.shapes[i]!])
  }

  /** The reused buffers: the shared working arrays and those of the group holding `name` (debug: stable identity). */
  scratchBuffers(name: string): Readonly<WorkBuffers & GroupBuffers> {
    return { ...this.work, ...this.locate(name).g.buf }
  }

  /** Forget W_old and the buffers; the next call starts afresh (W_old = W). @example reg.reset() */
  reset(): void {
    this.groups.clear()
    this.snapshots.clear()
    this.snapshotShapes.clear()
    this.work = allocateWork(0)
  }

  /** W_old snapshots (copies) and the generator's state, for checkpoints. @example const s = reg.state() */
  state(): DynamicPriorState {
    const snapshots: Record<string, Tensor> = {}
    for (const [name, data] of this.snapshots) snapshots[name] = new Tensor(data.slice(), this.shapeOf(name))
    return { generator: this.gen().state(), snapshots }
  }

  /** Restore {@link DynamicPriorRegularizer.state | state()}: W_old and the generator continue exactly where they were. @example reg.setState(s) */
  setState(state: DynamicPriorState): void {
    const entries = Object.entries(state?.snapshots ?? {})
    for (const [name, t] of entries) {
      if (!(t instanceof Tensor) || !isFloat(t.dtype)) throw new Error(`${NAME}.setState: snapshot '${name}' must be a float Tensor`)
      const known = this.knownShape(name)
      if (known && !shapesEqual(known, t.shape)) {
        throw new Error(`${NAME}.setState: snapshot '${name}' has shape ${formatShape(t.shape)}, this regularizer holds ${formatShape(known)}`)
      }
    }
    this.gen().setState(state.generator)
    this.snapshots.clear()
    this.snapshotShapes.clear()
    for (const [name, t] of entries) {
      this.snapshots.set(name, t.data.slice())
      this.snapshotShapes.set(name, [...t.shape])
    }
  }

  // ---- internals ---------------------------------------------------------------------
  private shapeOf(name: string): number[] {
    return this.snapshotShapes.get(name)!
  }

  private knownShape(name: string): number[] | undefined {
    if (this.snapshotShapes.has(name)) return this.snapshotShapes.get(name)
    for (const g of this.groups.values()) {
      const i = g.names.indexOf(name)
      if (i >= 0) return g.shapes[i]
    }
    return undefined
  }

  /** Every check of a call, before any state changes. */
  private validate(params: NamedParam[], parts: Map<string, NamedParam[]>): void {
    for (const [name, t] of params) {
      if (!isFloat(t.dtype)) throw new Error(`${NAME}: parameter '${name}' is ${t.dtype}; only float tensors can be regularized`)
      const d = t.hostData(NAME)
      if (!allFinite(d)) {
        const i = d.findIndex((x) => !Number.isFinite(x))
        throw new Error(`${NAME}: parameter '${name}' has a non-finite value ${d[i]} at flat index ${i} (shape ${formatShape(t.shape)})`)
      }
      const known = this.knownShape(name)
      if (known && !shapesEqual(known, t.shape)) {
        throw new Error(
          `${NAME}: parameter '${name}' changed shape from ${formatShape(known)} to ${formatShape(t.shape)} since the last call, ` +
            `so W_old no longer fits; call reset() or build a new regularizer for the new model`,
        )
      }
    }
    const g = this.groups.get(MODEL_KEY)
    if (this.options.scope === 'model' && g) {
      const names = params.map(([n]) => n)
      if (names.length !== g.names.length || names.some((n, i) => n !== g.names[i])) {
        throw new Error(`${NAME}: with scope 'model' the regularized parameters must stay the same; they were [${g.names.join(', ')}], now [${names.join(', ')}]`)
      }
    }
    // temperature counters s*N + j are 32-bit (counter-random.ts)
    for (const [key, members] of parts) {
      const n = members.reduce((a, [, t]) => a + t.numel(), 0)
      if (this.options.S * n >= 2 ** 32) {
        const what = key === MODEL_KEY ? `the ${n} regularized entries (scope 'model')` : `parameter '${key}' (${n} entries)`
        throw new Error(`${NAME}: S * N = ${this.options.S} * ${n} for ${what} reaches 2^32, the range of the temperature counter; use a smaller S or scope 'per-tensor'`)
      }
    }
  }

  private partition(params: NamedParam[]): Map<string, NamedParam[]> {
    if (this.options.scope === 'model') return new Map(params.length > 0 ? [[MODEL_KEY, params]] : [])
    return new Map(params.map((p) => [p[0], [p]]))
  }

  private groupFor(key: string, members: NamedParam[]): Group {
    const existing = this.groups.get(key)
    if (existing) return existing
    const offsets = [0]
    for (const [, t] of members) offsets.push(offsets[offsets.length - 1]! + t.numel())
    const n = offsets[offsets.length - 1]!
    const o = this.options
    const cfg: SamplingConfig = {
      S: o.S,
      k: o.threshold === undefined ? keptCount(o.sp, n) : undefined,
      threshold: o.threshold,
      alpha: o.alpha,
      score: o.score,
      temperature: o.temperature,
      temperatureBits: o.temperatureBits,
      normalizer: o.normalizer,
    }
    const g: Group = { names: members.map(([n]) => n), shapes: members.map(([, t]) => [...t.shape]), offsets, n, cfg, buf: allocateGroupBuffers(n, cfg), sample: null }
    this.allocations++
    this.groups.set(key, g)
    return g
  }

  /** One evaluation by Algorithm 1 as written (dynamic-prior-reference.ts), its masks and counts into the group's buffers. */
  private sampleByReference(g: Group, cur: FloatArray[], old: FloatArray[]): void {
    const joined = (parts: FloatArray[]): Float64Array => {
      const out = new Float64Array(g.n)
      parts.forEach((x, i) => out.set(x, g.offsets[i]!))
      return out
    }
    const ev = referenceEvaluation(joined(cur), joined(old), g.cfg, drawKeys(this.gen()))
    const b = g.buf
    const total = ev.kept.reduce((q, I) => q + I.length, 0)
    if (b.kept.length < total) b.kept = new Int32Array(total)
    b.starts[0] = 0
    ev.kept.forEach((I, s) => {
      b.kept.set(I, b.starts[s]!)
      b.starts[s + 1] = b.starts[s]! + I.length
    })
    const entries = Int32Array.from(ev.counts.keys()).filter((j) => ev.counts[j]! > 0)
    b.entries = entries
    b.counts = Float64Array.from(entries, (j) => ev.counts[j]!)
    b.distinct = entries.length
    b.maxCount = ev.maxCount
  }

  /** The W_old buffer of a tensor; on the first sight it is allocated as a copy of W (returns true then). */
  private snapshotFor(name: string, t: Tensor): boolean {
    if (this.snapshots.has(name)) return false
    const copy = allocateHost(t.dtype, t.numel())
    copy.set(t.hostData(NAME))
    this.snapshots.set(name, copy)
    this.snapshotShapes.set(name, [...t.shape])
    this.allocations++
    return true
  }

  private locate(name: string): { g: Group; i: number } {
    for (const g of this.groups.values()) {
      const i = g.names.indexOf(name)
      if (i >= 0 && g.sample) return { g, i }
    }
    throw new Error(`${NAME}: no evaluation has covered a parameter named '${name}' yet`)
  }
}
