// The training runner end to end on a tiny MNIST set (mlp, reference backend): a resumed run
// writes exactly the rows of an uninterrupted one (after an epoch, after a mid-epoch abort, and
// after a crash that left rows beyond the checkpoint); seeds are honoured; a NaN stops the run
// naming the iteration, before the weights change.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DivergenceError, resume, train, trainStep } from '../src/experiments/train.js'
import { buildData } from '../src/experiments/data.js'
import { buildExperiment } from '../src/experiments/build.js'
import { readRows } from '../src/experiments/metrics.js'
import { csvWithoutTime, metricsWithoutTime, tinyConfig, tinyMnist } from './experiments-fixtures.js'

let data: { dir: string; cleanup: () => void }
let straight: string
// The dynamic prior has the most state to carry over (W_old snapshots, its generator); S = 2 keeps it quick.
const dyn = { reg: 'dynamic-prior', S: 2 }

beforeAll(async () => {
  data = tinyMnist()
  straight = path.join(data.dir, 'straight')
  await train(tinyConfig(data.dir, straight, dyn))
})
afterAll(() => data.cleanup())

describe('resume is bit-identical to an uninterrupted run', () => {
  it('the straight run logs iteration rows, evaluations and epoch rows', () => {
    const rows = readRows(straight)
    expect(rows.filter((r) => r.kind === 'epoch').map((r) => [r.epoch, r.iteration, r.testImages])).toEqual([[1, 4, 64], [2, 8, 64]])
    expect(rows.filter((r) => r.kind === 'iter').map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(rows.filter((r) => r.testImages === 32).map((r) => r.iteration)).toEqual([2, 4, 6, 8])
    expect(rows.every((r) => r.penalty > 0 && r.seconds >= 0 && r['density_1e-3'] > 0)).toBe(true)
    const csv = fs.readFileSync(path.join(straight, 'metrics.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('kind,epoch,iteration,trainLoss,penalty,testLoss,testAccuracy,testImages,weightMagnitude,l2Norm,density_1e-3,density_1e-2,density_1e-1,seconds')
    expect(csv).toHaveLength(rows.length + 1)
    const record = JSON.parse(fs.readFileSync(path.join(straight, 'config.json'), 'utf8'))
    expect(record).toMatchObject({ seed: 0, version: expect.any(String), backend: { name: 'reference' }, config: { reg: 'dynamic-prior', lambda: 5e-4 } })
  })

  it('1 epoch, then --resume with --epochs 2', async () => {
    const dir = path.join(data.dir, 'epoch-resume')
    const first = await train(tinyConfig(data.dir, dir, { ...dyn, epochs: 1 }))
    expect(first).toMatchObject({ iteration: 4, stopped: false })
    const second = await resume(dir, { epochs: 2 })
    expect(second).toMatchObject({ iteration: 8, stopped: false })
    expect(metricsWithoutTime(dir)).toBe(metricsWithoutTime(straight))
    expect(csvWithoutTime(dir)).toBe(csvWithoutTime(straight))
  })

  it('abort mid-epoch (after iteration 2), a crash leaving rows past the checkpoint, then resume', async () => {
    const dir = path.join(data.dir, 'mid-epoch')
    const controller = new AbortController()
    const checkpoints: number[] = []
    const r = await train(tinyConfig(data.dir, dir, dyn), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step' && e.iteration === 2) controller.abort()
        if (e.type === 'checkpoint') checkpoints.push(e.iteration)
      },
    })
    expect(r).toMatchObject({ iteration: 2, stopped: true })
    expect(checkpoints).toEqual([2])
    // A crashed process may have written rows after its last checkpoint: resume must drop them.
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"kind":"iter","iteration":3,"trainLoss":9}\n')
    fs.appendFileSync(path.join(dir, 'metrics.csv'), 'iter,1,3,9\n')
    await resume(dir)
    expect(metricsWithoutTime(dir)).toBe(metricsWithoutTime(straight))
    expect(csvWithoutTime(dir)).toBe(csvWithoutTime(straight))
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))
    expect(record.resumes.map((x: { iteration: number }) => x.iteration)).toEqual([2])
  })

  it('refuses to start a new run over an existing one', async () => {
    await expect(train(tinyConfig(data.dir, straight, dyn))).rejects.toThrow(/already holds a run; continue it with --resume .*, start it over with --overwrite/)
  })
})

describe('seeds', () => {
  const run = async (name: string, seed: number) => {
    const dir = path.join(data.dir, name)
    await train(tinyConfig(data.dir, dir, { epochs: 1, seed, reg: 'l2' }))
    return metricsWithoutTime(dir)
  }
  it('the same seed gives identical metrics.jsonl, another seed different ones', async () => {
    const a = await run('seed0-a', 0)
    const b = await run('seed0-b', 0)
    const c = await run('seed1', 1)
    expect(a.length).toBeGreaterThan(100)
    expect(b).toBe(a)
    expect(c).not.toBe(a)
  })
})

