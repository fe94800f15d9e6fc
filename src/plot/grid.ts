// Compose several chart SVGs into one figure (e.g. the paper's 2x2 panels: loss, accuracy,
// weight magnitude, weight density) by nesting each chart as an <svg> element placed on a grid.
// NOTE: charts from lineChart use no ids, so nesting them cannot create clashing references.
import { px } from './svg.js'

/**
 * Compose chart SVGs (from {@link lineChart}) into one SVG, row by row, as nested `<svg>` elements.
 * @example gridOfCharts([loss, acc, mag, density], 2) // a 2x2 figure like the paper's Fig. 3
 */
export function gridOfCharts(charts: string[], columns: number): string {
  if (!Number.isInteger(columns) || columns < 1) {
    throw new Error(`gridOfCharts: expected a positive integer number of columns, got ${columns}`)
  }
  if (charts.length === 0) throw new Error('gridOfCharts: expected at least one chart, got none')
  const parsed = charts.map((c, i) => {
    const m = /^\s*<svg\b([^>]*)>/.exec(c)
    const w = m && /\swidth="([\d.]+)"/.exec(m[1])
    const h = m && /\sheight="([\d.]+)"/.exec(m[1])
    if (!m || !w || !h) {
      throw new Error(`gridOfCharts: chart ${i} is not an <svg> with numeric width and height attributes`)
    }
    return { body: c.trim().slice(m[0].length), attrs: m[1], w: Number(w[1]), h: Number(h[1]) }
  })
  const cellW = Math.max(...parsed.map((p) => p.w))
  const cellH = Math.max(...parsed.map((p) => p.h))
  const cols = Math.min(columns, charts.length)
  const W = cols * cellW
  const H = Math.ceil(charts.length / columns) * cellH
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(W)}" height="${px(H)}" viewBox="0 0 ${px(W)} ${px(H)}">`,
    `<rect x="0" y="0" width="${px(W)}" height="${px(H)}" fill="#ffffff"/>`,
  ]
  parsed.forEach((p, i) => {
    const x = (i % columns) * cellW
    const y = Math.floor(i / columns) * cellH
    out.push(`<svg x="${px(x)}" y="${px(y)}"${p.attrs}>${p.body}`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
