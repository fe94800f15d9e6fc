// Presenting the bounds experiment (Fig. 2): a text table and an SVG chart of L1, L2, the proposed
// penalty and Eq. 7's bound against vector density, both axes logarithmic (the penalties span
// several decades across densities 1e-3..1).
import { lineChart } from '../plot/svg.js'
import type { BoundsRow } from './bounds.js'

/** Setting shown in the chart's title. */
export interface BoundsSetting {
  N: number
  S: number
  sp: number
  seeds: number
}

const fmt = (v: number): string => (v === 0 ? '0' : v.toExponential(3))

/**
 * A fixed-width table, one line per density, with where Eq. 7 holds.
 * @example console.log(formatBoundsTable(boundsExperiment()))
 */
export function formatBoundsTable(rows: BoundsRow[]): string {
  const head = ['density', 'nonzeros', 'L1', 'L2', 'proposed', 'bound', 'Eq. 7', 'printed', 'Eq. 7 printed']
  const lines = rows.map((r) => [
    r.density.toExponential(2),
    String(r.nonzeros),
    fmt(r.l1),
    fmt(r.l2),
    fmt(r.proposed),
    fmt(r.bound),
    r.verdict,
    fmt(r.boundPrinted),
    r.verdictPrinted,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  return [row(head), ...lines.map(row)].join('\n')
}

/**
 * The Fig. 2 chart as a standalone SVG document.
 * @example writeFileAtomic('bounds.svg', boundsChart(rows, { N: 10000, S: 10, sp: 0.01, seeds: 10 }))
 */
export function boundsChart(rows: BoundsRow[], setting: BoundsSetting): string {
  const x = rows.map((r) => r.density)
  return lineChart({
    title: `Fig. 2: penalties vs density (N=${setting.N}, S=${setting.S}, sp=${setting.sp}, ${setting.seeds} draws)`,
    xLabel: 'density (fraction of nonzero entries)',
    yLabel: 'penalty',
    xScale: 'log',
    yScale: 'log',
    width: 760,
    height: 460,
    series: [
      { label: 'L1 = sum |w|', x, y: rows.map((r) => r.l1) },
      { label: 'L2 = ||w||', x, y: rows.map((r) => r.l2) },
      { label: 'proposed (Eq. 6)', x, y: rows.map((r) => r.proposed) },
      { label: 'Eq. 7 bound', x, y: rows.map((r) => r.bound), dashed: true },
      { label: 'Eq. 7 as printed', x, y: rows.map((r) => r.boundPrinted), dashed: true },
    ],
  })
}
