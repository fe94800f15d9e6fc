// Writers for tiny data files in the exact binary formats the readers in src/data parse:
// IDX (big-endian header and data) and the CIFAR-10 / CIFAR-100 binary batches.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix = 'priorgrad-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const IDX_WRITERS: Record<number, [number, (v: DataView, at: number, x: number) => void]> = {
  0x08: [1, (v, at, x) => v.setUint8(at, x)],
  0x09: [1, (v, at, x) => v.setInt8(at, x)],
  0x0b: [2, (v, at, x) => v.setInt16(at, x, false)],
  0x0c: [4, (v, at, x) => v.setInt32(at, x, false)],
  0x0d: [4, (v, at, x) => v.setFloat32(at, x, false)],
  0x0e: [8, (v, at, x) => v.setFloat64(at, x, false)],
}

/** The bytes of an IDX file with the given type code, shape and row-major values. */
export function encodeIdx(typeCode: number, shape: number[], values: ArrayLike<number>): Uint8Array {
  const [width, write] = IDX_WRITERS[typeCode]!
  const header = 4 + 4 * shape.length
  const bytes = new Uint8Array(header + width * values.length)
  const view = new DataView(bytes.buffer)
  bytes[2] = typeCode
  bytes[3] = shape.length
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  for (let i = 0; i < values.length; i++) write(view, header + width * i, values[i]!)
  return bytes
}

/** Pixel value of record n (counted over the whole split), channel c, row y, column x. */
export function cifarPixel(n: number, c: number, y: number, x: number): number {
  return (n * 37 + c * 101 + y * 7 + x * 3) & 255
}

/** Records of labelBytes.length label bytes followed by 3072 pixels from cifarPixel. */
export function cifarRecords(labels: number[][], firstRecord: number): Uint8Array {
  const head = labels[0]?.length ?? 1
  const size = head + 3072
  const out = new Uint8Array(labels.length * size)
  labels.forEach((ls, r) => {
    const at = r * size
    ls.forEach((l, b) => (out[at + b] = l))
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) out[at + head + c * 1024 + y * 32 + x] = cifarPixel(firstRecord + r, c, y, x)
  })
  return out
}

/**
 * Write CIFAR-10 batches (5 train files + test) with `perFile` records each; label of record n is
 * n % 10 (n counted over the split). Returns the train labels in order.
 */
export function writeCifar10(dir: string, perFile: number): { trainLabels: number[]; testLabels: number[] } {
  const trainLabels: number[] = []
  for (let f = 1; f <= 5; f++) {
    const labels = Array.from({ length: perFile }, (_, r) => [((f - 1) * perFile + r) % 10])
    labels.forEach((l) => trainLabels.push(l[0]!))
    writeFileSync(join(dir, `data_batch_${f}.bin`), cifarRecords(labels, (f - 1) * perFile))
  }
  const test = Array.from({ length: perFile }, (_, r) => [(r * 3) % 10])
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords(test, 0))
  return { trainLabels, testLabels: test.map((l) => l[0]!) }
}

/** Write CIFAR-100 train.bin / test.bin; record n has coarse label n % 20 and fine label (n * 7) % 100. */
export function writeCifar100(dir: string, nTrain: number, nTest: number): void {
  const labels = (n: number) => Array.from({ length: n }, (_, r) => [r % 20, (r * 7) % 100])
  writeFileSync(join(dir, 'train.bin'), cifarRecords(labels(nTrain), 0))
  writeFileSync(join(dir, 'test.bin'), cifarRecords(labels(nTest), 0))
}
