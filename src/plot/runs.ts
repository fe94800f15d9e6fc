// Turn repeated runs (one array per seed) into a chart Series: the mean line plus a band, either
// min..max over seeds or mean +- one standard deviation, as in the paper's training plots.
// NOTE: a non-finite value in any run makes that point NaN (a gap) rather than being skipped, so a
// diverged seed shows up in the figure instead of silently shrinking the average.
import type { Series } from './svg.js'

/** How the band around the mean is drawn: the extremes over seeds, or mean +- population std. */
export type BandKind = 'minmax' | 'std'

/**
 * Mean over seeds with a band, ready for {@link lineChart}. `runs[s][i]` is seed s at x[i].
 * @example seriesFromRuns('s_p=0.01', [0, 1], [[2, 1], [2.2, 0.9]]) // mean [2.1, 0.95], band min..max
 */
export function seriesFromRuns(
  label: string,
  x: number[],
  runs: number[][],
  opts: { band?: BandKind; dashed?: boolean } = {},
): Series {
  if (runs.length === 0) throw new Error(`seriesFromRuns: "${label}" has no runs; expected at least one`)
  runs.forEach((r, s) => {
    if (r.length !== x.length) {
      throw new Error(`seriesFromRuns: "${label}" run ${s} has length ${r.length}, expected x.length ${x.length}`)
    }
  })
  const kind = opts.band ?? 'minmax'
  const y: number[] = []
  const low: number[] = []
  const high: number[] = []
  for (let i = 0; i < x.length; i++) {
    const vals = runs.map((r) => r[i])
    if (!vals.every(Number.isFinite)) {
      y.push(NaN)
      low.push(NaN)
      high.push(NaN)
      continue
    }
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length
    y.push(mean)
    if (kind === 'minmax') {
      low.push(Math.min(...vals))
      high.push(Math.max(...vals))
    } else {
      const std = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length)
      low.push(mean - std)
      high.push(mean + std)
    }
  }
  const series: Series = { label, x: [...x], y, band: { low, high } }
  if (opts.dashed !== undefined) series.dashed = opts.dashed
  return series
}
