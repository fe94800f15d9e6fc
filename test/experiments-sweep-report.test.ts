// Sweeps and reports on tiny mlp runs: shards run disjoint cells, finished cells are skipped on a
// rerun, a started cell resumes from its checkpoint, and `report` merges the runs into report.md
// (a Table-2-shaped table with mean ± std over seeds) and the four charts plus figure.svg.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/experiments/cli.js'
import { runSweep, type GridFile } from '../src/experiments/sweep.js'
import { equivalentCommand } from '../src/experiments/report.js'
import { train } from '../src/experiments/train.js'
import { expandGrid } from '../src/experiments/sweep.js'
import { resolveConfig } from '../src/experiments/config.js'
import { metricsWithoutTime, tinyMnist } from './experiments-fixtures.js'

let data: { dir: string; cleanup: () => void }
let root: string
let grid: GridFile
let gridFile: string

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => (out += s), err: { write: (s: string) => (err += s), isTTY: false } })
  return { code, out, err }
}

beforeAll(() => {
  data = tinyMnist()
  root = path.join(data.dir, 'sweep')
  grid = {
    base: { model: 'mlp', dataDir: data.dir, testSubset: 32, evalEvery: 2, logEvery: 1, epochs: 1, backend: 'reference' },
    axes: { reg: ['none', 'l2'], seed: [0, 1] },
  }
  gridFile = path.join(data.dir, 'tiny.json')
  fs.writeFileSync(gridFile, JSON.stringify(grid))
})
afterAll(() => data.cleanup())

describe('sweep', () => {
  it('a started cell resumes, shards run disjoint cells, and a rerun skips finished cells', async () => {
    // Start cell reg=none,seed=1 and stop it after 2 iterations, as a killed job would leave it.
    const cell = expandGrid(grid, root).find((c) => c.name === 'reg=none,seed=1')!
    const controller = new AbortController()
    await train(cell.config, { signal: controller.signal, onEvent: (e) => e.type === 'step' && e.iteration === 2 && controller.abort() })
    expect(fs.existsSync(path.join(cell.config.out!, 'done.json'))).toBe(false)

    const s0 = await cli('sweep', '--grid', gridFile, '--out', root, '--shard', '0/2', '--progress', 'none')
    expect(s0.code).toBe(0)
    expect(s0.out).toMatch(/2 ran, 0 skipped, 0 failed/)
    const actions: string[] = []
    const s1 = await runSweep(grid, root, { shard: { index: 1, count: 2 }, onCell: (c, action) => actions.push(`${c.name}:${action}`) })
    expect(actions).toEqual(['reg=none,seed=1:resume', 'reg=l2,seed=1:train'])
    expect(s1).toMatchObject({ ran: ['reg=none,seed=1', 'reg=l2,seed=1'], failed: [], stopped: false })
    const dirs = fs.readdirSync(root).filter((f) => fs.existsSync(path.join(root, f, 'done.json'))).sort()
    expect(dirs).toEqual(['reg=l2,seed=0', 'reg=l2,seed=1', 'reg=none,seed=0', 'reg=none,seed=1'])

    const again = await cli('sweep', '--grid', gridFile, '--out', root, '--progress', 'none')
    expect(again.out).toMatch(/0 ran, 4 skipped, 0 failed/)
    const list = await cli('sweep', '--grid', gridFile, '--out', root, '--shard', '1/2', '--list')
    expect(list.out.trim().split('\n')).toEqual([`done    ${path.join(root, 'reg=none,seed=1')}`, `done    ${path.join(root, 'reg=l2,seed=1')}`])

    // The resumed cell equals a straight run of the same config.
    const straight = path.join(data.dir, 'straight-none-1')
    await train({ ...cell.config, out: straight })
    expect(metricsWithoutTime(cell.config.out!)).toBe(metricsWithoutTime(straight))
    fs.rmSync(straight, { recursive: true })
  })
})

