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
  const extra = loadCheckpoint(path.join(out, CHECKPOINT_DIR), { model: withSnapshots(ex), optimizer: ex.optimizer, generators: ex.generators }) as RunState
  if (!extra || typeof extra !== 'object' || !extra.cursor || !extra.metricsBytes || !extra.acc) {
    throw new Error(`loadRunState(${out}): the checkpoint has no run state (cursor, metricsBytes, acc); was it written by priorgrad train?`)
  }
  for (const [file, bytes] of [['metrics.jsonl', extra.metricsBytes.jsonl], ['metrics.csv', extra.metricsBytes.csv]] as const) {
    const p = path.join(out, file)
    const size = fileSize(p)
    if (size < bytes) throw new Error(`loadRunState(${out}): ${file} has ${size} bytes, fewer than the ${bytes} it had at the checkpoint; it was modified`)
    if (size > bytes) fs.truncateSync(p, bytes)
  }
  return extra
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
