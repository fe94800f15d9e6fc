// SVG plotting: document structure, tick generation, escaping, gaps and bands, determinism,
// degenerate inputs, chart grids and the seed-band helper.
import { describe, expect, it } from 'vitest'
import { gridOfCharts, lineChart, linearTicks, logTicks, niceStep, PALETTE, seriesFromRuns } from '../src/plot/index.js'
import type { LineChartOptions, Series } from '../src/plot/index.js'

/** Checks the document is well-formed for the tags we emit: one root, every open tag closed in order. */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
  for (const bad of ['NaN', 'undefined', 'Infinity', 'null']) expect(svg).not.toContain(bad)
  // Every '&' starts an entity we produce.
  expect(svg.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&')
  const stack: string[] = []
  let roots = 0
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)([^<>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name)
    else if (!selfClose) {
      if (stack.length === 0) roots++
      stack.push(name)
    } else if (stack.length === 0) roots++
  }
  expect(stack).toEqual([])
  expect(roots).toBe(1)
  // No stray angle brackets outside tags (an unescaped label would leave one).
  expect(svg.replace(/<[^<>]*>/g, '')).not.toMatch(/[<>]/)
}

const count = (s: string, sub: string) => s.split(sub).length - 1

function chart(series: Series[], extra: Partial<LineChartOptions> = {}): string {
  return lineChart({ title: 'T', xLabel: 'x', yLabel: 'y', series, ...extra })
}

