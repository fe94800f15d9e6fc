// Shared by the experiments tests: a tiny MNIST directory (the first 128 training and 64 test
// images of the real set, written as IDX files) so a run's epoch-end evaluation on "the full
// test set" takes milliseconds, and a tiny-run config on the reference backend.
import fs from 'node:fs'
import path from 'node:path'
import { loadMnist, MNIST_FILES } from '../src/data/mnist.js'
import { resolveConfig, type ExperimentConfig } from '../src/experiments/config.js'
import { encodeIdx, tempDir } from './helpers/data-files.js'

/** Write the first `nTrain`/`nTest` MNIST images as IDX files into a new temp dir. */
export function tinyMnist(nTrain = 128, nTest = 64): { dir: string; cleanup: () => void } {
  const t = tempDir('priorgrad-exp-')
  for (const [split, n] of [['train', nTrain], ['test', nTest]] as const) {
    const ds = loadMnist({ split })
    const pixels = ds.pixels.subarray(0, n * 784)
    const labels = Array.from(ds.labels.subarray(0, n))
    fs.writeFileSync(path.join(t.dir, MNIST_FILES[split].images), encodeIdx(0x08, [n, 28, 28], pixels))
    fs.writeFileSync(path.join(t.dir, MNIST_FILES[split].labels), encodeIdx(0x08, [n], labels))
  }
  return t
}

/** An mlp run on the tiny set: 4 steps per epoch, a row every step, evaluation every 2 iterations. */
export function tinyConfig(dataDir: string, out: string, overrides: Record<string, unknown> = {}): ExperimentConfig {
  return resolveConfig({
    model: 'mlp', dataDir, testSubset: 32, evalEvery: 2, logEvery: 1, batchSize: 32, epochs: 2, backend: 'reference', out,
    ...overrides,
  })
}

/** metrics.jsonl with every `seconds` field removed (the only wall-clock field). */
export function metricsWithoutTime(dir: string): string {
  return fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').replace(/,"seconds":[^,}]+/g, '')
}

/** metrics.csv without its last column (seconds). */
export function csvWithoutTime(dir: string): string {
  return fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').split('\n').map((l) => l.replace(/,[^,]*$/, '')).join('\n')
}
