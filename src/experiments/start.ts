// `priorgrad start` (npm start): the built-in demonstration. Trains the paper's 2-layer CNN on an
// MNIST subset twice, with L2 and with the dynamic prior (sp 0.01, both at lambda 5e-4), seed 0,
// then writes report.md with the table and the four curves, and prints where it is. It is a
// two-cell sweep, so a second `npm start` skips finished runs and resumes an interrupted one.
import path from 'node:path'
import { parseNumber } from './config.js'
import type { FlagSpec, ParsedFlags } from './args.js'
import { PROGRESS_FLAG } from './args.js'
import type { Progress } from './progress.js'
import { progressListener, type Io } from './session.js'
import { writeReport } from './report.js'
import { runSweep, type GridFile } from './sweep.js'

/**
 * Training images per run (batch 32: 750 steps). NOTE: measured on the 2-core reference machine,
 * quiet, on a fresh clone: the whole job took 3 min 21 s (L2 and dynamic-prior runs ~265 img/s,
 * test evaluations included), which leaves room for a slower machine within ~5 min.
 */
export const START_TRAIN_IMAGES = 24000

export const START_DESCRIPTION =
  `The built-in demo: cnn2 on ${START_TRAIN_IMAGES} MNIST training images, 1 epoch, L2 against the dynamic prior\n` +
  '(sp 0.01, lambda 5e-4 for both), seed 0; then report.md with the table and four charts.\n' +
  'Finished runs are kept: run it again to only rebuild the report, or delete DIR to start over.'

export const START_FLAGS: FlagSpec[] = [
  { flag: 'out', meta: 'DIR', help: 'where the runs and the report go', default: 'runs/start' },
  { flag: 'train-subset', meta: 'N', help: 'training images per run', default: String(START_TRAIN_IMAGES) },
  { flag: 'backend', meta: 'NAME', help: 'kernels (see priorgrad train --help)', default: 'auto' },
  PROGRESS_FLAG,
]

/** The demo's grid. @example startGrid(3200, 'auto').axes */
export function startGrid(trainImages: number, backend: string): GridFile {
  return {
    description: 'priorgrad start: cnn2 on an MNIST subset, L2 vs the dynamic prior (sp 0.01), seed 0',
    base: {
      dataset: 'mnist', model: 'cnn2', epochs: 1, seed: 0, sp: 0.01, lambda: 5e-4,
      trainSubset: trainImages, testSubset: 500, evalEvery: 25, logEvery: 5, backend,
    },
    axes: { reg: ['l2', 'dynamic-prior'] },
  }
}

/** Run the demo and write its report; returns the exit code. */
export async function startJob(values: ParsedFlags['values'], ctx: { progress: Progress; signal: AbortSignal; argv: string[]; io: Io }): Promise<number> {
  const root = typeof values['out'] === 'string' ? values['out'] : path.join('runs', 'start')
  let images = START_TRAIN_IMAGES
  if (values['train-subset'] !== undefined) {
    images = parseNumber(String(values['train-subset']), 'train-subset', { min: 1, max: 1e7, integer: true })
  }
  const backend = typeof values['backend'] === 'string' ? values['backend'] : 'auto'
  const { progress, io } = ctx
  const r = await runSweep(startGrid(images, backend), root, {
    signal: ctx.signal, argv: ctx.argv, onEvent: progressListener(progress),
    onCell: (cell, action, { k, of }) => progress.log(`[${k}/${of}] ${cell.name}: ${action === 'skip' ? 'done already, skipped' : action}`),
  })
  progress.finish()
  for (const f of r.failed) io.err.write(`priorgrad start: run ${f.name} failed: ${f.error}\n`)
  if (r.stopped) {
    io.out(`Stopped; run 'npm start' again to continue from the checkpoint in ${root}.\n`)
    return 130
  }
  if (r.failed.length > 0) return 1
  const report = writeReport([root], { out: root })
  io.out(`Report written to ${report.file} (figure: ${path.join(root, 'figure.svg')})\n`)
  return 0
}
