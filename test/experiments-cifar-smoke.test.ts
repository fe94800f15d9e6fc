// Smoke runs on generated CIFAR-format files (the real sets cannot be downloaded here): one
// optimizer step of each CIFAR network through the experiment's data pipeline (crop + flip +
// normalise), and full `train` runs of the 2-layer CNN on CIFAR-10 (dynamic prior) and CIFAR-100
// (projected cross-entropy). Uses the wasm backend: on the reference loops one ResNet-18 step
// takes ~30 s. Measured on the 2-core machine (loaded): vgg11 2.7 s, resnet18 4 s, senet18 4.6 s,
// densenet121 15 s per step at batch 2.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../src/experiments/backend.js'
import { buildExperiment } from '../src/experiments/build.js'
import { resolveConfig } from '../src/experiments/config.js'
import { buildData } from '../src/experiments/data.js'
import { readRows } from '../src/experiments/metrics.js'
import { train, trainStep } from '../src/experiments/train.js'
import { tempDir, writeCifar10, writeCifar100 } from './helpers/data-files.js'

let c10: { dir: string; cleanup: () => void }
let c100: { dir: string; cleanup: () => void }
beforeAll(async () => {
  c10 = tempDir('priorgrad-c10-')
  writeCifar10(c10.dir, 2) // 10 training images (labels 0..9), 2 test images
  c100 = tempDir('priorgrad-c100-')
  writeCifar100(c100.dir, 8, 4)
  await selectBackend('wasm')
})
afterAll(() => {
  c10.cleanup()
  c100.cleanup()
})

describe.each(['vgg11', 'resnet18', 'senet18', 'densenet121'])('%s on CIFAR-10-format data', (model) => {
  it('one step at batch 2 changes the weights and gives a finite loss', () => {
    const config = resolveConfig({ dataset: 'cifar10', dataDir: c10.dir, model, batchSize: 2, backend: 'wasm' })
    const data = buildData(config)
    expect(data.shape).toEqual([3, 32, 32])
    const ex = buildExperiment(config, data.shape, data.numClasses)
    const batch = data.train.epochBatches(0).next().value!
    expect(batch.x.shape).toEqual([2, 3, 32, 32])
    const before = ex.model.parameters()[0]!.data.slice()
    const { loss } = trainStep(ex, batch.x, batch.y, 1, 0, 0)
    expect(Number.isFinite(loss)).toBe(true)
    expect(loss).toBeGreaterThan(0)
    expect(ex.model.parameters()[0]!.data).not.toEqual(before)
  })
})

describe('train on CIFAR-format files', () => {
  it('CIFAR-10, cnn2 with the dynamic prior: rows and a checkpoint', async () => {
    const out = path.join(c10.dir, 'run')
    const r = await train(resolveConfig({ dataset: 'cifar10', dataDir: c10.dir, model: 'cnn2', reg: 'dynamic-prior', S: 1, batchSize: 2, trainSubset: 4, evalEvery: 1, logEvery: 1, backend: 'wasm', out }))
    expect(r).toMatchObject({ iteration: 2, stopped: false })
    const rows = readRows(out)
    expect(rows.map((x) => `${x.kind}${x.iteration}`)).toEqual(['iter1', 'iter2', 'epoch2'])
    expect(rows[2]).toMatchObject({ testImages: 2, epoch: 1 })
    expect(rows[2]!.penalty).toBeGreaterThan(0)
    expect(fs.existsSync(path.join(out, 'checkpoint', 'state.json'))).toBe(true)
  })

  it('CIFAR-100 (fine labels), cnn2 with L2 and projected cross-entropy', async () => {
    const out = path.join(c100.dir, 'run')
    const r = await train(resolveConfig({ dataset: 'cifar100', dataDir: c100.dir, model: 'cnn2', reg: 'l2', loss: 'projected-ce', batchSize: 4, epochs: 1, evalEvery: 0, backend: 'wasm', out }))
    expect(r.iteration).toBe(2)
    const last = readRows(out).at(-1)!
    expect(last).toMatchObject({ kind: 'epoch', testImages: 4 })
    expect(Number.isFinite(last.testLoss)).toBe(true)
  })
})
