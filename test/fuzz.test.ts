// The short fuzz run: about 1,000 seeded cases for every target in fuzz/targets (the full run is
// `npm run fuzz`, 10,000 per target). A failure prints the table and the first failing cases;
// rerun one alone with `npm run fuzz -- --target T --from I --cases 1`.
import { describe, expect, it } from 'vitest'
import { FAILURES, formatReport, listTargets, runFuzz } from '../fuzz/harness.js'

const CASES = 1000

describe('fuzz (short run)', () => {
  const targets = listTargets()

  it('finds the targets of every reader', () => {
    expect(targets).toEqual(expect.arrayContaining(['cifar', 'idx', 'safetensors']))
  })

  it.each(targets)(`%s: ${CASES} cases, none a silent acceptance, other exception, hang or memory blow-up`, async (name) => {
    const report = await runFuzz({ cases: CASES, seed: 0, targets: [name] })
    const counts = Object.values(report.counts)[0]!
    const failing = Object.fromEntries(FAILURES.map((o) => [o, counts[o]]))
    expect(failing, formatReport(report)).toEqual({ 'silent-acceptance': 0, 'other-exception': 0, hang: 0, memory: 0 })
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(CASES)
  })
})
