// Cost of one dynamic-prior penalty evaluation (draw the S masks, build the penalty, backward),
// with the defaults S = 10, sp = 0.01, alpha = 0.9, on the float32 weights (Linear and Conv, the
// default filter) of a freshly initialised cnn2 (conv 32x1x3x3, 64x32x3x3, linear 128x3136,
// 10x128: 421,408 weights) and resnet18 (21 tensors, 11,164,352 weights). Each row is the median
// of a few calls after warm-up calls; the weights move a little between calls, as in training,
// so W_old != W and both softmaxes of Eq. 5 are computed. (Their magnitudes pick the exp
// polynomial, prior-kernels.ts: initial weights are small, as they stay in training.)
//
// Each with the exact reading (the defaults) and with the spec's two approximations
// (temperatureBits 16, normalizer 'expected', both), and on cnn2 the readable reference
// (implementation 'reference', float64; it is allowed to be slow).
// Then the same penalty inside real cnn2 training steps (benchPenaltyInStep): the cost a step pays.
//
//   node --single-threaded-gc --import tsx bench/regularizer.ts [--quick]     (--quick: cnn2 only)
import { pathToFileURL } from 'node:url'
// the public entry registers the default (wasm) backend, whose engine runs the sampling kernels
import { createModel, DynamicPriorRegularizer, Generator } from '../src/index.js'
import { DYNAMIC_PRIOR_DEFAULTS, type DynamicPriorOptions } from '../src/regularizers/index.js'
import { selectParams, type NamedParam } from '../src/regularizers/params.js'
import { priorgradStep } from './train-steps.js'

/** The option combinations the bench times: the exact reading, each approximation, both, and the reference. */
export const VARIANTS: Record<string, DynamicPriorOptions> = {
  exact: { temperatureBits: 24, normalizer: 'sampled' },
  '16-bit': { temperatureBits: 16, normalizer: 'sampled' },
  expected: { temperatureBits: 24, normalizer: 'expected' },
  both: { temperatureBits: 16, normalizer: 'expected' },
  reference: { implementation: 'reference', temperatureBits: 24, normalizer: 'sampled' },
}

/** The variant that the default options select. */
export const DEFAULT_VARIANT = Object.keys(VARIANTS).find((v) => {
  const o = VARIANTS[v]!
  return o.implementation === undefined && o.temperatureBits === DYNAMIC_PRIOR_DEFAULTS.temperatureBits && o.normalizer === DYNAMIC_PRIOR_DEFAULTS.normalizer
})!

export interface RegularizerBenchRow {
  model: string
  /** a key of VARIANTS */
  variant: string
  entries: number
  S: number
  sp: number
  /** median ms of penalty() alone (sampling + building the graph) */
  penaltyMs: number
  /** median ms of building the graph alone (penaltyWithMasks on the last masks), so sampling ~ penaltyMs - graphMs */
  graphMs: number
  /** median ms of penalty() + backward() */
  totalMs: number
  /** median CPU ms (user + system) of penalty() + backward(): less sensitive to other load */
  totalCpuMs: number
}