describe('ticks', () => {
  it('niceStep rounds to 1-2-5 x 10^k', () => {
    expect([0.37, 1.2, 2.4, 3.1, 8, 0.0031, 140].map(niceStep)).toEqual([0.5, 1, 2, 5, 10, 0.005, 100])
  })

  it('linearTicks: [0, 0.93] gives 0.0..1.0 in steps of 0.2', () => {
    const t = linearTicks(0, 0.93)
    expect(t.major.map((m) => m.value)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(t.major.map((m) => m.text)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0'])
    expect(t.domain).toEqual([0, 1])
  })

  it('linearTicks: negative ranges, no float drift, domain covers the data', () => {
    const t = linearTicks(-3.2, 7.9)
    expect(t.major.map((m) => m.text)).toEqual(['-4', '-2', '0', '2', '4', '6', '8'])
    const u = linearTicks(0.1, 0.7)
    for (const m of u.major) expect(String(m.value).length).toBeLessThanOrEqual(4)
    expect(u.domain[0]).toBeLessThanOrEqual(0.1)
    expect(u.domain[1]).toBeGreaterThanOrEqual(0.7)
  })

  it('linearTicks: a constant range is widened; huge values use exponent labels', () => {
    const c = linearTicks(5, 5)
    expect(c.domain[0]).toBeLessThan(5)
    expect(c.domain[1]).toBeGreaterThan(5)
    expect(linearTicks(0, 0).major.length).toBeGreaterThanOrEqual(2)
    expect(linearTicks(0, 2e7).major.map((m) => m.text)).toContain('1.0e7')
    expect(() => linearTicks(NaN, 1)).toThrow(/linearTicks/)
  })

  it('logTicks: [0.001, 1] gives 10^-3..10^0 with minor ticks 2..9', () => {
    const t = logTicks(0.001, 1)
    expect(t.major.map((m) => m.value)).toEqual([0.001, 0.01, 0.1, 1])
    expect(t.major.map((m) => `${m.text}^${m.sup}`)).toEqual(['10^-3', '10^-2', '10^-1', '10^0'])
    expect(t.minor).toHaveLength(24)
    expect(t.minor).toContain(0.002)
    expect(t.minor).toContain(0.9)
  })

  it('logTicks: snaps out to decades; wide ranges thin out; bad input throws', () => {
    expect(logTicks(0.002, 0.5).domain).toEqual([0.001, 1])
    expect(logTicks(5, 5).domain).toEqual([1, 10])
    const wide = logTicks(1e-12, 1e12)
    expect(wide.major.length).toBeLessThanOrEqual(8)
    expect(wide.minor).toEqual([])
    expect(wide.domain[0]).toBe(1e-12)
    expect(wide.domain[1]).toBeGreaterThanOrEqual(1e12)
    expect(() => logTicks(0, 1)).toThrow(/logTicks/)
  })
})

describe('lineChart', () => {
  const two: Series[] = [
    { label: 'L2', x: [0, 1, 2, 3], y: [1, 0.5, 0.3, 0.2], band: { low: [0.9, 0.4, 0.2, 0.1], high: [1.1, 0.6, 0.4, 0.3] } },
    { label: 'proposed', x: [0, 1, 2, 3], y: [0.9, 0.4, 0.2, 0.1], dashed: true },
  ]

  it('emits a standalone, well-formed document with axes, title, labels and legend', () => {
    const svg = chart(two, { title: 'Loss', xLabel: 'iteration', yLabel: 'test loss', width: 500, height: 300 })
    expectWellFormed(svg)
    expect(svg).toContain('viewBox="0 0 500 300"')
    expect(svg).toContain('fill="#ffffff"')
    for (const s of ['>Loss</text>', '>iteration</text>', '>test loss</text>', '>L2</text>', '>proposed</text>']) {
      expect(svg).toContain(s)
    }
    expect(count(svg, '<polyline')).toBe(2)
    expect(svg).toContain(`stroke="${PALETTE[0]}"`)
    expect(svg).toContain(`stroke="${PALETTE[1]}" stroke-dasharray`)
    expect(svg).not.toContain('no data')
  })

  it('rounds coordinates to at most one decimal', () => {
    const svg = chart([{ label: 'a', x: [0, 1 / 3, 2 / 3], y: [Math.PI, Math.E, Math.SQRT2] }])
    const nums = [...svg.matchAll(/points="([^"]+)"/g)].flatMap((m) => m[1].split(/[ ,]/))
    expect(nums.length).toBe(6)
    for (const n of nums) expect(n).toMatch(/^-?\d+(\.\d)?$/)
  })

  it('log x axis labels decades as 10 with a superscript exponent', () => {
    const svg = chart([{ label: 'a', x: [0.001, 0.01, 0.1, 1], y: [1, 2, 3, 4] }], { xScale: 'log' })
    expectWellFormed(svg)
    expect(svg).toContain('10<tspan dy="-0.5em" font-size="9">\u22123</tspan>')
    expect(svg).toContain('10<tspan dy="-0.5em" font-size="9">0</tspan>')
  })

  it('escapes &, <, >, quotes in every piece of text', () => {
    const nasty = `a & b <c> "d" 'e'`
    const svg = lineChart({ title: nasty, xLabel: nasty, yLabel: nasty, series: [{ label: nasty, x: [0, 1], y: [0, 1] }] })
    expectWellFormed(svg)
    expect(count(svg, 'a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;')).toBe(5) // <title>, title, 2 axes, legend
    expect(svg).not.toContain('<c>')
  })

  it('a NaN or Infinity in a series splits the line into separate polylines', () => {
    expect(count(chart([{ label: 'a', x: [0, 1, 2, 3, 4], y: [1, 2, NaN, 3, 4] }]), '<polyline')).toBe(2)
    expect(count(chart([{ label: 'a', x: [0, 1, 2, 3, 4], y: [1, 2, Infinity, 3, 4] }]), '<polyline')).toBe(2)
    expect(count(chart([{ label: 'a', x: [0, 1, NaN, 3, 4], y: [1, 2, 3, 3, 4] }]), '<polyline')).toBe(2)
    const svg = chart([{ label: 'a', x: [0, 1, 2, 3, 4, 5], y: [1, 2, NaN, 3, NaN, 4] }])
    expectWellFormed(svg)
    expect(count(svg, '<polyline')).toBe(1) // [0,1] is a line; [3] and [5] are lone points
    expect(count(svg, '<circle')).toBe(2)
  })

  it('points <= 0 are dropped on a log axis, leaving a gap', () => {
    const svg = chart([{ label: 'a', x: [1, 2, 3, 4, 5], y: [1, 2, 0, 3, 4] }], { yScale: 'log' })
    expectWellFormed(svg)
    expect(count(svg, '<polyline')).toBe(2)
    const neg = chart([{ label: 'a', x: [-1, 1, 2, 3], y: [5, 1, 2, 3] }], { xScale: 'log' })
    expect(count(neg, '<polyline')).toBe(1)
  })

  it('draws bands as closed paths in the series colour, under the lines', () => {
    const svg = chart(two)
    expect(count(svg, '<path d="M')).toBe(1)
    expect(svg).toMatch(new RegExp(`<path d="M[^"]+Z" fill="${PALETTE[0]}"/>`))
    expect(svg).toContain('fill-opacity="0.2"')
    expect(svg.indexOf('<path')).toBeLessThan(svg.indexOf('<polyline'))
    const gap = chart([{ label: 'a', x: [0, 1, 2, 3, 4], y: [1, 1, 1, 1, 1], band: { low: [0, 0, NaN, 0, 0], high: [2, 2, 2, 2, 2] } }])
    expect(count(gap, '<path d="M')).toBe(2)
  })

  it('on a log y axis a band edge <= 0 is clamped to the axis, not cut', () => {
    const s: Series = { label: 'a', x: [0, 1, 2], y: [0.1, 0.05, 0.1], band: { low: [0.05, -0.01, 0.05], high: [0.2, 0.1, 0.2] } }
    const svg = chart([s], { yScale: 'log' })
    expectWellFormed(svg)
    expect(count(svg, '<path d="M')).toBe(1)
    expect(count(svg, '<polyline')).toBe(1)
  })

  it('is deterministic: the same input gives the same string', () => {
    const copy = JSON.parse(JSON.stringify(two)) as Series[]
    expect(chart(two)).toBe(chart(two))
    expect(chart(two)).toBe(chart(copy))
  })

  it('degenerate inputs: single point, constant y, no series, no drawable points', () => {
    const single = chart([{ label: 'a', x: [3], y: [7] }])
    expectWellFormed(single)
    expect(count(single, '<circle')).toBe(1)
    expect(count(single, '<polyline')).toBe(0)

    const flat = chart([{ label: 'a', x: [0, 1, 2], y: [0.5, 0.5, 0.5] }])
    expectWellFormed(flat)
    expect(count(flat, '<polyline')).toBe(1)
    expect(count(flat, 'text-anchor="end"')).toBeGreaterThanOrEqual(2) // at least two y tick labels

    for (const svg of [
      chart([]),
      chart([{ label: 'a', x: [], y: [] }]),
      chart([{ label: 'a', x: [0, 1], y: [NaN, NaN] }]),
      chart([{ label: 'a', x: [1, 2], y: [0, -1] }], { yScale: 'log' }),
    ]) {
      expectWellFormed(svg)
      expect(svg).toContain('>no data</text>')
      expect(svg).toContain('fill="none"/>') // the axes frame
      expect(count(svg, '<polyline')).toBe(0)
    }
  })

  it('rejects mismatched lengths with a message naming the series and lengths', () => {
    expect(() => chart([{ label: 'bad', x: [0, 1], y: [1] }])).toThrow(/lineChart: series 0 \("bad"\) has x.length 2 but y.length 1/)
    expect(() => chart([{ label: 'b', x: [0, 1], y: [1, 2], band: { low: [0], high: [1, 2] } }])).toThrow(/band low\/high lengths 1\/2/)
    expect(() => chart([], { width: 0 })).toThrow(/width and height/)
  })

  it('repeats colours past the palette with dashes so lines stay distinct', () => {
    const many = Array.from({ length: PALETTE.length + 1 }, (_, i) => ({ label: `s${i}`, x: [0, 1], y: [i, i + 1] }))
    const svg = chart(many)
    expectWellFormed(svg)
    expect(count(svg, '<polyline')).toBe(PALETTE.length + 1)
    expect(svg).toMatch(new RegExp(`<polyline points="[^"]+" stroke="${PALETTE[0]}" stroke-dasharray="6 4"/>`))
  })
})

describe('gridOfCharts', () => {
  it('nests charts in a grid sized by columns and rows', () => {
    const a = chart([{ label: 'a', x: [0, 1], y: [0, 1] }], { width: 300, height: 200 })
    const grid = gridOfCharts([a, a, a], 2)
    expectWellFormed(grid)
    expect(grid).toContain('viewBox="0 0 600 400"')
    expect(count(grid, '<svg')).toBe(4)
    expect(grid).toContain('<svg x="300" y="0" xmlns=')
    expect(grid).toContain('<svg x="0" y="200" xmlns=')
    expect(gridOfCharts([a], 2)).toContain('viewBox="0 0 300 200"')
  })

  it('rejects bad columns and non-svg input', () => {
    const a = chart([])
    expect(() => gridOfCharts([a], 0)).toThrow(/gridOfCharts: expected a positive integer/)
    expect(() => gridOfCharts([], 2)).toThrow(/at least one chart/)
    expect(() => gridOfCharts(['<div/>'], 1)).toThrow(/chart 0 is not an <svg>/)
  })
})

describe('seriesFromRuns', () => {
  const x = [0, 1, 2]
  const runs = [
    [1, 2, 3],
    [3, 2, 5],
  ]

  it('mean with a min..max band by default, or mean +- std', () => {
    const s = seriesFromRuns('a', x, runs)
    expect(s.y).toEqual([2, 2, 4])
    expect(s.band).toEqual({ low: [1, 2, 3], high: [3, 2, 5] })
    const d = seriesFromRuns('a', x, runs, { band: 'std', dashed: true })
    expect(d.band).toEqual({ low: [1, 2, 3], high: [3, 2, 5] }) // two runs: population std = half the gap
    expect(d.dashed).toBe(true)
  })

  it('a non-finite value in any run leaves a gap at that point', () => {
    const s = seriesFromRuns('a', x, [
      [1, NaN, 3],
      [3, 2, 5],
    ])
    expect(s.y[1]).toBeNaN()
    expect(count(lineChart({ title: '', xLabel: 'x', yLabel: 'y', series: [s] }), '<circle')).toBe(2)
  })

  it('rejects no runs and length mismatches', () => {
    expect(() => seriesFromRuns('a', x, [])).toThrow(/no runs/)
    expect(() => seriesFromRuns('a', x, [[1, 2]])).toThrow(/run 0 has length 2, expected x.length 3/)
  })
})
