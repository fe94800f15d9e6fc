// Datasets of labelled images. An ImageDataset keeps the raw uint8 pixels of all samples in
// one contiguous buffer [N, C, H, W] and int labels [N]; a sample becomes float only when it
// is read: x = p / 255 in [0, 1], then optionally (x - mean[c]) / std[c].
import type { Generator } from '../tensor/generator.js'

/** One sample: its pixels [C, H, W] as floats and its class index. */
export interface Sample {
  x: Float32Array
  y: number
}

/** A random-access collection of labelled samples of one fixed shape. */
export interface Dataset {
  readonly length: number
  /** Per-sample shape, e.g. [1, 28, 28] for MNIST (the batch dimension is not included). */
  readonly shape: number[]
  readonly numClasses: number
  /** Sample i as float32 pixels and its label. */
  getItem(i: number): Sample
  /** Optional fast path used by DataLoader: write sample i into `out` at `offset`, return its label. */
  readInto?(i: number, out: Float32Array, offset: number): number
}

/** Per-channel mean and standard deviation, in units of [0, 1] pixels. */
export interface ChannelStats {
  mean: number[]
  std: number[]
}

/** What an ImageDataset is built from: uint8 pixels, labels and the sample shape. */
export interface ImageDatasetInit {
  /** All pixels, [N, C, H, W] row-major. */
  pixels: Uint8Array
  /** Class index per sample, [N]. */
  labels: Int32Array
  /** Per-sample [C, H, W]. */
  shape: number[]
  numClasses: number
  /** For messages and reports, e.g. 'mnist/train'. */
  name?: string
  /** Standardise with these statistics in getItem/readInto; null or absent: plain [0, 1]. */
  normalization?: ChannelStats | null
}

/**
 * Images stored as uint8, read as float32.
 * @example const ds = new ImageDataset({ pixels, labels, shape: [1, 28, 28], numClasses: 10 }); ds.getItem(0).y
 */
export class ImageDataset implements Dataset {
  readonly pixels: Uint8Array
  readonly labels: Int32Array
  readonly shape: number[]
  readonly numClasses: number
  readonly name: string
  readonly normalization: ChannelStats | null
  readonly length: number
  private readonly sampleSize: number
  private readonly planeSize: number
  // lut[c * 256 + p] is the float value of pixel value p in channel c, so reading a sample is
  // one table look-up per pixel and gives bit-identical values however it is read.
  private readonly lut: Float32Array
  private stats: ChannelStats | null = null

