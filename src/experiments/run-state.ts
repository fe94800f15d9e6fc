// What a run's checkpoint holds beyond the model and optimizer, and how a resume restores it.
// The checkpoint (src/nn/checkpoint.ts) saves one state dict atomically; the dynamic prior's
// W_old snapshots ride in it under 'regularizer.snapshot.<param>' so weights, optimizer moments,
// snapshots, generator states and the data cursor always come from the same instant.
// `extra` also records the byte lengths of metrics.jsonl/csv at that instant: a resume cuts the
// files back to them, dropping rows a crashed run wrote after its last checkpoint, so the resumed
// files equal an uninterrupted run's.
import fs from 'node:fs'
import path from 'node:path'
import { loadCheckpoint, saveCheckpoint, type CheckpointModel } from '../nn/checkpoint.js'
import { DynamicPriorRegularizer } from '../regularizers/dynamic-prior.js'
import { selectParams } from '../regularizers/params.js'
import { Tensor } from '../tensor/tensor.js'
import type { Experiment } from './build.js'

/** Running sums of the current row window and epoch (float64 sums survive JSON exactly). */
export interface Accumulators {
  rowLoss: number
  rowPenalty: number
  rowSteps: number
  epochLoss: number
  epochPenalty: number
  epochSteps: number
}

export interface RunState {
  /** Where training continues: epoch (0-based) and the first batch not yet trained. */
  cursor: { epoch: number; nextBatch: number }
  /** Optimizer steps done. */
  iteration: number
  acc: Accumulators
  /** Byte lengths of the metrics files when the checkpoint was taken. */
  metricsBytes: { jsonl: number; csv: number }
  /** Training seconds before this checkpoint (wall clock, for the `seconds` field). */
  seconds: number
}

export const CHECKPOINT_DIR = 'checkpoint'
const SNAPSHOT_PREFIX = 'regularizer.snapshot.'

export function freshState(): RunState {
  return {
    cursor: { epoch: 0, nextBatch: 0 },
    iteration: 0,
    acc: { rowLoss: 0, rowPenalty: 0, rowSteps: 0, epochLoss: 0, epochPenalty: 0, epochSteps: 0 },
    metricsBytes: { jsonl: 0, csv: 0 },
    seconds: 0,
  }
}

/** Whether `out` holds a checkpoint (also one left at checkpoint.prev by a crash mid-save). */
export function hasCheckpoint(out: string): boolean {
  const dir = path.join(out, CHECKPOINT_DIR)
  return fs.existsSync(dir) || fs.existsSync(`${dir}.prev`)
}

/** Size of a file, 0 when it does not exist. */
export function fileSize(file: string): number {
  return fs.existsSync(file) ? fs.statSync(file).size : 0
}

/**
 * Save everything needed to continue `state` later, atomically, into `<out>/checkpoint`.
 * @example saveRunState('runs/a', ex, state)
 */
export function saveRunState(out: string, ex: Experiment, state: RunState): string {
  const dir = path.join(out, CHECKPOINT_DIR)
  const extra: RunState = {
    ...state,
    metricsBytes: { jsonl: fileSize(path.join(out, 'metrics.jsonl')), csv: fileSize(path.join(out, 'metrics.csv')) },
  }
  saveCheckpoint(dir, { model: withSnapshots(ex), optimizer: ex.optimizer, generators: ex.generators, extra })
  return dir
}

/**
 * Restore a run from `<out>/checkpoint` into `ex`, and cut the metrics files back to the
 * checkpoint's lengths. Returns the saved state.
 * @example const state = loadRunState('runs/a', ex)
 */
