// Standalone SVG line charts for the paper's figures, with no dependency: penalties against vector
// density on a log x axis (Fig. 2) and training curves per configuration with a shaded band over
// seeds (Figs. 3-5). Output is a plain string, identical for identical input.
// NOTE: coordinates are rounded to 0.1 px (at most 4-5 significant digits), which keeps files small
// and the output byte-for-byte deterministic.
import { linearTicks, logTicks, type AxisTicks, type Tick } from './ticks.js'

/** One line on a chart; `band` is a shaded range drawn under it (e.g. min..max over seeds). */
export interface Series {
  label: string
  x: number[]
  y: number[]
  band?: { low: number[]; high: number[] }
  dashed?: boolean
}

/** Options of {@link lineChart}; width and height are in px (defaults 640 x 400). */
export interface LineChartOptions {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  xScale?: 'linear' | 'log'
  yScale?: 'linear' | 'log'
  width?: number
  height?: number
}

/**
 * Okabe-Ito colours, safe for the common colour-vision deficiencies, reordered so the first
 * lines get the strongest contrast on white; yellow comes last because it is faint on white.
 * @example PALETTE[0] // '#0072B2', the first series
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']

const FONT = 12
const CHAR_W = 0.6 * FONT // rough width of one character, used only to size the margins

/** Escape text for SVG content and attribute values. @example escapeXml('a<b') // 'a&lt;b' */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** A pixel coordinate as text; throws rather than let "NaN" into the document. */
export function px(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`lineChart: internal error, non-finite coordinate ${v}`)
  return String(Math.round(v * 10) / 10 + 0)
}

interface Axis {
  ticks: AxisTicks
  /** Data value to pixel. */
  map: (v: number) => number
}

function makeAxis(values: number[], log: boolean, target: number, p0: number, p1: number): Axis {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const empty = values.length === 0
  const ticks = log ? logTicks(empty ? 1 : lo, empty ? 10 : hi) : linearTicks(empty ? 0 : lo, empty ? 1 : hi, target)
  const t = log ? Math.log10 : (v: number) => v
  const [d0, d1] = ticks.domain.map(t)
  return {
    ticks,
    map: (v) => p0 + ((t(v) - d0) / (d1 - d0)) * (p1 - p0),
  }
}

function checkSeries(s: Series, i: number): void {
  const name = `series ${i} ("${s.label}")`
  if (s.x.length !== s.y.length) {
    throw new Error(`lineChart: ${name} has x.length ${s.x.length} but y.length ${s.y.length}; expected equal`)
  }
  if (s.band && (s.band.low.length !== s.x.length || s.band.high.length !== s.x.length)) {
    throw new Error(
      `lineChart: ${name} has band low/high lengths ${s.band.low.length}/${s.band.high.length}, expected ${s.x.length}`,
    )
  }
}

