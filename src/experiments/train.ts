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
import { tidy } from '../tensor/tidy.js'
import { selectBackend } from './backend.js'
import { buildExperiment, type Experiment } from './build.js'
import { resolveConfig, type ExperimentConfig } from './config.js'
import { buildData, type ExperimentData } from './data.js'
import { appendRow, evaluate, orderRow, weightColumns, type MetricsRow } from './metrics.js'
import { checkRunOut, readRunRecord, removeRunFiles } from './run-dir.js'
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
  /** Write into a non-empty `out` that priorgrad did not create, replacing its run files (RUN_FILES). */
  overwrite?: boolean
}

/** The run stopped because its loss is not finite or grew past --divergence-factor times its first step's. */
export class DivergenceError extends Error {
  override name = 'DivergenceError'
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
  /** Loss + penalty of the run's first step: the reference of the divergence check (set at iteration 1). */
  firstLoss?: number
}

/**
 * Train a fresh run into `config.out`. Every check (the output directory, the backend, the data,
 * the model) is done before anything is written, so a bad option leaves no directory behind.
 * @example await train(resolveConfig({ model: 'mlp', trainSubset: 256, out: 'runs/tiny' }))
 */
export async function train(config: ExperimentConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const out = config.out ?? resolveConfig({ ...config, out: null }).out!
  checkRunOut(out, options.overwrite === true)
  const backend = await selectBackend(config.backend)
  const data = buildData(config)
  const ex = buildExperiment(config, data.shape, data.numClasses)
  const record: RunRecord = {
    config, seed: config.seed, version: packageVersion(), backend, startedAt: new Date().toISOString(),
    command: options.argv ?? process.argv, resumes: [],
  }
  if (options.overwrite === true) removeRunFiles(out)
  fs.mkdirSync(out, { recursive: true })
  writeJsonAtomic(path.join(out, 'config.json'), record)
  return run(out, record, data, ex, freshState(), options)
}

/**
 * Continue the run in `dir` from its checkpoint (optionally with more `epochs`). Its config.json
 * is checked field by field first (errors name the file).
 * @example await resume('runs/tiny', { epochs: 2 })
 */
export async function resume(dir: string, overrides: { epochs?: number } = {}, options: TrainOptions = {}): Promise<TrainResult> {
  const file = path.join(dir, 'config.json')
  const record = readRunRecord(dir)
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
    delete record.firstLoss
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

  // NOTE: the divergence check only reads the loss; it changes no computation, so runs that do
  // not diverge write the same rows bit for bit. The reference is kept in config.json, so a
  // resumed run checks against the same value (a run from before the check: its first step after resuming).
  const factor = config.divergenceFactor
  for (let epoch = state.cursor.epoch; epoch < config.epochs; epoch++) {
    for (const batch of data.train.epochBatches(epoch, state.cursor.nextBatch)) {
      const it = state.iteration + 1
      const limit = factor === null || record.firstLoss === undefined || !(record.firstLoss > 0) ? null : { factor, reference: record.firstLoss }
      const { loss, penalty } = trainStep(ex, batch.x, batch.y, it, epoch, batch.index, limit)
      if (record.firstLoss === undefined) {
        record.firstLoss = loss + penalty
        writeJsonAtomic(path.join(out, 'config.json'), record)
      }
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
 * finite-gradient check. Throws a DivergenceError naming iteration `it` if the loss or a gradient
 * is not finite, or if loss + penalty exceeds `limit.factor * limit.reference`, before any weight changes.
 * @example const { loss } = trainStep(ex, batch.x, batch.y, 1, 0, 0)
 */
export function trainStep(ex: Experiment, x: Tensor, y: Tensor, it: number, epoch: number, b: number, limit: { factor: number; reference: number } | null = null): { loss: number; penalty: number } {
  // One tidy() scope per step: on the wasm backend the step's tensors live in WASM memory (no
  // copies around the kernels) and are freed when it ends, so memory stays flat.
  return tidy(() => stepInScope(ex, x, y, it, epoch, b, limit))
}

function stepInScope(ex: Experiment, x: Tensor, y: Tensor, it: number, epoch: number, b: number, limit: { factor: number; reference: number } | null): { loss: number; penalty: number } {
  const where = `train: iteration ${it} (epoch ${epoch + 1}, batch ${b})`
  ex.optimizer.zeroGrad()
  const dataLoss = ex.loss(ex.model.forward(x), y)
  const pen = ex.regularizer ? ex.regularizer.penalty(ex.model) : null
  const total = pen ? dataLoss.add(pen) : dataLoss
  const loss = dataLoss.item()
  const penalty = pen ? pen.item() : 0
  if (!Number.isFinite(loss) || !Number.isFinite(penalty)) {
    throw new DivergenceError(`${where}: the loss is ${loss} and the penalty ${penalty}; stopped before updating the weights (try a smaller --lr)`)
  }
  if (limit !== null && loss + penalty > limit.factor * limit.reference) {
    throw new DivergenceError(
      `${where}: the loss + penalty ${(loss + penalty).toPrecision(4)} is more than --divergence-factor ${limit.factor} times the first step's ${limit.reference.toPrecision(4)}; ` +
        'the run is diverging, stopped before updating the weights (try a smaller --lr, or --divergence-factor none to go on)',
    )
  }
  total.backward()
  try {
    ex.optimizer.step({ checkFinite: true })
  } catch (err) {
    throw new DivergenceError(`${where}: ${(err as Error).message} (try a smaller --lr)`, { cause: err })
  }
  // the gradients are released with the scope (on gpujs their textures are freed now, not by the GC)
  ex.optimizer.zeroGrad()
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
