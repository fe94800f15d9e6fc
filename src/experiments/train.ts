// One training run: data, model, optimizer, regularizer and loss from an ExperimentConfig, then
// for each batch: zeroGrad, forward, data loss (+ penalty), backward, step with finite-gradient
// checks (a NaN stops the run with the iteration named, before any weight changes). Writes
// <out>/config.json, metrics rows (metrics.ts) and a checkpoint at every epoch end and on abort.
// A resumed run continues from the checkpoint's data cursor and produces the same rows, bit for
// bit, as an uninterrupted one: every random stream is keyed on the seed and saved, and the
// metrics files are cut back to their length at the checkpoint.
import fs from 'node:fs'
import path from 'node:path'
import { writeJsonAtomic } from '../io/atomic.js'
import type { BackendInfo } from '../tensor/backends/backend.js'
import type { Tensor } from '../tensor/tensor.js'
import { selectBackend } from './backend.js'
import { buildExperiment, type Experiment } from './build.js'
import { resolveConfig, type ExperimentConfig } from './config.js'
import { buildData, type ExperimentData } from './data.js'
import { appendRow, evaluate, orderRow, weightColumns, type MetricsRow } from './metrics.js'
import { freshState, hasCheckpoint, loadRunState, saveRunState, type RunState } from './run-state.js'

export type TrainEvent =
  | { type: 'start'; config: ExperimentConfig; totalIterations: number; resumedAt: number | null; backend: BackendInfo }
  | { type: 'step'; epoch: number; epochs: number; iteration: number; totalIterations: number; loss: number; batchSize: number }
  | { type: 'row'; row: MetricsRow }
  | { type: 'checkpoint'; dir: string; iteration: number; reason: 'epoch' | 'abort' }

export interface TrainOptions {
  onEvent?: (event: TrainEvent) => void
  /** Abort: stop after the current step, save a checkpoint, return with `stopped: true`. */
  signal?: AbortSignal
  /** The command line recorded in config.json (default: process.argv). */
  argv?: string[]
}

export interface TrainResult {
  out: string
  iteration: number
  stopped: boolean
  /** The last epoch row written (null when no epoch finished). */
  lastEpoch: MetricsRow | null
}

/** What config.json holds. */
export interface RunRecord {
  config: ExperimentConfig
  seed: number
  version: string
  backend: BackendInfo
  startedAt: string
  command: string[]
  resumes: Array<{ at: string; command: string[]; iteration: number }>
}

/**
 * Train a fresh run into `config.out` (which must not hold a run yet).
 * @example await train(resolveConfig({ model: 'mlp', trainSubset: 256, out: 'runs/tiny' }))
 */
export async function train(config: ExperimentConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const out = config.out ?? resolveConfig({ ...config, out: null }).out!
  if (fs.existsSync(path.join(out, 'metrics.jsonl')) || hasCheckpoint(out)) {
    throw new Error(`train: ${out} already holds a run; continue it with --resume ${out}, or choose another --out`)
  }
  fs.mkdirSync(out, { recursive: true })
  const backend = await selectBackend(config.backend)
  const data = buildData(config)
  const ex = buildExperiment(config, data.shape, data.numClasses)
  const record: RunRecord = {
    config, seed: config.seed, version: packageVersion(), backend, startedAt: new Date().toISOString(),
    command: options.argv ?? process.argv, resumes: [],
  }
  writeJsonAtomic(path.join(out, 'config.json'), record)
  return run(out, record, data, ex, freshState(), options)
}

/**
 * Continue the run in `dir` from its checkpoint (optionally with more `epochs`).
 * @example await resume('runs/tiny', { epochs: 2 })
 */
export async function resume(dir: string, overrides: { epochs?: number } = {}, options: TrainOptions = {}): Promise<TrainResult> {
  const file = path.join(dir, 'config.json')
  if (!fs.existsSync(file)) throw new Error(`resume: ${file} not found; --resume needs the directory of a run started by priorgrad train`)
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord
  const config = resolveConfig({ ...record.config, out: dir, ...(overrides.epochs === undefined ? {} : { epochs: overrides.epochs }) })
  const backend = await selectBackend(config.backend)
  if (backend.name !== record.backend.name) {
    process.emitWarning(`resume: the run started on backend ${record.backend.name}, it continues on ${backend.name}; results may differ in the last bits`)
  }
  const data = buildData(config)
  const ex = buildExperiment(config, data.shape, data.numClasses)
  let state = freshState()
  if (hasCheckpoint(dir)) state = loadRunState(dir, ex)
  else {
    // Stopped before its first checkpoint: start over, dropping any rows it wrote.
    for (const f of ['metrics.jsonl', 'metrics.csv']) fs.rmSync(path.join(dir, f), { force: true })
  }
  record.config = config
  record.resumes.push({ at: new Date().toISOString(), command: options.argv ?? process.argv, iteration: state.iteration })
  writeJsonAtomic(file, record)
  return run(dir, record, data, ex, state, options)
}