// the regularized weights (Linear and Conv, the default filter) of a freshly initialised model
function modelParams(model: 'cnn2' | 'resnet18'): NamedParam[] {
  return selectParams(createModel(model, { numClasses: 10, inChannels: model === 'cnn2' ? 1 : 3, generator: new Generator(0) }))
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function timeOne(model: 'cnn2' | 'resnet18', reps: number, warmup: number, variant = 'exact'): RegularizerBenchRow {
  const gen = new Generator(0)
  const params = modelParams(model)
  const reg = new DynamicPriorRegularizer({ S: 10, sp: 0.01, ...VARIANTS[variant], generator: new Generator(1) })
  const nudge = () => {
    for (const [, w] of params) for (let i = 0; i < w.data.length; i += 97) w.data[i]! += 1e-3 * (gen.uniform() - 0.5)
  }
  const penalty: number[] = []
  const total: number[] = []
  const cpu: number[] = []
  const graph: number[] = []
  for (let r = 0; r < reps + warmup; r++) {
    nudge()
    for (const [, w] of params) w.grad = null
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const p = reg.penalty(params)
    const t1 = performance.now()
    p.backward()
    const t2 = performance.now()
    const c1 = process.cpuUsage(c0)
    if (r >= warmup) {
      penalty.push(t1 - t0)
      total.push(t2 - t0)
      cpu.push((c1.user + c1.system) / 1000)
      const sample = reg.lastSample()
      const t3 = performance.now()
      reg.penaltyWithMasks(params, sample)
      graph.push(performance.now() - t3)
    }
  }
  const entries = params.reduce((a, [, w]) => a + w.numel(), 0)
  return { model, variant, entries, S: 10, sp: 0.01, penaltyMs: median(penalty), graphMs: median(graph), totalMs: median(total), totalCpuMs: median(cpu) }
}

/**
 * Time one penalty evaluation on cnn2- and resnet18-shaped weights; prints a table unless print is false.
 * @example const rows = benchRegularizer({ quick: true })
 */
export function benchRegularizer(options: { quick?: boolean; print?: boolean } = {}): RegularizerBenchRow[] {
  // NOTE: 40 warm-up calls on cnn2 (~1 s): training calls the penalty every step, so the steady
  // state after the JIT has compiled the per-experiment JavaScript is what a step pays; with two
  // warm-ups the median was ~35% higher. resnet18's calls are long enough to warm up in one.
  const fast = Object.keys(VARIANTS).filter((v) => v !== 'reference')
  const rows = fast.map((v) => timeOne('cnn2', 15, 40, v))
  rows.push(timeOne('cnn2', options.quick ? 1 : 3, 1, 'reference'))
  if (!options.quick) rows.push(...fast.map((v) => timeOne('resnet18', 3, 2, v)))
  if (options.print ?? true) {
    console.log('dynamic prior penalty (S=10, sp=0.01, alpha=0.9), median ms per evaluation')
    console.log('model     variant       entries   penalty()  (graph part)  +backward()  (CPU ms)')
    for (const r of rows) {
      const cells = [r.penaltyMs, r.graphMs, r.totalMs, r.totalCpuMs].map((v, i) => v.toFixed(1).padStart([10, 12, 11, 8][i]!))
      console.log(`${r.model.padEnd(9)} ${r.variant.padEnd(10)} ${String(r.entries).padStart(9)}  ${cells.join('  ')}`)
    }
  }
  return rows
}

export interface InStepRow {
  model: 'cnn2'
  variant: string
  /** median ms of a training step without and with the penalty, and the difference */
  plainMs: number
  withPenaltyMs: number
  marginalMs: number
  pairs: number
}

/**
 * The penalty's cost where it is paid: cnn2 training steps at batch 32 (Adam) without and with
 * `loss.add(reg.penalty(model))`, alternated so both see the same machine state. In a step the
 * weights all move, the caches hold the step's activations, the garbage collector runs for the
 * whole step, and the penalty's gradient is added to the loss's; the isolated numbers above
 * see none of that.
 * @example const row = benchPenaltyInStep(30)
 */
export function benchPenaltyInStep(pairs = 40, print = true, variant = 'exact'): InStepRow {
  const reg = new DynamicPriorRegularizer({ S: 10, sp: 0.01, ...VARIANTS[variant], generator: new Generator(1) })
  let on = false
  const { step: run } = priorgradStep({ model: 'cnn2', batch: 32 }, 0, (model) => (on ? reg.penalty(model) : null))
  const step = (penalty: boolean): number => {
    on = penalty
    const t0 = performance.now()
    run()
    return performance.now() - t0
  }
  for (let i = 0; i < 10; i++) step(i % 2 === 0)
  const plain: number[] = []
  const withPenalty: number[] = []
  for (let i = 0; i < pairs; i++) {
    plain.push(step(false))
    withPenalty.push(step(true))
  }
  const row: InStepRow = { model: 'cnn2', variant, plainMs: median(plain), withPenaltyMs: median(withPenalty), marginalMs: median(withPenalty) - median(plain), pairs }
  if (print) {
    console.log(`cnn2 training step b=32 (median of ${pairs} alternated pairs): ${row.plainMs.toFixed(1)} ms, with the penalty (${variant}) ${row.withPenaltyMs.toFixed(1)} ms`)
  }
  return row
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (isMain) {
  benchRegularizer({ quick: process.argv.includes('--quick') })
  for (const v of ['exact', 'expected', 'both']) {
    const r = benchPenaltyInStep(40, true, v)
    console.log(`-> the penalty (${v}) adds ${r.marginalMs.toFixed(1)} ms = ${((100 * r.marginalMs) / r.plainMs).toFixed(1)}% to a step`)
  }
}
