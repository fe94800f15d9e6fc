// ImageDataset, transforms and DataLoader: shapes, seeded order and augmentation, exact resume.
import { describe, expect, it } from 'vitest'
import { DataLoader, type Batch } from '../src/data/dataloader.js'
import { ImageDataset, type Dataset } from '../src/data/dataset.js'
import { normalize, randomCrop, randomHorizontalFlip } from '../src/data/transforms.js'
import { Generator, manualSeed } from '../src/tensor/generator.js'

/** n images [c, h, w]; pixel k of sample i is (i * 16 + k) % 256, label i % classes. */
function toyDataset(n: number, shape = [1, 2, 3], classes = 10): ImageDataset {
  const size = shape[0]! * shape[1]! * shape[2]!
  const pixels = Uint8Array.from({ length: n * size }, (_, k) => (Math.floor(k / size) * 16 + (k % size)) % 256)
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes)
  return new ImageDataset({ pixels, labels, shape, numClasses: classes, name: 'toy' })
}

/** A stand-in generator returning scripted draws, to work transforms by hand. */
function scripted(ints: number[], uniforms: number[] = []): Generator {
  return { int: () => ints.shift()!, uniform: () => uniforms.shift()! } as unknown as Generator
}

const all = (it: Iterable<Batch>): Batch[] => [...it]

describe('ImageDataset', () => {
  it('reads pixels as floats in [0, 1] and checks indices', () => {
    const ds = toyDataset(3)
    expect(Array.from(ds.getItem(1).x)).toEqual([16, 17, 18, 19, 20, 21].map((p) => Math.fround(p / 255)))
    expect(ds.getItem(2).y).toBe(2)
    expect(() => ds.getItem(3)).toThrow(/index 3 out of range \[0, 3\)/)
  })

  it('channelStats worked by hand, and normalized() standardises with them', () => {
    // Two channels of 2 pixels, 2 samples: channel 0 holds 0 and 255 (mean 0.5, std 0.5), channel 1 all 51.
    const ds = new ImageDataset({ pixels: Uint8Array.from([0, 255, 51, 51, 255, 0, 51, 51]), labels: Int32Array.from([0, 1]), shape: [2, 1, 2], numClasses: 2 })
    const { mean, std } = ds.channelStats()
    expect(mean[0]).toBeCloseTo(0.5, 12)
    expect(std[0]).toBeCloseTo(0.5, 12)
    expect(mean[1]).toBeCloseTo(0.2, 12)
    expect(std[1]).toBeCloseTo(0, 7)
    const norm = ds.normalized({ mean: [0.5, 0.2], std: [0.5, 0.1] })
    expect(Array.from(norm.getItem(0).x)).toEqual([-1, 1, 0, 0])
    expect(norm.pixels).toBe(ds.pixels)
    expect(Array.from(norm.unnormalized().getItem(0).x)).toEqual(Array.from(ds.getItem(0).x))
  })

  it('subset(n) takes the first n; subset(n, rng) a seeded sorted random pick', () => {
    const ds = toyDataset(20)
    const first = ds.subset(5)
    expect(first.length).toBe(5)
    expect(Array.from(first.getItem(4).x)).toEqual(Array.from(ds.getItem(4).x))
    const a = ds.subset(6, new Generator('pick'))
    const b = ds.subset(6, new Generator('pick'))
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels))
    const picked = Array.from(new Generator('pick').permutation(20).subarray(0, 6)).sort((p, q) => p - q)
    picked.forEach((i, j) => expect(Array.from(a.getItem(j).x)).toEqual(Array.from(ds.getItem(i).x)))
    expect(() => ds.subset(21)).toThrow(/subset: n must be an integer in \[0, 20\]/)
  })
})

