// The short fuzz run: about 1,000 seeded cases for every target in fuzz/targets (the full run is
// `npm run fuzz`, 10,000 per target). A failure prints the table and the first failing cases;
// rerun one alone with `npm run fuzz -- --target T --from I --cases 1`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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

describe('fuzz harness: each outcome is recognised', () => {
  // A target whose case i does one of the things a reader must not do (or does it right).
  const dir = mkdtempSync(join(tmpdir(), 'priorgrad-fuzz-self-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
  writeFileSync(
    join(dir, 'bad.ts'),
    `class NamedError extends Error {}
const kinds = ['named', 'valid', 'accepts malformed', 'type error', 'hang', 'memory', 'late rejection', 'async named']
export default {
  name: 'bad',
  setup() {},
  makeCase(rng: { int(n: number): number }, _dir: string, index: number) {
    const kind = kinds[index % kinds.length]
    return {
      what: kind + ' ' + rng.int(1000),
      malformed: kind === 'accepts malformed',
      bytes: 100,
      async run() {
        if (kind === 'named' || kind === 'async named') throw new NamedError('bad: refused')
        if (kind === 'type error') return (null as unknown as { x: number }).x
        if (kind === 'hang') for (;;);
        if (kind === 'memory') return new Uint8Array(256 * 1024 * 1024).fill(1).length
        if (kind === 'late rejection') void Promise.reject(new RangeError('later'))
        return 1
      },
    }
  },
  isNamedError: (e: unknown) => e instanceof NamedError,
}
`,
  )

  it('named-error, valid, silent-acceptance, other-exception, hang and memory, and case i reproduces alone', async () => {
    const report = await runFuzz({ cases: 16, seed: 3, targetsDir: dir, timeoutMs: 500, memoryBaseBytes: 32 * 1024 * 1024 })
    expect(report.counts.bad).toEqual({ 'named-error': 4, valid: 2, 'silent-acceptance': 2, 'other-exception': 4, hang: 2, memory: 2 })
    const byIndex = new Map(report.failures.map((f) => [f.index, f]))
    expect(byIndex.get(3)?.detail).toMatch(/^TypeError: Cannot read properties of null/)
    expect(byIndex.get(4)?.detail).toBe('still running after 500 ms')
    expect(byIndex.get(5)?.detail).toMatch(/^resident memory grew by \d+ MB, limit 32 MB/)
    expect(byIndex.get(6)?.detail).toBe('after the case: RangeError: later')
    // The same seed gives the same cases; one case reruns alone with the same description.
    const again = await runFuzz({ cases: 1, from: 10, seed: 3, targetsDir: dir, timeoutMs: 500 })
    expect(again.failures[0]).toEqual(byIndex.get(10))
  })
})