describe('report', () => {
  it('merges the sweep into report.md with the table, four charts and the figure', async () => {
    const outDir = path.join(data.dir, 'report')
    const r = await cli('report', root, '--out', outDir)
    expect(r.code).toBe(0)
    expect(r.out).toContain(`Report of 4 runs (2 configurations): ${path.join(outDir, 'report.md')}`)
    const md = fs.readFileSync(path.join(outDir, 'report.md'), 'utf8')
    expect(md).toContain('| Dataset | Network | Loss | Regularizer | Wt. density (\\|w\\| > 1e-3) | Test accuracy | Test loss | Epochs | Seeds | Paper: density, accuracy | Accuracy − paper |')
    const rows = md.split('\n').filter((l) => l.startsWith('| mnist'))
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatch(/^\| mnist \| mlp \| CE \| none \| [\d.e+-]+ ± [\d.e+-]+ \| 0\.\d{4} ± 0\.\d{4} \| [\d.]+ ± [\d.]+ \| 1 \| 2 \| - \| - \|$/)
    expect(rows[1]).toMatch(/^\| mnist \| mlp \| CE \| L2 λ=0\.0005 \|/)
    for (const f of ['loss.svg', 'accuracy.svg', 'magnitude.svg', 'density.svg', 'figure.svg']) {
      const svg = fs.readFileSync(path.join(outDir, f), 'utf8')
      expect(svg, f).toMatch(/^<svg[\s\S]*<\/svg>\s*$/)
      if (f !== 'figure.svg') expect(svg, f).toContain('L2 λ=0.0005')
    }
    expect(md).toContain('![loss, accuracy, weight magnitude, weight density](figure.svg)')
    expect(md).toContain(`priorgrad sweep --grid ${gridFile} --out ${root} --shard 0/2 --progress none`)
    expect(md).toContain(`priorgrad train --data-dir ${data.dir} --model mlp --test-subset 32 --eval-every 2 --log-every 1`)
  })

  it("quotes the paper's Table 2 next to matching configurations, with the difference in seed sds", async () => {
    const fake = path.join(data.dir, 'fake')
    const row = (acc: number) => ({ kind: 'epoch', epoch: 1, iteration: 1875, trainLoss: 0.1, penalty: 0.01, testLoss: 0.05, testAccuracy: acc, testImages: 10000, weightMagnitude: 0.01, l2Norm: 20, 'density_1e-3': 0.5, 'density_1e-2': 0.2, 'density_1e-1': 0.01, seconds: 1 })
    for (const [seed, acc] of [[0, 0.98], [1, 0.99]] as const) {
      const dir = path.join(fake, `seed=${seed}`)
      fs.mkdirSync(dir, { recursive: true })
      const config = resolveConfig({ reg: 'l2', seed, out: dir })
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ config, seed, version: '0', backend: { name: 'x' }, startedAt: '', command: ['priorgrad', 'train', '--reg', 'l2'], resumes: [] }))
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(row(acc)) + '\n')
    }
    await cli('report', fake)
    const md = fs.readFileSync(path.join(fake, 'report.md'), 'utf8')
    // mean 0.985 - 0.99 = -0.005; sample sd 0.00707
    expect(md).toContain('| mnist | cnn2 | CE | L2 λ=0.0005 | 0.5000 ± 0 | 0.9850 ± 0.0071 | 0.0500 ± 0.0000 | 1 | 2 | 1.6e-3, 0.99 | -0.0050 (-0.7 sd) |')
    // and in words, under its own heading
    expect(md).toContain('## Against the paper')
    expect(md).toContain("- **L2 λ=0.0005** (2 seeds, 1 epoch): test accuracy 0.9850 against the paper's 0.99, 0.0050 lower; 0.7 of our seed standard deviations: smaller than the spread over seeds.")
    expect(md).toContain('- Weight density at |w| > 1e-3: L2 λ=0.0005: 0.5000 (paper 1.6e-3). The paper does not state its threshold')
  })

  it('lists the best lambda of each regularizer run at several lambdas next to its default lambda, ordered by lambda', async () => {
    const fake = path.join(data.dir, 'lambdas')
    const row = (acc: number, density: number) => ({ kind: 'epoch', epoch: 1, iteration: 10, trainLoss: 0.1, penalty: 0.01, testLoss: 0.05, testAccuracy: acc, testImages: 100, weightMagnitude: 0.01, l2Norm: 2, 'density_1e-3': density, 'density_1e-2': 0.2, 'density_1e-1': 0.01, seconds: 1 })
    const runs: [string, number, number, number][] = [['l2', 5e-5, 0.97, 0.9], ['l2', 5e-4, 0.98, 0.8], ['l2', 5e-3, 0.985, 0.5], ['l1', 1e-5, 0.96, 0.7]]
    for (const [reg, lambda, acc, density] of runs) {
      const dir = path.join(fake, `${reg}-${lambda}`)
      fs.mkdirSync(dir, { recursive: true })
      const config = resolveConfig({ reg: reg as 'l1' | 'l2', lambda, seed: 0, out: dir })
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ config, seed: 0, version: '0', backend: { name: 'x' }, startedAt: '', command: ['priorgrad', 'train'], resumes: [] }))
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(row(acc, density)) + '\n')
    }
    await cli('report', fake)
    const md = fs.readFileSync(path.join(fake, 'report.md'), 'utf8')
    const table = md.split('\n').filter((l) => l.startsWith('| mnist')).map((l) => l.split(' | ')[3])
    expect(table).toEqual(['L1 λ=0.00001', 'L2 λ=0.00005', 'L2 λ=0.0005', 'L2 λ=0.005'])
    expect(md).toContain('## Best lambda per regularizer')
    // L1 ran at one lambda only: no row
    expect(md).toContain('| L2 | 0.00005, 0.0005, 0.005 | 0.9800, 0.8000 | 0.005 | 0.9850, 0.5000 | 1 |')
    expect(md).not.toMatch(/^\| L1 \|/m)
  })

  // Issue #19.6: the labels showed evalEvery=5 as if it were a hyperparameter.
  it('labels show only the hyperparameters that differ between configurations, never logging cadence', async () => {
    const fake = path.join(data.dir, 'labels')
    const row = { kind: 'epoch', epoch: 1, iteration: 10, trainLoss: 0.1, penalty: 0.01, testLoss: 0.05, testAccuracy: 0.9, testImages: 100, weightMagnitude: 0.01, l2Norm: 2, 'density_1e-3': 0.5, 'density_1e-2': 0.2, 'density_1e-1': 0.01, seconds: 1 }
    const runs: Array<[string, Record<string, unknown>]> = [
      ['a', { reg: 'l2', evalEvery: 5, logEvery: 1, seed: 0 }],
      ['b', { reg: 'l2', evalEvery: 100, logEvery: 10, divergenceFactor: 'none', seed: 1 }],
      ['c', { reg: 'l2', lr: 0.01, evalEvery: 5, seed: 0 }],
      ['d', { reg: 'none', evalEvery: 7, seed: 0 }],
    ]
    for (const [name, overrides] of runs) {
      const dir = path.join(fake, name)
      fs.mkdirSync(dir, { recursive: true })
      const config = resolveConfig({ ...overrides, out: dir })
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ config, seed: config.seed, version: '0', backend: { name: 'x' }, startedAt: '', command: ['priorgrad', 'train'], resumes: [] }))
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(row) + '\n')
    }
    const r = await cli('report', fake)
    // a and b differ only in cadence and the divergence guard: one configuration of two seeds
    expect(r.out).toContain('Report of 4 runs (3 configurations)')
    const md = fs.readFileSync(path.join(fake, 'report.md'), 'utf8')
    const labels = md.split('\n').filter((l) => l.startsWith('| mnist')).map((l) => [l.split(' | ')[3], l.split(' | ')[8]])
    expect(labels).toEqual([['none lr=0.001', '1'], ['L2 λ=0.0005 lr=0.001', '2'], ['L2 λ=0.0005 lr=0.01', '1']])
    expect(md).not.toMatch(/evalEvery=|logEvery=|divergenceFactor=/)
  })

  it('a run recorded before --divergence-factor existed: its command shows no such flag', () => {
    const config = resolveConfig({ reg: 'l2', lr: 0.01 }) as unknown as Record<string, unknown>
    delete config['divergenceFactor']
    expect(equivalentCommand(config as never)).toBe('priorgrad train --reg l2 --lambda 0.0005 --lr 0.01')
  })

  it('fails clearly when a directory holds no runs', async () => {
    const empty = path.join(data.dir, 'empty')
    fs.mkdirSync(empty)
    const r = await cli('report', empty)
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/no runs \(directories with config\.json and metrics\.jsonl\) under/)
  })
})
