// The bounds experiment of Sec. 2.3 / Fig. 2: rows, the Eq. 7 check, and the figure.
import { describe, expect, it } from 'vitest'
import { Generator } from '../src/index.js'
import { boundsChart, boundsExperiment, formatBoundsTable, logSpace } from '../src/regularizers/index.js'

describe('boundsExperiment', () => {
  const densities = logSpace(-3, 0, 7)
  const rows = boundsExperiment({ N: 2000, densities, S: 10, sp: 0.01, seeds: 6, generator: new Generator(1) })

  it('gives one row per density with L1 >= L2 >= 0 and the nonzero count it used', () => {
    expect(rows.map((r) => r.density)).toEqual(densities)
    for (const r of rows) {
      expect(r.nonzeros).toBe(Math.max(1, Math.round(r.density * 2000)))
      expect(r.l1).toBeGreaterThanOrEqual(r.l2)
      expect(r.l2).toBeGreaterThan(0)
      expect(r.proposed).toBeGreaterThanOrEqual(0)
    }
    // L1 grows about linearly with the nonzeros, L2 about as their square root.
    const [first, last] = [rows[0]!, rows[rows.length - 1]!]
    expect(last.l1 / first.l1).toBeGreaterThan(200)
    expect(last.l2 / first.l2).toBeLessThan(100)
  })

  it("computes Eq. 7's right side: bound = lambda_eff * S * sqrt(k(1-T)/N) * ||w||, printed = bound / sqrt(S)", () => {
    for (const r of rows) {
      expect(r.boundPrinted).toBeCloseTo(r.bound / Math.sqrt(10), 12)
      expect(r.holds).toBe(r.proposed <= r.bound)
      expect(r.holdsPrinted).toBe(r.proposed <= r.boundPrinted)
    }
    // With normalize 'none' and lambda = 1 the bound is exactly S * sqrt(k/N) * mean ||w||.
    const plain = boundsExperiment({ N: 2000, densities: [0.5], normalize: 'none', seeds: 3, generator: new Generator(2) })[0]!
    expect(plain.bound).toBeCloseTo(10 * Math.sqrt(20 / 2000) * plain.l2, 10)
    // Jensen's gap is small for dense vectors, so the proposed penalty sits just under the bound there.
    expect(plain.proposed).toBeLessThanOrEqual(plain.bound)
    expect(plain.proposed).toBeGreaterThan(0.9 * plain.bound)
  })

  it('Eq. 7 with lambda\' = lambda_eff*sqrt(S) holds at every density; as printed it fails for dense vectors', () => {
    // The bound is on an expectation: a mean over a few draws may exceed it by sampling noise.
    expect(rows.map((r) => r.verdict)).not.toContain('violated')
    expect(rows.filter((r) => r.verdict === 'holds').length).toBeGreaterThanOrEqual(rows.length - 2)
    expect(rows[rows.length - 1]!.verdictPrinted).toBe('violated')
    expect(rows[0]!.verdictPrinted).toBe('holds')
  })

  it('a threshold T thins the masks: the proposed penalty drops by about sqrt(1-T)', () => {
    const at = (T: number) => boundsExperiment({ N: 2000, densities: [1], sp: 0.1, T, seeds: 4, normalize: 'none', generator: new Generator(3) })[0]!
    const ratio = at(0.75).proposed / at(0).proposed
    expect(ratio).toBeGreaterThan(0.4)
    expect(ratio).toBeLessThan(0.6)
  })

  it('is deterministic by generator seed and rejects bad options', () => {
    const a = boundsExperiment({ N: 500, densities: [0.1], seeds: 2, generator: new Generator(4) })
    const b = boundsExperiment({ N: 500, densities: [0.1], seeds: 2, generator: new Generator(4) })
    expect(a).toEqual(b)
    expect(() => boundsExperiment({ sp: 0 })).toThrow(/option sp must be in \(0, 1\]/)
    expect(() => boundsExperiment({ densities: [0] })).toThrow(/densities must each be in \(0, 1\]/)
    expect(() => boundsExperiment({ T: 1 })).toThrow(/option T must be in \[0, 1\)/)
  })

  it('renders a table and an SVG with the four curves on log axes', () => {
    const table = formatBoundsTable(rows)
    expect(table.split('\n')).toHaveLength(rows.length + 1)
    const svg = boundsChart(rows, { N: 2000, S: 10, sp: 0.01, seeds: 6 })
    expect(svg.startsWith('<svg')).toBe(true)
    for (const label of ['L1 = sum |w|', 'L2 = ||w||', 'proposed (Eq. 6)', 'Eq. 7 bound']) expect(svg).toContain(label)
    expect(svg).toContain('10<tspan') // log-axis tick labels like 10^-3
  })
})
