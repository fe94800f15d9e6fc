// The rows a run writes to metrics.jsonl and metrics.csv, and how their values are measured:
// test loss/accuracy (cross-entropy and argmax accuracy over a dataset, eval mode, no graph), and
// the weight statistics of the paper's Sec. 2.5.3 over the regularized tensors (mean |w|, global
// L2 norm, density = fraction of |w| > tau at tau = 1e-3, 1e-2, 1e-1).
// Every field is a deterministic function of the run's seed and config, except `seconds`
// (wall-clock time since the start of training, summed over resumes).
import fs from 'node:fs'
import { appendLine } from '../io/atomic.js'
import { DataLoader } from '../data/dataloader.js'
import type { Dataset } from '../data/dataset.js'
import { noGrad } from '../autograd/no-grad.js'
import { tidy } from '../tensor/tidy.js'
import { crossEntropy } from '../nn/functional.js'
import type { Module } from '../nn/module.js'
import { weightStats } from '../regularizers/metrics.js'

export const DENSITY_TAUS = [1e-3, 1e-2, 1e-1] as const
export const DENSITY_KEYS = ['density_1e-3', 'density_1e-2', 'density_1e-1'] as const

/** One line of metrics.jsonl. Iteration rows have test values only on evaluation iterations. */
export interface MetricsRow {
  /** 'iter': every --log-every iterations; 'epoch': at the end of each epoch, on the full test set. */
  kind: 'iter' | 'epoch'
  /** 1-based: the epoch in progress (iter rows) or just finished (epoch rows). */
  epoch: number
  /** Optimizer steps done so far. */
  iteration: number
  /** Mean data loss over the steps since the previous row of the same kind (without the penalty). */
  trainLoss: number
  /** Mean regularizer penalty over the same steps (0 without a regularizer). */
  penalty: number
  testLoss?: number
  testAccuracy?: number
  /** How many test images testLoss/testAccuracy were measured on. */
  testImages?: number
  weightMagnitude: number
  l2Norm: number
  'density_1e-3': number
  'density_1e-2': number
  'density_1e-1': number
  /** Wall-clock seconds since training started (summed over resumes); the only non-reproducible field. */
  seconds: number
}

export const CSV_COLUMNS: Array<keyof MetricsRow> = [
  'kind', 'epoch', 'iteration', 'trainLoss', 'penalty', 'testLoss', 'testAccuracy', 'testImages',
  'weightMagnitude', 'l2Norm', ...DENSITY_KEYS, 'seconds',
]

/**
 * A row with its keys in CSV column order (JSON.stringify keeps insertion order, so rows built
 * in different ways still print identically).
 * @example orderRow({ ...fields })
 */
export function orderRow(fields: MetricsRow): MetricsRow {
  const row: Record<string, unknown> = {}
  for (const k of CSV_COLUMNS) if (fields[k] !== undefined) row[k] = fields[k]
  return row as unknown as MetricsRow
}

/** Fields that differ between two runs of the same config (wall-clock time). */
export const TIME_FIELDS = ['seconds', 'elapsedSeconds'] as const

/**
 * Append a row to `<dir>/metrics.jsonl` and `<dir>/metrics.csv` (the CSV header is written
 * when the file is new or empty). Numbers are written in JavaScript's shortest round-trip form.
 * @example appendRow('runs/a', row)
 */
export function appendRow(dir: string, row: MetricsRow): void {
  appendLine(`${dir}/metrics.jsonl`, JSON.stringify(row))
  const csv = `${dir}/metrics.csv`
  if (!fs.existsSync(csv) || fs.statSync(csv).size === 0) appendLine(csv, CSV_COLUMNS.join(','))
  appendLine(csv, CSV_COLUMNS.map((k) => (row[k] === undefined ? '' : String(row[k]))).join(','))
}

/** Read metrics.jsonl back. @example readRows('runs/a').filter((r) => r.kind === 'epoch') */
export function readRows(dir: string): MetricsRow[] {
  const file = `${dir}/metrics.jsonl`
  const text = fs.readFileSync(file, 'utf8')
  return text.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
    try {
      return JSON.parse(l) as MetricsRow
    } catch (err) {
      throw new Error(`readRows(${file}): line ${i + 1} is not JSON: ${(err as Error).message}`)
    }
  })
}

/** The weight columns of a row. */
export type WeightColumns = Pick<MetricsRow, 'weightMagnitude' | 'l2Norm' | (typeof DENSITY_KEYS)[number]>

/**
 * Mean |w|, global L2 norm and density at 1e-3/1e-2/1e-1 over the regularized weights of `model`
 * (the weights of Linear and Conv2d layers, all entries pooled).
 * @example weightColumns(model)['density_1e-3']
 */
export function weightColumns(model: Module): WeightColumns {
  const { total } = weightStats(model, { taus: [...DENSITY_TAUS] })
  return {
    weightMagnitude: total.meanAbs,
    l2Norm: total.l2Norm,
    'density_1e-3': total.density[0]!,
    'density_1e-2': total.density[1]!,
    'density_1e-1': total.density[2]!,
  }
}

/**
 * Mean cross-entropy and accuracy of `model` on `dataset`, in eval mode without a graph; the
 * model's train/eval mode is restored afterwards.
 * @example const { loss, accuracy } = evaluate(model, testSet)
 */
export function evaluate(model: Module, dataset: Dataset, batchSize = 250): { loss: number; accuracy: number; images: number } {
  const wasTraining = model.training
  model.eval()
  let lossSum = 0
  let correct = 0
  try {
    noGrad(() => {
      for (const { x, y } of new DataLoader(dataset, { batchSize }).epochBatches(0)) {
        // one tidy() scope per batch: its tensors are freed as soon as it is counted
        tidy(() => {
          const logits = model.forward(x)
          const n = y.shape[0]!
          lossSum += crossEntropy(logits, y).item() * n
          const pred = logits.argmax(1).data
          const labels = y.data
          for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++
        })
      }
    })
  } finally {
    model.train(wasTraining)
  }
  const images = dataset.length
  return { loss: lossSum / images, accuracy: correct / images, images }
}
