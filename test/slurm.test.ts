// A sweep run by a real Slurm (a one-node cluster started by scripts/slurm-local.sh from Debian's
// slurm-wlm and munge) gives the same runs and report, bit for bit (timings aside), as a local
// sweep of the same grid: as a 2-task array job with its dependent report job, and after one
// task is cancelled mid-run (scancel) and requeued. Skipped, with the reason, where the packages
// are missing or the suite does not run as root (slurmd runs jobs as their submitter).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/experiments/cli.js'
import { writeReport } from '../src/experiments/report.js'
import { runSweep, type GridFile } from '../src/experiments/sweep.js'
import { metricsWithoutTime } from './experiments-fixtures.js'

const script = path.resolve('scripts/slurm-local.sh')
const why = (() => {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not root (slurmd runs jobs as their submitter; the local cluster needs root)'
  const r = spawnSync('bash', [script, 'check'], { encoding: 'utf8' })
  return r.status === 0 ? null : r.stderr.trim() || 'slurm-wlm or munge missing'
})()
if (why) console.warn(`slurm.test.ts skipped: ${why}`)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-slurm-test-'))
const clusterDir = path.join(tmp, 'cluster')
const env = { ...process.env, SLURM_CONF: path.join(clusterDir, 'slurm.conf') }
const slurm = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { env, encoding: 'utf8' })
const quiet = { out: () => {}, err: { write: () => true } }
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// every task of these jobs has left the queue (or fail after `seconds`)
async function waitForJobs(ids: string[], seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000
  while (slurm('squeue', '-h', '-j', ids.join(',')).trim() !== '') {
    if (Date.now() > end) throw new Error(`Slurm jobs ${ids.join(', ')} still queued after ${seconds} s:\n${slurm('squeue', '-j', ids.join(','))}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

// each cell's metrics without wall-clock seconds
const cellsOf = (root: string): Record<string, string> =>
  Object.fromEntries(fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'metrics.jsonl'))).sort().map((d) => [d, metricsWithoutTime(path.join(root, d))]))

// the report without what names the directories and the commands that made the runs
const reportBody = (dir: string): string =>
  fs.readFileSync(path.join(dir, 'report.md'), 'utf8').replace(/, from [^\n]*?\. Values/, ', from DIRS. Values').replace(/## Commands that produced these runs[\s\S]*$/, '')

function writeGrid(name: string, grid: GridFile): string {
  const file = path.join(tmp, `${name}.json`)
  fs.writeFileSync(file, JSON.stringify(grid))
  return file
}

describe.skipIf(why !== null)('Slurm array jobs on a local one-node cluster', () => {
  beforeAll(() => {
    execFileSync('bash', [script, 'start', clusterDir], { encoding: 'utf8' })
    process.env['SLURM_CONF'] = env.SLURM_CONF
  }, 60_000)
  afterAll(() => {
    delete process.env['SLURM_CONF']
    spawnSync('bash', [script, 'stop', clusterDir])
  })

  it('a 4-cell grid as a 2-task array and its report job: the same runs and report as a local sweep', async () => {
    const grid: GridFile = {
      base: { dataset: 'mnist', model: 'mlp', epochs: 1, trainSubset: 320, testSubset: 100, evalEvery: 5, logEvery: 2 },
      grids: [{ reg: ['none', 'dynamic-prior'], seed: [0, 1] }],
    }
    const file = writeGrid('tiny', grid)
    const local = path.join(tmp, 'local')
    await runSweep(grid, local)
    writeReport([local], { out: local })
    const viaSlurm = path.join(tmp, 'slurm')
    const lines: string[] = []
    expect(await main(['sweep', '--grid', file, '--out', viaSlurm, '--slurm', '--tasks', '2', '--submit'], { out: (s) => lines.push(s), err: quiet.err })).toBe(0)
    const m = /array job (\d+) \(2 tasks\), report job (\d+)/.exec(lines.join(''))
    expect(m, lines.join('')).not.toBeNull()
    await waitForJobs([m![1]!, m![2]!], 240)
    expect(cellsOf(viaSlurm)).toEqual(cellsOf(local))
    expect(Object.keys(cellsOf(local))).toHaveLength(4)
    for (const cell of Object.keys(cellsOf(local))) expect(fs.existsSync(path.join(viaSlurm, cell, 'done.json'))).toBe(true)
    expect(reportBody(viaSlurm)).toBe(reportBody(local))
    for (const f of ['loss.svg', 'accuracy.svg', 'magnitude.svg', 'density.svg']) {
      expect(fs.readFileSync(path.join(viaSlurm, f), 'utf8')).toBe(fs.readFileSync(path.join(local, f), 'utf8'))
    }
  }, 300_000)

  it('a task cancelled mid-run (scancel) saves a checkpoint; requeued, it resumes to the same runs and reports the whole grid', async () => {
    const grid: GridFile = {
      base: { dataset: 'mnist', model: 'cnn2', epochs: 2, trainSubset: 1600, testSubset: 100, evalEvery: 25, logEvery: 2 },
      grids: [{ reg: ['dynamic-prior'], seed: [0, 1] }],
    }
    const file = writeGrid('cancel', grid)
    const viaSlurm = path.join(tmp, 'cancel-slurm')
    const lines: string[] = []
    expect(await main(['sweep', '--grid', file, '--out', viaSlurm, '--slurm', '--tasks', '2', '--submit'], { out: (s) => lines.push(s), err: quiet.err })).toBe(0)
    const [, array, report] = /array job (\d+) \(2 tasks\), report job (\d+)/.exec(lines.join(''))!
    // task 1 runs the cell seed=1: cancel it once it has written its first rows
    const task = `${array}_1`
    const metrics = path.join(viaSlurm, 'reg=dynamic-prior,seed=1', 'metrics.jsonl')
    const end = Date.now() + 120_000
    while (!(fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > 2)) {
      if (Date.now() > end) throw new Error(`no rows in ${metrics} after 120 s`)
      await new Promise((r) => setTimeout(r, 100))
    }
    slurm('scancel', task)
    await waitForJobs([task], 60)
    expect(fs.existsSync(path.join(viaSlurm, 'reg=dynamic-prior,seed=1', 'checkpoint', 'state.json'))).toBe(true)
    expect(fs.existsSync(path.join(viaSlurm, 'reg=dynamic-prior,seed=1', 'done.json'))).toBe(false)
    // requeue it, without the requeue delay
    slurm('scontrol', 'requeue', task)
    slurm('scontrol', 'update', `jobid=${task}`, 'StartTime=now')
    await waitForJobs([array!, report!], 240)
    const local = path.join(tmp, 'cancel-local')
    await runSweep(grid, local)
    writeReport([local], { out: local })
    expect(cellsOf(viaSlurm)).toEqual(cellsOf(local))
    // the requeued task finished the grid's last cell, so it wrote the report of the whole grid
    expect(reportBody(viaSlurm)).toBe(reportBody(local))
    const record = JSON.parse(fs.readFileSync(path.join(viaSlurm, 'reg=dynamic-prior,seed=1', 'config.json'), 'utf8'))
    expect(record.resumes?.length).toBe(1)
  }, 420_000)
})

describe('priorgrad sweep --slurm: bad input', () => {
  const grid = { base: { dataset: 'mnist', model: 'mlp', trainSubset: 64 }, grids: [{ reg: ['none', 'l2'], seed: [0] }] }
  it('a grid that fails validation: the local sweep\'s error, and no script written', async () => {
    const file = writeGrid('bad', { base: { model: 'resnet999' }, grids: [{ seed: [0] }] })
    const out = path.join(tmp, 'bad-out')
    const errs: string[] = []
    const local = await main(['sweep', '--grid', file, '--out', out], { out: () => {}, err: { write: (s: string) => errs.push(s) } })
    const viaSlurm = await main(['sweep', '--grid', file, '--out', out, '--slurm'], { out: () => {}, err: { write: (s: string) => errs.push(s) } })
    expect([local, viaSlurm]).toEqual([2, 2])
    expect(errs[1]).toBe(errs[0])
    expect(fs.existsSync(out)).toBe(false)
  })

  it('--tasks past the number of cells, --shard with --slurm, Slurm flags without --slurm: named errors', async () => {
    const file = writeGrid('ok', grid)
    const errs: string[] = []
    const io = { out: () => {}, err: { write: (s: string) => errs.push(s) } }
    expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 'o1'), '--slurm', '--tasks', '3'], io)).toBe(2)
    expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 'o2'), '--slurm', '--shard', '0/2'], io)).toBe(2)
    expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 'o3'), '--tasks', '2'], io)).toBe(2)
    expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 'o4'), '--slurm', '--time', 'soon'], io)).toBe(2)
    expect(errs).toEqual([
      "priorgrad sweep: --tasks: expected an integer from 1 to the grid's 2 cells, got 3\n",
      'priorgrad sweep: --shard does not apply with --slurm: each array task takes its own shard\n',
      'priorgrad sweep: --tasks only applies with --slurm\n',
      "priorgrad sweep: --time: expected a Slurm time limit such as 30:00, 2:00:00 or 1-12:00:00, got 'soon'\n",
    ])
    for (const o of ['o1', 'o2', 'o3', 'o4']) expect(fs.existsSync(path.join(tmp, o))).toBe(false)
  })

  it('--submit without sbatch names it; a shard whose n is not the array size is refused before any work', async () => {
    const file = writeGrid('ok2', grid)
    const errs: string[] = []
    const io = { out: () => {}, err: { write: (s: string) => errs.push(s) } }
    const pathBefore = process.env['PATH']
    process.env['PATH'] = '/nonexistent'
    try {
      expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 's1'), '--slurm', '--submit'], io)).toBe(1)
    } finally {
      process.env['PATH'] = pathBefore
    }
    expect(errs[0]).toMatch(/^priorgrad sweep: sbatch not found on this machine's PATH .*: the scripts are in .*s1\/slurm; submit them on a Slurm login node with: bash .*submit\.sh\n$/)
    process.env['SLURM_ARRAY_TASK_COUNT'] = '3'
    try {
      expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 's2'), '--shard', '1/2'], io)).toBe(2)
    } finally {
      delete process.env['SLURM_ARRAY_TASK_COUNT']
    }
    expect(errs[1]).toBe('priorgrad sweep: --shard 1/2: this Slurm array has 3 tasks (SLURM_ARRAY_TASK_COUNT), so n must be 3\n')
    expect(fs.existsSync(path.join(tmp, 's2'))).toBe(false)
    expect(await main(['sweep', '--grid', file, '--out', path.join(tmp, 's3'), '--shard', '2/2'], io)).toBe(2)
    expect(errs[2]).toBe("priorgrad sweep: --shard: expected i/n with 0 <= i < n (e.g. 0/4), got '2/2'\n")
  })
})
