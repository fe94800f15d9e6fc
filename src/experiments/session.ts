// What the CLI commands share around a training: where output goes, Ctrl-C handling (the first
// SIGINT aborts after the current step and a checkpoint, the second exits at once), and the
// progress display fed by train events.
import type { Progress } from './progress.js'
import type { TrainEvent } from './train.js'

/** Where a command writes: results to `out`, progress and errors to `err`. */
export interface Io {
  out: (s: string) => void
  err: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }
}

/** SIGINT handling for a training: the first Ctrl-C aborts cleanly, the second exits. */
export function interruptible(progress: Progress): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      progress.log('Second Ctrl-C: exiting now without saving.')
      process.exit(130)
    }
    progress.log('Ctrl-C: stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)...')
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) }
}

/** Progress display driven by train events. */
export function progressListener(progress: Progress): (e: TrainEvent) => void {
  return (e) => {
    if (e.type === 'step') progress.update(e)
    else if (e.type === 'start') {
      const from = e.resumedAt === null ? '' : `, resuming after iteration ${e.resumedAt}`
      progress.log(`Training ${e.config.model} on ${e.config.dataset} (${e.config.reg}${e.config.reg === 'none' ? '' : `, lambda ${e.config.lambda}`}) into ${e.config.out}: ${e.totalIterations} iterations on ${e.backend.name}${from}`)
    } else if (e.type === 'row' && e.row.kind === 'epoch') {
      progress.log(`epoch ${e.row.epoch}: train loss ${e.row.trainLoss.toFixed(4)}, test loss ${e.row.testLoss?.toFixed(4)}, test accuracy ${e.row.testAccuracy?.toFixed(4)}, density(1e-3) ${e.row['density_1e-3'].toPrecision(3)}`)
    } else if (e.type === 'checkpoint' && e.reason === 'abort') progress.log(`Checkpoint saved in ${e.dir}`)
  }
}

