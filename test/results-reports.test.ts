// The committed results are auditable: every results/**/report.md has the runs it counts committed
// beside it (config.json, metrics.jsonl, metrics.csv, done.json; no checkpoints), regenerates byte
// for byte from them (report.md and its SVGs), and a committed dynamic-prior run's first rows
// rerun bit for bit at HEAD (timings aside).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { findRuns, writeReport } from '../src/experiments/report.js'
import { train } from '../src/experiments/train.js'
import type { ExperimentConfig } from '../src/experiments/config.js'
import { metricsWithoutTime } from './experiments-fixtures.js'

const RUN_FILES = ['config.json', 'metrics.jsonl', 'metrics.csv', 'done.json']
const FIGURES = ['loss.svg', 'accuracy.svg', 'magnitude.svg', 'density.svg', 'figure.svg']

function reportsUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'runs' ? [] : reportsUnder(p)
    return e.name === 'report.md' ? [p] : []
  })
}

// what the report says it was made from: "N runs in M configurations, from DIR, DIR. Values ..."
function sources(report: string): { runs: number; dirs: string[] } {
  const m = /^(\d+) runs in \d+ configurations, from (.+?)\. Values/m.exec(fs.readFileSync(report, 'utf8'))
  if (!m) throw new Error(`${report}: no "N runs in M configurations, from ..." line`)
  return { runs: Number(m[1]), dirs: m[2]!.split(', ') }
}

const tracked = fs.existsSync('.git') ? new Set(execFileSync('git', ['ls-files', 'results'], { encoding: 'utf8' }).split('\n')) : null
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-results-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const reports = reportsUnder('results')

describe('results/: every report has its runs committed and regenerates byte for byte', () => {
  it('finds the reports', () => {
    expect(reports).toEqual(expect.arrayContaining(['results/mnist/report.md', 'results/mnist/lambda/report.md']))
  })

  for (const report of reports) {
    it(report, () => {
      const { runs: count, dirs } = sources(report)
      const runs = findRuns(dirs)
      expect(runs.length, `${report} counts ${count} runs; ${dirs.join(', ')} hold ${runs.length}`).toBe(count)
      for (const run of runs) {
        for (const f of RUN_FILES) {
          const file = path.join(run.dir, f)
          expect(fs.existsSync(file), `${file} is missing`).toBe(true)
          if (tracked) expect(tracked.has(file), `${file} is not committed`).toBe(true)
        }
        if (tracked) expect([...tracked].filter((f) => f.startsWith(path.join(run.dir, 'checkpoint')))).toEqual([])
      }
      const out = path.join(tmp, report.replace(/[/\\]/g, '_'))
      writeReport(dirs, { out })
      const dir = path.dirname(report)
      for (const f of ['report.md', ...FIGURES]) {
        expect(fs.readFileSync(path.join(out, f), 'utf8'), `${path.join(dir, f)} differs from what its runs give`).toBe(fs.readFileSync(path.join(dir, f), 'utf8'))
      }
    })
  }
})

describe('results/: the runs reproduce at HEAD', () => {
  it("a committed dynamic-prior run's first 40 iterations rerun bit for bit", async () => {
    const committed = 'results/mnist/runs/reg=dynamic-prior,sp=0.01,seed=0'
    const { config } = JSON.parse(fs.readFileSync(path.join(committed, 'config.json'), 'utf8')) as { config: ExperimentConfig }
    const out = path.join(tmp, 'rerun')
    const controller = new AbortController()
    await train({ ...config, out }, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'row' && e.row.kind === 'iter' && e.row.iteration === 40) controller.abort()
      },
    })
    const rows = metricsWithoutTime(out).trimEnd().split('\n')
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(rows).toEqual(metricsWithoutTime(committed).split('\n').slice(0, rows.length))
  }, 120_000)
})

// results/**/epochs.md: the per-epoch tables of scripts/epoch-tables.ts, regenerated from the runs they name.
function epochTablesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return e.name === 'runs' ? [] : epochTablesUnder(p)
    return e.name === 'epochs.md' ? [p] : []
  })
}

describe('results/: every epochs.md regenerates byte for byte from the runs it names', () => {
  for (const file of epochTablesUnder('results')) {
    it(file, () => {
      const text = fs.readFileSync(file, 'utf8')
      const m = /^# By epoch: \d+ runs from (\S+)$/m.exec(text)
      expect(m, `${file}: no "# By epoch: N runs from DIR" line`).not.toBeNull()
      const again = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/epoch-tables.ts', m![1]!], { encoding: 'utf8' })
      expect(again, `${file} differs from what its runs give`).toBe(text)
    })
  }
})