  constructor(init: ImageDatasetInit) {
    const { pixels, labels, shape, numClasses } = init
    this.name = init.name ?? 'images'
    if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new Error(`ImageDataset(${this.name}): shape must be [C, H, W] of positive integers, got [${shape.join(',')}]`)
    }
    this.sampleSize = shape[0]! * shape[1]! * shape[2]!
    this.planeSize = shape[1]! * shape[2]!
    if (pixels.length !== labels.length * this.sampleSize) {
      throw new Error(
        `ImageDataset(${this.name}): ${labels.length} labels of shape [${shape.join(',')}] need ${labels.length * this.sampleSize} pixels, got ${pixels.length}`,
      )
    }
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!
      if (!(y >= 0 && y < numClasses)) throw new Error(`ImageDataset(${this.name}): label ${y} of sample ${i} is outside [0, ${numClasses})`)
    }
    const norm = init.normalization ?? null
    if (norm && (norm.mean.length !== shape[0] || norm.std.length !== shape[0] || norm.std.some((s) => !(s > 0)))) {
      throw new Error(
        `ImageDataset(${this.name}): normalization needs ${shape[0]} means and ${shape[0]} positive stds, got mean [${norm.mean}] std [${norm.std}]`,
      )
    }
    this.pixels = pixels
    this.labels = labels
    this.shape = [...shape]
    this.numClasses = numClasses
    this.length = labels.length
    this.normalization = norm ? { mean: [...norm.mean], std: [...norm.std] } : null
    this.lut = new Float32Array(shape[0]! * 256)
    for (let c = 0; c < shape[0]!; c++) {
      for (let p = 0; p < 256; p++) {
        const x = p / 255
        this.lut[c * 256 + p] = norm ? (x - norm.mean[c]!) / norm.std[c]! : x
      }
    }
  }

  /** Sample i as floats (a fresh array). @example ds.getItem(0).x.length // 784 for MNIST */
  getItem(i: number): Sample {
    const x = new Float32Array(this.sampleSize)
    const y = this.readInto(i, x, 0)
    return { x, y }
  }

  /** Write sample i's floats into `out` at `offset`; returns its label. @example ds.readInto(3, batch, 3 * 784) */
  readInto(i: number, out: Float32Array, offset: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new Error(`ImageDataset(${this.name}).getItem: index ${i} out of range [0, ${this.length})`)
    }
    const { pixels, lut, planeSize } = this
    const channels = this.shape[0]!
    let k = i * this.sampleSize
    for (let c = 0; c < channels; c++) {
      const table = channels === 1 ? lut : lut.subarray(c * 256, (c + 1) * 256)
      for (let end = k + planeSize; k < end; k++) out[offset++] = table[pixels[k]!]!
    }
    return this.labels[i]!
  }

  /**
   * The first n samples, or, given `rng`, n samples drawn without replacement: the first n
   * entries of `rng.permutation(length)`, kept in dataset order. The first-n subset shares
   * this dataset's pixel buffer; a random subset copies its samples into a new contiguous one.
   * Normalisation settings carry over unchanged (they are not recomputed on the subset).
   * @example mnist.subset(1000, new Generator('subset/0'))
   */
  subset(n: number, rng?: Generator): ImageDataset {
    if (!Number.isInteger(n) || n < 0 || n > this.length) {
      throw new Error(`ImageDataset(${this.name}).subset: n must be an integer in [0, ${this.length}], got ${n}`)
    }
    const name = `${this.name}[${rng ? 'random ' : ''}${n}]`
    if (!rng) {
      return this.derive({ pixels: this.pixels.subarray(0, n * this.sampleSize), labels: this.labels.subarray(0, n), name })
    }
    const picked = rng.permutation(this.length).subarray(0, n).sort()
    const pixels = new Uint8Array(n * this.sampleSize)
    const labels = new Int32Array(n)
    for (let j = 0; j < n; j++) {
      const i = picked[j]!
      pixels.set(this.pixels.subarray(i * this.sampleSize, (i + 1) * this.sampleSize), j * this.sampleSize)
      labels[j] = this.labels[i]!
    }
    return this.derive({ pixels, labels, name })
  }

  /**
   * Per-channel mean and population standard deviation of the pixels in [0, 1] units
   * (computed once, exactly, from a 256-bin histogram per channel).
   * @example mnist.channelStats() // { mean: [0.1307], std: [0.3081] }
   */
  channelStats(): ChannelStats {
    if (this.stats) return { mean: [...this.stats.mean], std: [...this.stats.std] }
    if (this.length === 0) throw new Error(`ImageDataset(${this.name}).channelStats: the dataset is empty`)
    const c = this.shape[0]!
    // NOTE: uint32 counts are exact up to 4.29e9 pixels per channel (MNIST has 4.7e7).
    const hist = new Uint32Array(c * 256)
    const { pixels, planeSize, sampleSize } = this
    for (let ch = 0; ch < c; ch++) {
      const h = hist.subarray(ch * 256, (ch + 1) * 256)
      for (let start = ch * planeSize; start < pixels.length; start += sampleSize) {
        for (let k = start, end = start + planeSize; k < end; k++) h[pixels[k]!]!++
      }
    }
    const mean: number[] = []
    const std: number[] = []
    const count = this.length * planeSize
    for (let ch = 0; ch < c; ch++) {
      let s = 0
      let s2 = 0
      for (let p = 0; p < 256; p++) {
        const h = hist[ch * 256 + p]!
        s += h * (p / 255)
        s2 += h * (p / 255) ** 2
      }
      const m = s / count
      mean.push(m)
      // NOTE: E[x^2] - m^2 is exact enough here: the sums are of at most 256 distinct terms.
      std.push(Math.sqrt(Math.max(0, s2 / count - m * m)))
    }
    this.stats = { mean, std }
    return { mean: [...mean], std: [...std] }
  }

  /**
   * The same samples read as `(x - mean) / std`, with the given statistics or, by default,
   * this dataset's own `channelStats()`. Use the training set's stats for the test set.
   * The pixel buffer is shared.
   * @example const test = loadMnist({ split: 'test' }).normalized(train.channelStats())
   */
  normalized(stats: ChannelStats = this.channelStats()): ImageDataset {
    return this.derive({ normalization: stats, name: this.name })
  }

  /** The same samples read as plain [0, 1] floats. @example ds.unnormalized() */
  unnormalized(): ImageDataset {
    return this.derive({ normalization: null, name: this.name })
  }

  private derive(over: Partial<ImageDatasetInit>): ImageDataset {
    const ds = new ImageDataset({
      pixels: this.pixels,
      labels: this.labels,
      shape: this.shape,
      numClasses: this.numClasses,
      name: this.name,
      normalization: this.normalization,
      ...over,
    })
    // Same pixels: keep the cached statistics.
    if (ds.pixels === this.pixels && this.stats) ds.stats = this.stats
    return ds
  }
}