/** Runs of consecutive indices where `ok(i)` holds; a failing index ends a run (a visible gap). */
function segments(n: number, ok: (i: number) => boolean): number[][] {
  const out: number[][] = []
  let cur: number[] = []
  for (let i = 0; i < n; i++) {
    if (ok(i)) cur.push(i)
    else if (cur.length > 0) {
      out.push(cur)
      cur = []
    }
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** Tick label as SVG text content: plain text, or 10 with a superscript exponent. */
function tickText(t: Tick): string {
  if (t.sup === undefined) return escapeXml(t.text)
  const sup = escapeXml(t.sup.replace('-', '\u2212'))
  return `${escapeXml(t.text)}<tspan dy="-0.5em" font-size="${FONT - 3}">${sup}</tspan>`
}

function tickWidth(t: Tick): number {
  return (t.text.length + (t.sup === undefined ? 0 : 0.75 * t.sup.length)) * CHAR_W
}

/**
 * Render a line chart as a complete standalone SVG document.
 * Non-finite points (and points <= 0 on a log axis) break the line, leaving a gap.
 * @example lineChart({ title: 'Loss', xLabel: 'iteration', yLabel: 'loss', series: [{ label: 'L2', x: [0, 1], y: [2, 1] }] })
 */
export function lineChart(opts: LineChartOptions): string {
  const W = opts.width ?? 640
  const H = opts.height ?? 400
  if (!(W > 0 && H > 0 && Number.isFinite(W) && Number.isFinite(H))) {
    throw new Error(`lineChart: expected positive finite width and height, got ${W} x ${H}`)
  }
  opts.series.forEach(checkSeries)
  const xLog = opts.xScale === 'log'
  const yLog = opts.yScale === 'log'
  const okX = (v: number) => Number.isFinite(v) && (!xLog || v > 0)
  const okY = (v: number) => Number.isFinite(v) && (!yLog || v > 0)

  // Data extent: only points that will actually be drawn.
  const xs: number[] = []
  const ys: number[] = []
  for (const s of opts.series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!okX(s.x[i])) continue
      const inBand = s.band ? [s.band.low[i], s.band.high[i]].filter(okY) : []
      if (okY(s.y[i])) ys.push(s.y[i])
      ys.push(...inBand)
      if (okY(s.y[i]) || inBand.length > 0) xs.push(s.x[i])
    }
  }
  const noData = xs.length === 0

  // Layout: title on top, tick labels and axis labels left and below, legend on the right.
  const top = opts.title ? 36 : 14
  const bottom = 48
  const plotH = Math.max(10, H - top - bottom)
  const yAxis = makeAxis(ys, yLog, Math.max(2, Math.round(plotH / 60)), top + plotH, top)
  const yTickW = Math.max(...yAxis.ticks.major.map(tickWidth))
  const left = Math.ceil(yTickW + 40)
  const maxLabel = Math.max(0, ...opts.series.map((s) => s.label.length))
  const right = opts.series.length === 0 ? 16 : Math.min(0.45 * W, Math.ceil(maxLabel * CHAR_W + 62))
  const plotW = Math.max(10, W - left - right)
  const x0 = left
  const x1 = left + plotW
  const y0 = top
  const y1 = top + plotH
  const xAxis = makeAxis(xs, xLog, Math.max(2, Math.round(plotW / 100)), x0, x1)

  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(W)}" height="${px(H)}" viewBox="0 0 ${px(W)} ${px(H)}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
  )
  out.push(`<title>${escapeXml(opts.title)}</title>`)
  out.push(`<rect x="0" y="0" width="${px(W)}" height="${px(H)}" fill="#ffffff"/>`)

  // Grid (minor lighter than major), under everything else.
  out.push('<g stroke-width="1">')
  for (const v of xAxis.ticks.minor) out.push(vline(xAxis.map(v), y0, y1, '#f0f0f0'))
  for (const v of yAxis.ticks.minor) out.push(hline(yAxis.map(v), x0, x1, '#f0f0f0'))
  for (const t of xAxis.ticks.major) out.push(vline(xAxis.map(t.value), y0, y1, '#dddddd'))
  for (const t of yAxis.ticks.major) out.push(hline(yAxis.map(t.value), x0, x1, '#dddddd'))
  out.push('</g>')

  // Bands first, so every line is drawn on top of every band.
  // NOTE: on a log y axis a band edge <= 0 (e.g. mean - std of a density) is clamped to the bottom
  // of the axis instead of cutting the band, since the true range does reach below the axis.
  const yFloor = yAxis.ticks.domain[0]
  out.push('<g fill-opacity="0.2" stroke="none">')
  opts.series.forEach((s, si) => {
    if (!s.band) return
    const { low, high } = s.band
    const lowAt = (i: number) => (yLog && Number.isFinite(low[i]) && low[i] <= 0 ? yFloor : low[i])
    const segs = segments(s.x.length, (i) => okX(s.x[i]) && okY(lowAt(i)) && okY(high[i]))
    for (const seg of segs) {
      const fwd = seg.map((i) => `${px(xAxis.map(s.x[i]))},${px(yAxis.map(lowAt(i)))}`)
      const back = [...seg].reverse().map((i) => `${px(xAxis.map(s.x[i]))},${px(yAxis.map(high[i]))}`)
      out.push(`<path d="M${[...fwd, ...back].join('L')}Z" fill="${colour(si)}"/>`)
    }
  })
  out.push('</g>')

  // Lines: one polyline per unbroken run; a lone point becomes a dot so it is not lost.
  out.push('<g fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">')
  opts.series.forEach((s, si) => {
    const segs = segments(s.x.length, (i) => okX(s.x[i]) && okY(s.y[i]))
    const dash = isDashed(s, si) ? ' stroke-dasharray="6 4"' : ''
    for (const seg of segs) {
      const pts = seg.map((i) => `${px(xAxis.map(s.x[i]))},${px(yAxis.map(s.y[i]))}`)
      if (seg.length === 1) {
        const [cx, cy] = pts[0].split(',')
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour(si)}" stroke="none"/>`)
      } else {
        out.push(`<polyline points="${pts.join(' ')}" stroke="${colour(si)}"${dash}/>`)
      }
    }
  })
  out.push('</g>')

  // Frame, tick marks and tick labels.
  out.push(`<g stroke="#333333" stroke-width="1">`)
  out.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${px(plotW)}" height="${px(plotH)}" fill="none"/>`)
  for (const v of xAxis.ticks.minor) out.push(vline(xAxis.map(v), y1, y1 + 3))
  for (const v of yAxis.ticks.minor) out.push(hline(yAxis.map(v), x0 - 3, x0))
  for (const t of xAxis.ticks.major) out.push(vline(xAxis.map(t.value), y1, y1 + 5))
  for (const t of yAxis.ticks.major) out.push(hline(yAxis.map(t.value), x0 - 5, x0))
  out.push('</g>')
  out.push('<g fill="#222222">')
  for (const t of xAxis.ticks.major) {
    out.push(`<text x="${px(xAxis.map(t.value))}" y="${px(y1 + 19)}" text-anchor="middle">${tickText(t)}</text>`)
  }
  for (const t of yAxis.ticks.major) {
    out.push(`<text x="${px(x0 - 8)}" y="${px(yAxis.map(t.value) + 4)}" text-anchor="end">${tickText(t)}</text>`)
  }
  out.push('</g>')

  // Title, axis labels, "no data" note.
  const cx = px((x0 + x1) / 2)
  const cy = px((y0 + y1) / 2)
  if (opts.title) {
    out.push(`<text x="${cx}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`)
  }
  out.push(`<text x="${cx}" y="${px(y1 + 40)}" text-anchor="middle" font-size="13">${escapeXml(opts.xLabel)}</text>`)
  out.push(
    `<text x="0" y="0" transform="translate(${px(x0 - yTickW - 22)},${cy}) rotate(-90)" text-anchor="middle" ` +
      `font-size="13">${escapeXml(opts.yLabel)}</text>`,
  )
  if (noData) out.push(`<text x="${cx}" y="${cy}" text-anchor="middle" fill="#777777">no data</text>`)

  out.push(legend(opts.series, x1 + 14, y0 + 8))
  out.push('</svg>')
  return out.join('\n') + '\n'
}