describe('transforms', () => {
  // One channel, 2x3: [[1, 2, 3], [4, 5, 6]]
  const img = Float32Array.from([1, 2, 3, 4, 5, 6])

  it('randomCrop zero-pads and crops at the drawn offset', () => {
    const t = randomCrop(2, 1)
    expect(t.outputShape([1, 2, 3])).toEqual([1, 2, 2])
    const out = new Float32Array(4)
    // Offsets are drawn in the padded image: (0, 0) is the top-left corner of the padding.
    t.apply(img, out, [1, 2, 3], scripted([0, 0]))
    expect(Array.from(out)).toEqual([0, 0, 0, 1])
    t.apply(img, out, [1, 2, 3], scripted([1, 2]))
    expect(Array.from(out)).toEqual([2, 3, 5, 6])
    t.apply(img, out, [1, 2, 3], scripted([2, 3]))
    expect(Array.from(out)).toEqual([6, 0, 0, 0])
  })

  it('randomCrop draws row then column offsets uniformly from the generator', () => {
    const shape = [2, 4, 4]
    const src = Float32Array.from({ length: 32 }, (_, k) => k + 1)
    const out = new Float32Array(32)
    randomCrop(4, 2).apply(src, out, shape, new Generator(7))
    const g = new Generator(7)
    const dy = g.int(5) - 2
    const dx = g.int(5) - 2
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) {
          const sy = y + dy
          const sx = x + dx
          const want = sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? src[c * 16 + sy * 4 + sx] : 0
          expect(out[c * 16 + y * 4 + x]).toBe(want)
        }
  })

  it('randomHorizontalFlip mirrors each row of each channel when the draw is below p', () => {
    const two = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    const out = new Float32Array(12)
    randomHorizontalFlip(0.5).apply(two, out, [2, 2, 3], scripted([], [0.49]))
    expect(Array.from(out)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10])
    randomHorizontalFlip(0.5).apply(two, out, [2, 2, 3], scripted([], [0.5]))
    expect(Array.from(out)).toEqual(Array.from(two))
  })

  it('normalize uses per-channel mean and std', () => {
    const out = new Float32Array(4)
    normalize([1, 10], [2, 5]).apply(Float32Array.from([1, 3, 10, 20]), out, [2, 1, 2], new Generator(0))
    expect(Array.from(out)).toEqual([0, 1, 0, 2])
    expect(() => normalize([0], [0])).toThrow(/std must be > 0/)
    expect(() => normalize([0, 0], [1, 1]).outputShape([3, 2, 2])).toThrow(/3 channels, but mean\/std have 2/)
  })
})

