// CIFAR-10 / CIFAR-100 binary readers on tiny generated files in exactly the official layout.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCifar10, loadCifar100 } from '../src/data/cifar.js'
import { cifarPixel, cifarRecords, tempDir, writeCifar10, writeCifar100 } from './helpers/data-files.js'

const tmp = tempDir()
afterAll(tmp.cleanup)

function freshDir(name: string): string {
  const dir = join(tmp.dir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

describe('loadCifar10', () => {
  const dir = freshDir('c10')
  const { trainLabels, testLabels } = writeCifar10(dir, 4)

  it('reads all five train batches in order, labels and shape', () => {
    const ds = loadCifar10({ dataDir: dir, split: 'train' })
    expect([ds.length, ...ds.shape]).toEqual([20, 3, 32, 32])
    expect(ds.numClasses).toBe(10)
    expect(Array.from(ds.labels)).toEqual(trainLabels)
    const test = loadCifar10({ dataDir: dir, split: 'test' })
    expect(Array.from(test.labels)).toEqual(testLabels)
  })

  it('keeps the channel-major R, G, B layout: values at known positions', () => {
    const ds = loadCifar10({ dataDir: dir, split: 'train' })
    // Record 13 lives in data_batch_4.bin (records 12..15); check a pixel in each channel.
    for (const [c, y, x] of [[0, 0, 0], [1, 5, 31], [2, 31, 7]] as const) {
      expect(ds.pixels[13 * 3072 + c * 1024 + y * 32 + x]).toBe(cifarPixel(13, c, y, x))
      expect(ds.getItem(13).x[c * 1024 + y * 32 + x]).toBe(Math.fround(cifarPixel(13, c, y, x) / 255))
    }
    // The green channel of record 0 starts exactly 1024 pixels after the red one.
    const raw = readFileSync(join(dir, 'data_batch_1.bin'))
    expect(ds.pixels[1024]).toBe(raw[1 + 1024])
    expect(ds.getItem(13).y).toBe(13 % 10)
  })

  it('finds the files in the archive folder cifar-10-batches-bin', () => {
    const parent = freshDir('c10-parent')
    writeCifar10(freshDir('c10-parent/cifar-10-batches-bin'), 2)
    expect(loadCifar10({ dataDir: parent, split: 'test' }).length).toBe(2)
  })

  it('names every missing file and the directory searched', () => {
    const d = freshDir('c10-missing')
    writeCifar10(d, 1)
    unlinkSync(join(d, 'data_batch_2.bin'))
    unlinkSync(join(d, 'data_batch_5.bin'))
    expect(() => loadCifar10({ dataDir: d, split: 'train' })).toThrow(
      new RegExp(`missing CIFAR-10 train file\\(s\\) data_batch_2\\.bin, data_batch_5\\.bin in ${d}`),
    )
    expect(loadCifar10({ dataDir: d, split: 'test' }).length).toBe(1)
    expect(() => loadCifar10({ dataDir: join(d, 'nope'), split: 'test' })).toThrow(/test_batch\.bin in .*nope \(which does not exist\)/)
  })

  it('rejects a truncated file with the file, record size and offset of the partial record', () => {
    const d = freshDir('c10-trunc')
    writeCifar10(d, 3)
    const path = join(d, 'data_batch_3.bin')
    writeFileSync(path, new Uint8Array(readFileSync(path)).subarray(0, 2 * 3073 + 100))
    expect(() => loadCifar10({ dataDir: d, split: 'train' })).toThrow(
      `${path} is truncated or corrupt: its size 6246 bytes is not a multiple of the record size 3073; the partial record 2 starts at byte offset 6146`,
    )
  })

  it('rejects an out-of-range label with file, record index and byte offset', () => {
    const d = freshDir('c10-label')
    writeCifar10(d, 3)
    const path = join(d, 'data_batch_5.bin')
    const bytes = new Uint8Array(readFileSync(path))
    bytes[2 * 3073] = 10
    writeFileSync(path, bytes)
    expect(() => loadCifar10({ dataDir: d, split: 'train' })).toThrow(`${path}: label 10 of record 2 at byte offset 6146 is outside [0, 10)`)
  })

  it('names a directory where a batch file should be (issue #21: was "truncated ... size 40 bytes")', () => {
    const d = freshDir('c10-dir')
    writeCifar10(d, 1)
    unlinkSync(join(d, 'test_batch.bin'))
    mkdirSync(join(d, 'test_batch.bin'))
    expect(() => loadCifar10({ dataDir: d, split: 'test' })).toThrow(`loadCifar10: ${join(d, 'test_batch.bin')} is a directory, not a CIFAR-10 batch file`)
  })

  it('requires a dataDir', () => {
    expect(() => loadCifar10({ dataDir: '', split: 'train' })).toThrow(/dataDir is required/)
  })
})

describe('loadCifar100', () => {
  const dir = freshDir('c100')
  writeCifar100(dir, 25, 3)

  it('uses fine labels by default and coarse labels on request', () => {
    const fine = loadCifar100({ dataDir: dir, split: 'train' })
    expect([fine.length, ...fine.shape]).toEqual([25, 3, 32, 32])
    expect(fine.numClasses).toBe(100)
    expect(Array.from(fine.labels)).toEqual(Array.from({ length: 25 }, (_, r) => (r * 7) % 100))
    const coarse = loadCifar100({ dataDir: dir, split: 'train', labelMode: 'coarse' })
    expect(coarse.numClasses).toBe(20)
    expect(Array.from(coarse.labels)).toEqual(Array.from({ length: 25 }, (_, r) => r % 20))
    expect(loadCifar100({ dataDir: dir, split: 'test' }).length).toBe(3)
  })

  it('skips both label bytes: pixels at known positions', () => {
    const ds = loadCifar100({ dataDir: dir, split: 'train' })
    for (const [n, c, y, x] of [[0, 0, 0, 0], [7, 1, 0, 0], [24, 2, 31, 31]] as const) {
      expect(ds.pixels[n * 3072 + c * 1024 + y * 32 + x]).toBe(cifarPixel(n, c, y, x))
    }
  })

  it('checks the fine label range even in coarse mode, and the record size of 3074', () => {
    const d = freshDir('c100-bad')
    writeFileSync(join(d, 'train.bin'), cifarRecords([[1, 2], [3, 100]], 0))
    writeFileSync(join(d, 'test.bin'), cifarRecords([[1, 2]], 0).subarray(0, 3000))
    expect(() => loadCifar100({ dataDir: d, split: 'train', labelMode: 'coarse' })).toThrow(
      /train\.bin: fine label 100 of record 1 at byte offset 3075 is outside \[0, 100\)/,
    )
    expect(() => loadCifar100({ dataDir: d, split: 'test' })).toThrow(/record size 3074; the partial record 0 starts at byte offset 0/)
    expect(() => loadCifar100({ dataDir: d, split: 'test', labelMode: 'x' as 'fine' })).toThrow(/labelMode/)
  })

  it('names the missing files', () => {
    const d = freshDir('c100-missing')
    expect(() => loadCifar100({ dataDir: d, split: 'train' })).toThrow(/missing CIFAR-100 train file\(s\) train\.bin in .*expected train\.bin/)
  })
})
