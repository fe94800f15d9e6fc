// Wall-clock timing for the benchmarks: warm up, then repeat within a time budget and
// report the median, min and max (timings on these machines are noisy: compare ratios
// measured in one run).

export interface Timing {
  medianMs: number
  minMs: number
  maxMs: number
  reps: number
}

function summarize(ts: number[]): Timing {
  ts.sort((a, b) => a - b)
  return { medianMs: ts[ts.length >> 1]!, minMs: ts[0]!, maxMs: ts[ts.length - 1]!, reps: ts.length }
}

/** Two warm-up calls, then at least 3 and at most maxReps timed calls within budgetS seconds. */
export function time(fn: () => void, budgetS: number, maxReps = 300): Timing {
  fn()
  fn()
  const ts: number[] = []
  const start = performance.now()
  while (ts.length < maxReps && (ts.length < 3 || performance.now() - start < budgetS * 1000)) {
    const t0 = performance.now()
    fn()
    ts.push(performance.now() - t0)
  }
  return summarize(ts)
}

/**
 * For work that may take seconds per call: one probe first; a probe slower than maxRepS is
 * reported alone (one repetition) instead of repeated into a timeout; slow calls get at most
 * 3 repetitions.
 */
export function timeSlow(fn: () => void, budgetS: number, maxRepS: number): Timing {
  const t0 = performance.now()
  fn()
  const first = performance.now() - t0
  if (first > maxRepS * 1000) return summarize([first])
  if (first <= budgetS * 1000) return time(fn, budgetS)
  const ts = [first]
  while (ts.length < 3 && first < 10_000) {
    const t1 = performance.now()
    fn()
    ts.push(performance.now() - t1)
  }
  return summarize(ts)
}
