// CIFAR-10 / CIFAR-100 "binary version" readers (Krizhevsky, 2009).
// CIFAR-10 record: 1 label byte + 3072 pixel bytes; CIFAR-100 record: coarse label byte +
// fine label byte + 3072 pixel bytes. Pixels are channel-major R(1024) G(1024) B(1024), each
// channel 32x32 row-major: exactly our [C, H, W] layout, so records are copied as they are.
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs'
import { join, resolve } from 'node:path'
import { ImageDataset } from './dataset.js'
import { asBytes } from './idx.js'
import type { Split } from './mnist.js'

const PIXELS = 3 * 32 * 32

interface CifarFormat {
  title: string
  /** The folder the official archive extracts to; also searched inside the given directory. */
  folder: string
  files: Record<Split, string[]>
  /** Label bytes at the start of each record and the number of classes each may take. */
  labels: { name: string; classes: number }[]
}

const CIFAR10: CifarFormat = {
  title: 'CIFAR-10',
  folder: 'cifar-10-batches-bin',
  files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
  labels: [{ name: 'label', classes: 10 }],
}

const CIFAR100: CifarFormat = {
  title: 'CIFAR-100',
  folder: 'cifar-100-binary',
  files: { train: ['train.bin'], test: ['test.bin'] },
  labels: [
    { name: 'coarse label', classes: 20 },
    { name: 'fine label', classes: 100 },
  ],
}

/** Where the CIFAR binary batches are, and which split to read. */
export interface CifarOptions {
  /** Directory holding the .bin files (or the archive's cifar-10-batches-bin / cifar-100-binary folder). */
  dataDir: string
  split: Split
}

/** CifarOptions plus the CIFAR-100 label granularity. */
export interface Cifar100Options extends CifarOptions {
  /** Which label byte to use: the 100 fine classes (default) or the 20 coarse superclasses. */
  labelMode?: 'fine' | 'coarse'
}

/**
 * Load a CIFAR-10 split ([3, 32, 32] images, 10 classes) from a directory of binary batches.
 * @example loadCifar10({ dataDir: '/data/cifar', split: 'test' }).length // 10000
 */
export function loadCifar10(options: CifarOptions): ImageDataset {
  return loadCifar('loadCifar10', CIFAR10, options, 0)
}

/**
 * Load a CIFAR-100 split ([3, 32, 32] images; 100 fine or 20 coarse classes).
 * @example loadCifar100({ dataDir: '/data/cifar', split: 'train', labelMode: 'coarse' }).numClasses // 20
 */
export function loadCifar100(options: Cifar100Options): ImageDataset {
  const mode = options.labelMode ?? 'fine'
  if (mode !== 'fine' && mode !== 'coarse') throw new Error(`loadCifar100: labelMode must be 'fine' or 'coarse', got ${JSON.stringify(mode)}`)
  return loadCifar('loadCifar100', CIFAR100, options, mode === 'fine' ? 1 : 0)
}

function loadCifar(fn: string, format: CifarFormat, options: CifarOptions, labelByte: number): ImageDataset {
  const { split } = options
  if (split !== 'train' && split !== 'test') throw new Error(`${fn}: split must be 'train' or 'test', got ${JSON.stringify(split)}`)
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new Error(`${fn}: dataDir is required (${format.title} cannot be downloaded here; pass the folder of its binary version)`)
  }
  const paths = locate(fn, format, resolve(options.dataDir), split)
  const headerBytes = format.labels.length
  const recordSize = headerBytes + PIXELS
  // Validate every file before decoding any, so a bad file fails the whole load.
  const buffers = paths.map((path) => readAndCheck(fn, format, path, recordSize))
  const total = buffers.reduce((s, b) => s + b.length / recordSize, 0)
  const pixels = new Uint8Array(total * PIXELS)
  const labels = new Int32Array(total)
  let n = 0
  for (const bytes of buffers) {
    for (let at = 0; at < bytes.length; at += recordSize, n++) {
      labels[n] = bytes[at + labelByte]!
      pixels.set(bytes.subarray(at + headerBytes, at + recordSize), n * PIXELS)
    }
  }
  const numClasses = format.labels[labelByte]!.classes
  const name = `${format.title.toLowerCase().replace('-', '')}/${split}`
  return new ImageDataset({ pixels, labels, shape: [3, 32, 32], numClasses, name })
}

/** The split's files, all present, in the given directory or its archive-named subfolder. */
function locate(fn: string, format: CifarFormat, dir: string, split: Split): string[] {
  const expected = format.files[split]
  const candidates = [dir, join(dir, format.folder)]
  for (const d of candidates) {
    if (expected.every((f) => existsSync(join(d, f)))) return expected.map((f) => join(d, f))
  }
  const missing = expected.filter((f) => !existsSync(join(dir, f)))
  const where = existsSync(dir) ? dir : `${dir} (which does not exist)`
  throw new Error(
    `${fn}: missing ${format.title} ${split} file(s) ${missing.join(', ')} in ${where} (also searched ${candidates[1]}); ` +
      `expected ${expected.join(', ')} from the ${format.title} binary version`,
  )
}

function readAndCheck(fn: string, format: CifarFormat, path: string, recordSize: number): Uint8Array {
  const cannot = (e: unknown): never => {
    throw new Error(`${fn}: cannot read ${path}: ${(e as Error).message}`)
  }
  let stat: Stats
  try {
    stat = statSync(path)
  } catch (e) {
    return cannot(e)
  }
  // NOTE: a directory's own size (often 4096, or 40 on some file systems) would otherwise be
  // reported as a truncated batch; a FIFO would block the read forever.
  if (stat.isDirectory()) throw new Error(`${fn}: ${path} is a directory, not a ${format.title} batch file`)
  if (!stat.isFile()) throw new Error(`${fn}: ${path} is not a regular file (expected a ${format.title} batch file)`)
  const size = stat.size
  if (size === 0) throw new Error(`${fn}: ${path} is empty: expected ${format.title} records of ${recordSize} bytes`)
  if (size % recordSize !== 0) {
    const start = size - (size % recordSize)
    throw new Error(
      `${fn}: ${path} is truncated or corrupt: its size ${size} bytes is not a multiple of the record size ${recordSize}; ` +
        `the partial record ${start / recordSize} starts at byte offset ${start}`,
    )
  }
  let bytes: Uint8Array
  try {
    bytes = asBytes(readFileSync(path))
  } catch (e) {
    return cannot(e)
  }
  for (let at = 0, r = 0; at < bytes.length; at += recordSize, r++) {
    for (let b = 0; b < format.labels.length; b++) {
      const { name, classes } = format.labels[b]!
      const v = bytes[at + b]!
      if (v >= classes) {
        throw new Error(`${fn}: ${path}: ${name} ${v} of record ${r} at byte offset ${at + b} is outside [0, ${classes})`)
      }
    }
  }
  return bytes
}