function colour(i: number): string {
  return PALETTE[i % PALETTE.length]
}

/** Past the palette, colours repeat, so the repeats are dashed to keep every line distinct. */
function isDashed(s: Series, i: number): boolean {
  return (s.dashed ?? false) !== (Math.floor(i / PALETTE.length) % 2 === 1)
}

function vline(x: number, ya: number, yb: number, stroke?: string): string {
  const st = stroke ? ` stroke="${stroke}"` : ''
  return `<line x1="${px(x)}" y1="${px(ya)}" x2="${px(x)}" y2="${px(yb)}"${st}/>`
}

function hline(y: number, xa: number, xb: number, stroke?: string): string {
  const st = stroke ? ` stroke="${stroke}"` : ''
  return `<line x1="${px(xa)}" y1="${px(y)}" x2="${px(xb)}" y2="${px(y)}"${st}/>`
}

/** Legend: a swatch per series (band box behind the line if the series has a band), then its label. */
function legend(series: Series[], x: number, y: number): string {
  const rows: string[] = ['<g>']
  series.forEach((s, i) => {
    const ry = y + i * 20
    if (s.band) {
      rows.push(`<rect x="${px(x)}" y="${px(ry - 6)}" width="24" height="12" fill="${colour(i)}" fill-opacity="0.2"/>`)
    }
    const dash = isDashed(s, i) ? ' stroke-dasharray="6 4"' : ''
    rows.push(
      `<line x1="${px(x)}" y1="${px(ry)}" x2="${px(x + 24)}" y2="${px(ry)}" stroke="${colour(i)}" stroke-width="2"${dash}/>`,
    )
    rows.push(`<text x="${px(x + 30)}" y="${px(ry + 4)}" fill="#222222">${escapeXml(s.label)}</text>`)
  })
  rows.push('</g>')
  return rows.join('\n')
}