describe('non-finite values and divergence', () => {
  // Issue #21: Adam or AdamW at lr 1e3 drove the loss to ~1e10, still finite, and the run ended "Done".
  it.each(['adam', 'adamw'])('%s at lr 1e3 stops once the loss exceeds 1e4 times its first step\'s, before updating the weights', async (optimizer) => {
    const dir = path.join(data.dir, `diverge-${optimizer}`)
    const losses: number[] = []
    const err = await train(tinyConfig(data.dir, dir, { epochs: 2, lr: 1e3, optimizer, reg: 'none' }), {
      onEvent: (e) => e.type === 'step' && losses.push(e.loss),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DivergenceError)
    const first = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).firstLoss
    expect(first).toBe(losses[0])
    expect((err as Error).message).toMatch(new RegExp(`^train: iteration ${losses.length + 1} \\(epoch \\d, batch \\d\\): the loss \\+ penalty [\\d.e+]+ is more than --divergence-factor 10000 times the first step's ${first.toPrecision(4).replace('.', '\\.')}; the run is diverging, stopped before updating the weights`))
    // every step that was taken stayed under the limit
    expect(Math.max(...losses)).toBeLessThanOrEqual(1e4 * first)
  })

  it('the factor is an option: a lower one stops earlier, none lets a finite divergence run to the end', async () => {
    const steps = async (name: string, divergenceFactor: number | string) => {
      let n = 0
      const r = await train(tinyConfig(data.dir, path.join(data.dir, name), { epochs: 1, lr: 1e3, reg: 'none', divergenceFactor }), {
        onEvent: (e) => e.type === 'step' && n++,
      }).catch((e: unknown) => e)
      return { n, r }
    }
    const low = await steps('factor-2', 2)
    expect(low.r).toBeInstanceOf(DivergenceError)
    expect(low.n).toBe(1)
    const off = await steps('factor-none', 'none')
    expect(off.r).toMatchObject({ stopped: false, iteration: 4 })
  })

  it('the check reads the loss only: the normal tiny run is unchanged and never near the limit', () => {
    const record = JSON.parse(fs.readFileSync(path.join(straight, 'config.json'), 'utf8'))
    expect(record.config.divergenceFactor).toBe(1e4)
    const rows = readRows(straight)
    expect(Math.max(...rows.map((r) => r.trainLoss + r.penalty))).toBeLessThan(record.firstLoss * 10)
  })

  it('a NaN in a batch: the step throws naming the iteration, and no weight changes', () => {
    const config = tinyConfig(data.dir, path.join(data.dir, 'unused'), { reg: 'l2' })
    const { train: loader, shape, numClasses } = buildData(config)
    const ex = buildExperiment(config, shape, numClasses)
    const batch = loader.epochBatches(0).next().value!
    batch.x.data[5] = NaN
    const before = ex.model.parameters().map((p) => p.data.slice())
    // relu propagates NaN (as PyTorch's does), so the loss itself is NaN and the step stops there.
    expect(() => trainStep(ex, batch.x, batch.y, 7, 0, 3)).toThrow(/^train: iteration 7 \(epoch 1, batch 3\): the loss is NaN .*stopped before updating the weights/)
    expect(() => trainStep(ex, batch.x, batch.y, 7, 0, 3)).toThrow(DivergenceError)
    expect(ex.model.parameters().map((p) => p.data)).toEqual(before)
  })
  it('a loss over the limit: the step throws before any weight changes', () => {
    const config = tinyConfig(data.dir, path.join(data.dir, 'unused'), { reg: 'l2' })
    const { train: loader, shape, numClasses } = buildData(config)
    const ex = buildExperiment(config, shape, numClasses)
    const batch = loader.epochBatches(0).next().value!
    const before = ex.model.parameters().map((p) => p.data.slice())
    expect(() => trainStep(ex, batch.x, batch.y, 5, 0, 4, { factor: 10, reference: 0.01 })).toThrow(/^train: iteration 5 \(epoch 1, batch 4\): the loss \+ penalty [\d.]+ is more than --divergence-factor 10 times the first step's 0\.01000; the run is diverging/)
    expect(ex.model.parameters().map((p) => p.data)).toEqual(before)
    // the same step under a limit it does not reach trains normally
    expect(trainStep(ex, batch.x, batch.y, 5, 0, 4, { factor: 1e4, reference: 2 }).loss).toBeGreaterThan(0)
  })
})

describe('Ctrl-C and SIGTERM', () => {
  for (const [sig, what] of [['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM']] as const) {
    it(`the priorgrad command stops after a step on ${sig}, saves a checkpoint, says where, and exits with 130`, async () => {
      const { spawn } = await import('node:child_process')
      const out = path.join(data.dir, sig.toLowerCase())
      const bin = path.join(__dirname, '..', 'bin', 'priorgrad.mjs')
      const child = spawn(process.execPath, [bin, 'train', '--model', 'mlp', '--data-dir', data.dir, '--epochs', '1000', '--backend', 'reference', '--out', out, '--progress', 'lines'])
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (b) => (stdout += b))
      const code = await new Promise<number | null>((resolve) => {
        child.stderr.on('data', (b) => {
          stderr += b
          if (/epoch 1: /.test(stderr) && !child.killed) child.kill(sig)
        })
        child.on('exit', resolve)
      })
      expect(stderr).toContain(`${what}: stopping after this step and saving a checkpoint`)
      expect(stdout).toMatch(new RegExp(`Stopped at iteration \\d+; checkpoint in ${out.replace(/[/\\]/g, '.')}.checkpoint\\.\\nContinue with: priorgrad train --resume `))
      expect(code).toBe(130)
      expect(fs.existsSync(path.join(out, 'checkpoint', 'state.json'))).toBe(true)
    })
  }
})
