// Training progress for people: on a terminal, one status line redrawn in place with '\r'
// (epoch, iteration/total, loss, images/s, ETA); otherwise (a log file, CI) a plain line every
// N iterations, which keeps logs readable. Rates count only this process's steps, so a resumed
// run does not report the checkpoint's iterations as instantly done.

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none'

export interface ProgressInfo {
  epoch: number
  epochs: number
  /** Iterations done so far, counting from the start of the run (before any resume). */
  iteration: number
  totalIterations: number
  loss: number
  batchSize: number
}

export interface ProgressOptions {
  mode?: ProgressMode
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean }
  /** Plain-line mode: one line every this many iterations (default 50). */
  every?: number
  /** Clock in ms, injectable for tests (default performance.now). */
  now?: () => number
}

export interface Progress {
  update(info: ProgressInfo): void
  /** Print a message without garbling the status line. */
  log(message: string): void
  /** End the status line (prints a newline on a terminal). */
  finish(): void
}

/**
 * A progress display for `train`.
 * @example const p = createProgress({ mode: 'auto' }); p.update({ epoch: 0, epochs: 1, iteration: 5, totalIterations: 100, loss: 2.1, batchSize: 32 })
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? (() => performance.now())
  const every = options.every ?? 50
  let mode = options.mode ?? 'auto'
  if (mode === 'auto') mode = stream.isTTY === true ? 'bar' : 'lines'
  let first: { t: number; iteration: number } | null = null
  let lastIteration = -Infinity
  let lastDraw = -Infinity
  let shown = '' // the status line currently on screen (bar mode)

  const format = (info: ProgressInfo, bar: boolean): string => {
    const t = now()
    // A sweep shows several runs on one display: an iteration count that goes back starts a new run.
    if (first === null || info.iteration < lastIteration) first = { t, iteration: info.iteration }
    lastIteration = info.iteration
    const done = info.iteration - first.iteration
    const secs = (t - first.t) / 1000
    const rate = done > 0 && secs > 0 ? (done * info.batchSize) / secs : NaN
    const eta = done > 0 ? ((info.totalIterations - info.iteration) * secs) / done : NaN
    const frac = info.totalIterations > 0 ? info.iteration / info.totalIterations : 0
    const width = 20
    const filled = Math.round(frac * width)
    return [
      `epoch ${info.epoch + 1}/${info.epochs}`,
      bar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : '',
      `iter ${info.iteration}/${info.totalIterations}`,
      `loss ${info.loss.toFixed(4)}`,
      Number.isFinite(rate) ? `${rate.toFixed(0)} img/s` : '- img/s',
      `ETA ${formatDuration(eta)}`,
    ].filter((s) => s !== '').join('  ')
  }

  return {
    update(info) {
      if (mode === 'none') return
      if (mode === 'lines') {
        const line = format(info, false)
        if (info.iteration % every === 0 || info.iteration === info.totalIterations) stream.write(line + '\n')
        return
      }
      const t = now()
      // Redraw at most 10 times a second: terminals are slow, and the numbers are unreadable faster.
      if (t - lastDraw < 100 && info.iteration !== info.totalIterations) {
        format(info, true) // keeps the rate's start time right
        return
      }
      lastDraw = t
      shown = format(info, true)
      stream.write(`\r${shown}\x1b[K`)
    },
    log(message) {
      if (mode === 'bar' && shown !== '') stream.write(`\r\x1b[K${message}\n${shown}`)
      else stream.write(message + '\n')
    },
    finish() {
      if (mode === 'bar' && shown !== '') stream.write('\n')
      shown = ''
    },
  }
}

/** Seconds as h:mm:ss or m:ss; '-' when unknown. @example formatDuration(75) // '1:15' */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}