async function run(out: string, record: RunRecord, data: ExperimentData, ex: Experiment, state: RunState, options: TrainOptions): Promise<TrainResult> {
  const { config } = record
  const emit = options.onEvent ?? (() => {})
  const perEpoch = data.train.numBatches()
  const totalIterations = perEpoch * config.epochs
  const t0 = performance.now()
  const seconds = (): number => state.seconds + (performance.now() - t0) / 1000
  const { acc } = state
  let lastEpoch: MetricsRow | null = null
  emit({ type: 'start', config, totalIterations, resumedAt: state.iteration > 0 ? state.iteration : null, backend: record.backend })

  const weightsNow = () => weightColumns(ex.model)
  const writeRow = (fields: MetricsRow): MetricsRow => {
    const row = orderRow({ ...fields, seconds: seconds() })
    appendRow(out, row)
    emit({ type: 'row', row })
    return row
  }
  const checkpoint = (reason: 'epoch' | 'abort'): void => {
    const dir = saveRunState(out, ex, { ...state, seconds: seconds() })
    emit({ type: 'checkpoint', dir, iteration: state.iteration, reason })
  }

  for (let epoch = state.cursor.epoch; epoch < config.epochs; epoch++) {
    for (const batch of data.train.epochBatches(epoch, state.cursor.nextBatch)) {
      const it = state.iteration + 1
      const { loss, penalty } = trainStep(ex, batch.x, batch.y, it, epoch, batch.index)
      state.iteration = it
      state.cursor = { epoch, nextBatch: batch.index + 1 }
      acc.rowLoss += loss
      acc.rowPenalty += penalty
      acc.rowSteps++
      acc.epochLoss += loss
      acc.epochPenalty += penalty
      acc.epochSteps++
      emit({ type: 'step', epoch, epochs: config.epochs, iteration: it, totalIterations, loss, batchSize: batch.y.shape[0]! })

      const evalDue = config.evalEvery > 0 && it % config.evalEvery === 0
      if (evalDue || it % config.logEvery === 0) {
        const row: MetricsRow = { kind: 'iter', epoch: epoch + 1, iteration: it, trainLoss: acc.rowLoss / acc.rowSteps, penalty: acc.rowPenalty / acc.rowSteps, ...weightsNow(), seconds: 0 }
        if (evalDue) Object.assign(row, testFields(evaluate(ex.model, data.testSubset)))
        writeRow(row)
        Object.assign(acc, { rowLoss: 0, rowPenalty: 0, rowSteps: 0 })
      }
      const epochDone = batch.index === perEpoch - 1
      if (epochDone) {
        const row: MetricsRow = { kind: 'epoch', epoch: epoch + 1, iteration: it, trainLoss: acc.epochLoss / acc.epochSteps, penalty: acc.epochPenalty / acc.epochSteps, ...testFields(evaluate(ex.model, data.testFull)), ...weightsNow(), seconds: 0 }
        lastEpoch = writeRow(row)
        Object.assign(acc, { epochLoss: 0, epochPenalty: 0, epochSteps: 0 })
        state.cursor = { epoch: epoch + 1, nextBatch: 0 }
        checkpoint('epoch')
      }
      // Let signal handlers (Ctrl-C) run between steps: the loop is otherwise synchronous.
      await new Promise((resolve) => setImmediate(resolve))
      if (options.signal?.aborted) {
        if (!epochDone) checkpoint('abort')
        return { out, iteration: state.iteration, stopped: true, lastEpoch }
      }
    }
    state.cursor = { epoch: epoch + 1, nextBatch: 0 }
  }
  return { out, iteration: state.iteration, stopped: false, lastEpoch }
}

function testFields(r: { loss: number; accuracy: number; images: number }): Pick<MetricsRow, 'testLoss' | 'testAccuracy' | 'testImages'> {
  return { testLoss: r.loss, testAccuracy: r.accuracy, testImages: r.images }
}

/**
 * One optimizer step on a batch: zeroGrad, forward, data loss + penalty, backward, step with the
 * finite-gradient check. Throws naming iteration `it` if the loss or a gradient is not finite.
 * @example const { loss } = trainStep(ex, batch.x, batch.y, 1, 0, 0)
 */
export function trainStep(ex: Experiment, x: Tensor, y: Tensor, it: number, epoch: number, b: number): { loss: number; penalty: number } {
  const where = `train: iteration ${it} (epoch ${epoch + 1}, batch ${b})`
  ex.optimizer.zeroGrad()
  const dataLoss = ex.loss(ex.model.forward(x), y)
  const pen = ex.regularizer ? ex.regularizer.penalty(ex.model) : null
  const total = pen ? dataLoss.add(pen) : dataLoss
  const loss = dataLoss.item()
  const penalty = pen ? pen.item() : 0
  if (!Number.isFinite(loss) || !Number.isFinite(penalty)) {
    throw new Error(`${where}: the loss is ${loss} and the penalty ${penalty}; stopped before updating the weights (try a smaller --lr)`)
  }
  total.backward()
  try {
    ex.optimizer.step({ checkFinite: true })
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message} (try a smaller --lr)`, { cause: err })
  }
  return { loss, penalty }
}

let version: string | null = null
/** priorgrad's version, from package.json. */
export function packageVersion(): string {
  if (version !== null) return version
  const file = new URL('../../package.json', import.meta.url)
  version = String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version)
  return version
}