export function loadRunState(out: string, ex: Experiment): RunState {
  const extra = loadCheckpoint(path.join(out, CHECKPOINT_DIR), { model: withSnapshots(ex), optimizer: ex.optimizer, generators: ex.generators })
  checkRunState(extra, `loadRunState(${out})`)
  for (const [file, bytes] of [['metrics.jsonl', extra.metricsBytes.jsonl], ['metrics.csv', extra.metricsBytes.csv]] as const) {
    const p = path.join(out, file)
    const size = fileSize(p)
    if (size < bytes) throw new Error(`loadRunState(${out}): ${file} has ${size} bytes, fewer than the ${bytes} it had at the checkpoint; it was modified`)
    if (size > bytes) fs.truncateSync(p, bytes)
  }
  return extra
}

// The run state, field by field: the checkpoint's checksums vouch for its bytes, this for its
// meaning (a cursor that is not a count would silently skip or repeat batches on resume).
function checkRunState(v: unknown, where: string): asserts v is RunState {
  const fail = (msg: string): never => {
    throw new Error(`${where}: the checkpoint's run state ${msg}; was it written by priorgrad train?`)
  }
  const isObject = (o: unknown): o is Record<string, unknown> => typeof o === 'object' && o !== null && !Array.isArray(o)
  const show = (x: unknown): string => (typeof x === 'number' || typeof x === 'boolean' ? String(x) : x === undefined ? 'missing' : x === null ? 'null' : typeof x === 'string' ? 'a string' : Array.isArray(x) ? 'an array' : 'an object')
  const count = (o: Record<string, unknown>, at: string, k: string): void => {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0) fail(`field ${at}${k} must be a non-negative integer, got ${show(o[k])}`)
  }
  const finite = (o: Record<string, unknown>, at: string, k: string): void => {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) fail(`field ${at}${k} must be a finite number, got ${show(o[k])}`)
  }
  const object = (o: Record<string, unknown>, k: string): Record<string, unknown> => (isObject(o[k]) ? o[k] : fail(`field ${k} must be an object, got ${show(o[k])}`))
  if (!isObject(v)) return fail(`is ${show(v)}, expected an object {cursor, iteration, acc, metricsBytes, seconds}`)
  const cursor = object(v, 'cursor')
  count(cursor, 'cursor.', 'epoch')
  count(cursor, 'cursor.', 'nextBatch')
  count(v, '', 'iteration')
  const acc = object(v, 'acc')
  for (const k of ['rowLoss', 'rowPenalty', 'epochLoss', 'epochPenalty']) finite(acc, 'acc.', k)
  for (const k of ['rowSteps', 'epochSteps']) count(acc, 'acc.', k)
  const bytes = object(v, 'metricsBytes')
  count(bytes, 'metricsBytes.', 'jsonl')
  count(bytes, 'metricsBytes.', 'csv')
  finite(v, '', 'seconds')
  if ((v['seconds'] as number) < 0) fail(`field seconds must be >= 0, got ${show(v['seconds'])}`)
}

// The model's state dict plus the dynamic prior's W_old snapshots. On load the snapshot entries
// are described by the regularized parameters' names, shapes and dtypes (a snapshot is a past W).
function withSnapshots(ex: Experiment): CheckpointModel {
  const reg = ex.regularizer instanceof DynamicPriorRegularizer ? ex.regularizer : null
  return {
    stateDict() {
      const sd = ex.model.stateDict()
      if (!reg) return sd
      const saved = reg.state().snapshots
      for (const [name, w] of selectParams(ex.model)) {
        // Before the first evaluation W_old is W itself (the spec's first call), so save W.
        sd.set(SNAPSHOT_PREFIX + name, saved[name] ?? new Tensor(w.data.slice(), [...w.shape]))
      }
      return sd
    },
    loadStateDict(sd, options) {
      const own = new Map<string, Tensor>()
      const snapshots: Record<string, Tensor> = {}
      for (const [key, t] of sd) {
        if (key.startsWith(SNAPSHOT_PREFIX)) snapshots[key.slice(SNAPSHOT_PREFIX.length)] = t
        else own.set(key, t)
      }
      ex.model.loadStateDict(own, options)
      // The generator state is restored by the checkpoint right after this call.
      if (reg) reg.setState({ generator: ex.generators['regularizer']!.state(), snapshots })
    },
  }
}
