// What the CLI commands share around a training: where output goes, Ctrl-C and SIGTERM handling
// (the first aborts after the current step and a checkpoint, the second exits at once), and the
// progress display fed by train events.
import type { Progress } from './progress.js'
import type { TrainEvent } from './train.js'

/** Where a command writes: results to `out`, progress and errors to `err`. */
export interface Io {
  out: (s: string) => void
  err: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }
}

/**
 * Signal handling for a training: the first Ctrl-C (SIGINT) or SIGTERM (what a scheduler sends
 * to a job it cancels, preempts or is about to stop at its time limit) stops after the current
 * step and saves a checkpoint; a second one exits at once.
 */
export function interruptible(progress: Progress): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const on = (name: 'SIGINT' | 'SIGTERM') => (): void => {
    const what = name === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'
    if (controller.signal.aborted) {
      progress.log(`Second ${what}: exiting now without saving.`)
      process.exit(name === 'SIGINT' ? 130 : 143)
    }
    progress.log(`${what}: stopping after this step and saving a checkpoint (${what} again to quit at once)...`)
    controller.abort()
  }
  const handlers = { SIGINT: on('SIGINT'), SIGTERM: on('SIGTERM') }
  for (const [name, h] of Object.entries(handlers)) process.on(name, h)
  return { signal: controller.signal, dispose: () => Object.entries(handlers).forEach(([name, h]) => process.off(name, h)) }
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