describe('DataLoader', () => {
  it('yields float32 [B, C, H, W] and int32 [B] batches; dropLast drops the short one', () => {
    const ds = toyDataset(10)
    const keep = all(new DataLoader(ds, { batchSize: 4 }).epochBatches(0))
    expect(keep.map((b) => b.x.shape)).toEqual([[4, 1, 2, 3], [4, 1, 2, 3], [2, 1, 2, 3]])
    expect(keep.map((b) => b.index)).toEqual([0, 1, 2])
    expect(keep[0]!.x.dtype).toBe('float32')
    expect(keep[0]!.y.dtype).toBe('int32')
    expect(Array.from(keep[2]!.y.data)).toEqual([8, 9])
    expect(Array.from(keep[1]!.x.data.subarray(6, 12))).toEqual(Array.from(ds.getItem(5).x))
    const drop = new DataLoader(ds, { batchSize: 4, dropLast: true })
    expect(drop.numBatches()).toBe(2)
    expect(all(drop.epochBatches(0)).map((b) => b.x.shape[0])).toEqual([4, 4])
    expect(new DataLoader(ds, { batchSize: 5 }).numBatches()).toBe(2)
  })

  it('visits every index exactly once per epoch when shuffling', () => {
    const loader = new DataLoader(toyDataset(23), { batchSize: 5, shuffle: true, seed: 3 })
    for (const epoch of [0, 1]) {
      const batches = all(loader.epochBatches(epoch))
      for (const b of batches) expect(Array.from(b.y.data)).toEqual(Array.from(b.indices, (i) => i % 10))
      const seen = batches.flatMap((b) => Array.from(b.indices))
      expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i))
    }
  })

  it('orders an epoch by (seed, epoch) only, whatever the global generator did', () => {
    const ds = toyDataset(50)
    const order = (seed: number, epoch: number) => Array.from(new DataLoader(ds, { batchSize: 8, shuffle: true, seed }).epochOrder(epoch))
    const first = order(1, 0)
    manualSeed(12345).normal() // model init uses its own generator: no effect on the data order
    expect(order(1, 0)).toEqual(first)
    expect(order(1, 1)).not.toEqual(first)
    expect(order(2, 0)).not.toEqual(first)
    expect(first).toEqual(Array.from(new Generator('1/epoch/0').permutation(50)))
    expect(Array.from(new DataLoader(ds, { batchSize: 8 }).epochOrder(4))).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('resuming at startBatch gives exactly the tail of an uninterrupted epoch, augmentation included', () => {
    const ds = toyDataset(30, [2, 4, 4])
    const opts = { batchSize: 4, shuffle: true, seed: 'run', transforms: [randomCrop(4, 1), randomHorizontalFlip(), normalize([0.5, 0.5], [0.25, 0.25])] }
    const full = all(new DataLoader(ds, opts).epochBatches(2))
    const resumed = all(new DataLoader(ds, opts).epochBatches(2, 3))
    expect(resumed.map((b) => b.index)).toEqual([3, 4, 5, 6, 7])
    resumed.forEach((b, j) => {
      const ref = full[j + 3]!
      expect(b.x.shape).toEqual(ref.x.shape)
      expect(Array.from(b.x.data)).toEqual(Array.from(ref.x.data))
      expect(Array.from(b.y.data)).toEqual(Array.from(ref.y.data))
    })
    expect(all(new DataLoader(ds, opts).epochBatches(2, 8))).toEqual([])
    expect(() => all(new DataLoader(ds, opts).epochBatches(2, 9))).toThrow(/startBatch must be an integer in \[0, 8\], got 9/)
  })

  it('augments deterministically per seed, differently across seeds and epochs', () => {
    const ds = toyDataset(16, [1, 4, 4])
    const xs = (seed: number, epoch: number) => {
      const loader = new DataLoader(ds, { batchSize: 16, seed, transforms: [randomCrop(4, 2), randomHorizontalFlip()] })
      return Array.from(all(loader.epochBatches(epoch))[0]!.x.data)
    }
    expect(xs(0, 0)).toEqual(xs(0, 0))
    expect(xs(0, 0)).not.toEqual(xs(1, 0))
    expect(xs(0, 0)).not.toEqual(xs(0, 1))
  })

  it('hands out tensors that own their data', () => {
    const [a, b] = all(new DataLoader(toyDataset(8), { batchSize: 4, transforms: [randomHorizontalFlip()] }).epochBatches(0))
    expect(a!.x.data.buffer).not.toBe(b!.x.data.buffer)
    const copy = Array.from(a!.x.data)
    all(new DataLoader(toyDataset(8), { batchSize: 4 }).epochBatches(1))
    expect(Array.from(a!.x.data)).toEqual(copy)
  })

  it('works with any Dataset that only has getItem, and changes the sample shape through transforms', () => {
    const plain: Dataset = {
      length: 3,
      shape: [1, 3, 3],
      numClasses: 3,
      getItem: (i) => ({ x: Float32Array.from({ length: 9 }, (_, k) => i * 10 + k), y: i }),
    }
    const loader = new DataLoader(plain, { batchSize: 3, transforms: [randomCrop(2, 0)] })
    expect(loader.sampleShape).toEqual([1, 2, 2])
    const [batch] = all(loader.epochBatches(0))
    expect(batch!.x.shape).toEqual([3, 1, 2, 2])
    expect(Array.from(batch!.y.data)).toEqual([0, 1, 2])
    expect(() => new DataLoader(plain, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/)
  })
})
