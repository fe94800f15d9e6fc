// The data of one experiment: MNIST standardised with its training mean/std; CIFAR with
// torchvision's augmentation (random crop 32 with padding 4, horizontal flip, then standardise
// with the training set's per-channel statistics). The training loader's order and augmentation
// are keyed on the run's seed; the subsets are drawn with fixed generators so every seed trains
// and evaluates on the same images (seeds then measure training randomness, not data choice).
import { DataLoader } from '../data/dataloader.js'
import { ImageDataset } from '../data/dataset.js'
import { loadCifar10, loadCifar100 } from '../data/cifar.js'
import { loadMnist } from '../data/mnist.js'
import { normalize, randomCrop, randomHorizontalFlip, type ImageTransform } from '../data/transforms.js'
import { Generator } from '../tensor/generator.js'
import fs from 'node:fs'
import { UsageError, type ExperimentConfig } from './config.js'

export interface ExperimentData {
  train: DataLoader
  /** The --test-subset images, for the evaluations every --eval-every iterations. */
  testSubset: ImageDataset
  /** The whole test set, for the epoch rows. */
  testFull: ImageDataset
  /** [C, H, W] of one input. */
  shape: number[]
  numClasses: number
}

/**
 * Load and prepare the datasets and the training loader of `config`.
 * @example const { train, testFull } = buildData(resolveConfig({ trainSubset: 256 }))
 */
export function buildData(config: ExperimentConfig): ExperimentData {
  checkDataDir(config)
  const dataDir = config.dataDir ?? undefined
  const load = (split: 'train' | 'test'): ImageDataset => {
    if (config.dataset === 'mnist') return loadMnist({ split, ...(dataDir ? { dataDir } : {}) })
    if (dataDir === undefined) throw new Error(`buildData: --data-dir is required for --dataset ${config.dataset}`)
    return config.dataset === 'cifar10' ? loadCifar10({ dataDir, split }) : loadCifar100({ dataDir, split })
  }
  let train = load('train')
  let test = load('test')
  train = pick(train, config.trainSubset, 'train-subset', 'subset/train')
  // Statistics of the training images actually used, applied to train and test alike.
  const stats = train.channelStats()
  test = test.normalized(stats)
  // The default test subset (1000) may exceed a small test set: then the whole set is used.
  const testSubset = pick(test, config.testSubset === null ? null : Math.min(config.testSubset, test.length), 'test-subset', 'subset/test')
  let transforms: ImageTransform[] = []
  if (config.dataset === 'mnist') {
    train = train.normalized(stats)
  } else {
    // NOTE: crop on [0, 1] pixels, before normalising, so the padding is black as in torchvision.
    transforms = [randomCrop(32, 4), randomHorizontalFlip(), normalize(stats.mean, stats.std)]
  }
  const loader = new DataLoader(train, { batchSize: config.batchSize, shuffle: true, dropLast: false, seed: config.seed, transforms })
  return { train: loader, testSubset, testFull: test, shape: [...train.shape], numClasses: train.numClasses }
}

function pick(ds: ImageDataset, n: number | null, flag: string, seed: string): ImageDataset {
  if (n === null || n === ds.length) return ds
  if (n > ds.length) throw new UsageError(`--${flag}: ${n} is larger than the ${ds.name} set (${ds.length} images)`)
  return ds.subset(n, new Generator(seed))
}

/**
 * A --data-dir that is not a directory is a usage error, found without reading any data (a sweep
 * checks every cell this way before it writes anything).
 * @example checkDataDir(resolveConfig({ dataDir: 'data/mnist' }))
 */
export function checkDataDir(config: ExperimentConfig): void {
  const dir = config.dataDir
  if (dir !== null && !(fs.existsSync(dir) && fs.statSync(dir).isDirectory())) {
    throw new UsageError(`--data-dir: ${dir} is not a directory${fs.existsSync(dir) ? '' : ' (it does not exist)'}`)
  }
}
