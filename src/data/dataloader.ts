// Mini-batches from a Dataset. The order of an epoch depends only on (seed, epoch), and the
// augmentation of batch b only on (seed, epoch, b), so any batch can be rebuilt from its
// coordinates alone: resuming at batch b of epoch e yields exactly what an uninterrupted run
// would have yielded, and model-init seeds never change the data order.
import { Generator } from '../tensor/generator.js'
import { Tensor } from '../tensor/tensor.js'
import type { Dataset } from './dataset.js'
import type { ImageTransform } from './transforms.js'

/** Options of DataLoader; the order depends only on (seed, epoch), so runs are reproducible. */
export interface DataLoaderOptions {
  batchSize: number
  /** Reshuffle every epoch with a permutation keyed on (seed, epoch); default false (dataset order). */
  shuffle?: boolean
  /** Drop the last batch if it has fewer than batchSize samples; default false. */
  dropLast?: boolean
  /** Seed of the data order and augmentation; default 0. */
  seed?: number | string
  /** Applied in order to every sample after it is read from the dataset. */
  transforms?: ImageTransform[]
}

/**
 * One mini-batch; the tensors own their arrays (nothing is reused by the loader). It reads as an
 * object (`{ x, y }`) and, like PyTorch's `(x, y)` tuple, destructures as `[x, y]`.
 */
export interface Batch extends Iterable<Tensor> {
  /** float32 [B, C, H, W] */
  x: Tensor
  /** int32 [B] class indices */
  y: Tensor
  /** Position of this batch within its epoch, 0-based. */
  index: number
  /** The dataset indices of the samples, in batch order. */
  indices: Int32Array
}

/**
 * Batches a dataset, with seeded shuffling and augmentation. Iterating the loader itself runs
 * one epoch, as in PyTorch: each pass is the next epoch (0, 1, 2, ...), so a shuffled order
 * changes from pass to pass yet is the same in every run with the same seed; `setEpoch(e)` picks
 * the epoch of the next pass (PyTorch's `sampler.set_epoch`). `epochBatches(e, b)` reads any
 * epoch from any batch without touching that count.
 * @example for (const [x, y] of new DataLoader(train, { batchSize: 32, shuffle: true, seed: 0 })) step(x, y)
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset
  readonly batchSize: number
  readonly shuffle: boolean
  readonly dropLast: boolean
  readonly seed: number | string
  readonly transforms: readonly ImageTransform[]
  /** Per-sample shape after the transforms. */
  readonly sampleShape: number[]
  private readonly shapes: number[][]
  // Scratch images for the transform chain; only used inside one synchronous batch build.
  private readonly scratch: [Float32Array, Float32Array]
  private epochOfNextPass = 0

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    if (typeof dataset !== 'object' || dataset === null || !Number.isInteger(dataset.length) || !Array.isArray(dataset.shape) || typeof dataset.getItem !== 'function') {
      throw new Error('DataLoader: the first argument must be a Dataset (length, shape and getItem(i); e.g. TensorDataset or mnist())')
    }
    if (typeof options !== 'object' || options === null) throw new Error(`DataLoader: options must be an object like { batchSize: 32 }, got ${String(options)}`)
    const { batchSize } = options
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`)
    const seed = options.seed ?? 0
    if (typeof seed !== 'string' && !Number.isFinite(seed)) throw new Error(`DataLoader: seed must be a finite number or a string, got ${seed}`)
    this.dataset = dataset
    this.batchSize = batchSize
    this.shuffle = options.shuffle ?? false
    this.dropLast = options.dropLast ?? false
    this.seed = seed
    this.transforms = [...(options.transforms ?? [])]
    this.shapes = [[...dataset.shape]]
    for (const t of this.transforms) this.shapes.push(t.outputShape(this.shapes[this.shapes.length - 1]!))
    this.sampleShape = this.shapes[this.shapes.length - 1]!
    const largest = Math.max(...this.shapes.map(size))
    this.scratch = [new Float32Array(largest), new Float32Array(largest)]
  }

  /** Batches per epoch. @example new DataLoader(ds, { batchSize: 32, dropLast: true }).numBatches() // floor(n / 32) */
  numBatches(): number {
    const n = this.dataset.length
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize)
  }

  /** Batches per epoch, PyTorch's `len(loader)`. @example new DataLoader(ds, { batchSize: 32 }).length */
  get length(): number {
    return this.numBatches()
  }

  /** The epoch that the next `for (... of loader)` pass will run (0 for a new loader). */
  get nextEpoch(): number {
    return this.epochOfNextPass
  }

  /** Make the next pass over the loader epoch `epoch` (PyTorch's `sampler.set_epoch`), e.g. after resuming. @example loader.setEpoch(3) */
  setEpoch(epoch: number): void {
    checkEpoch(epoch)
    this.epochOfNextPass = epoch
  }

  /** One epoch's batches; every pass advances the epoch. @example for (const [x, y] of loader) step(x, y) */
  [Symbol.iterator](): IterableIterator<Batch> {
    const epoch = this.epochOfNextPass
    this.epochOfNextPass = epoch + 1
    return this.epochBatches(epoch)
  }

  /**
   * The sample order of an epoch: `new Generator(`${seed}/epoch/${epoch}`).permutation(n)`
   * when shuffling, else 0..n-1.
   * @example loader.epochOrder(3)
   */
  epochOrder(epoch: number): Int32Array {
    checkEpoch(epoch)
    const n = this.dataset.length
    if (this.shuffle) return new Generator(`${this.seed}/epoch/${epoch}`).permutation(n)
    const order = new Int32Array(n)
    for (let i = 0; i < n; i++) order[i] = i
    return order
  }

  /**
   * The batches of one epoch, from batch `startBatch` (default 0) to the end. Batch b's
   * augmentation uses `new Generator(`${seed}/augment/${epoch}/${b}`)`, drawn sample by sample
   * in batch order.
   * @example for (const batch of loader.epochBatches(epoch, cursor)) train(batch)
   */
  *epochBatches(epoch: number, startBatch = 0): IterableIterator<Batch> {
    const order = this.epochOrder(epoch)
    const count = this.numBatches()
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > count) {
      throw new Error(`DataLoader.epochBatches: startBatch must be an integer in [0, ${count}], got ${startBatch}`)
    }
    for (let b = startBatch; b < count; b++) {
      const start = b * this.batchSize
      yield this.buildBatch(epoch, b, order.slice(start, Math.min(start + this.batchSize, order.length)))
    }
  }

  /** Assemble one batch from explicit dataset indices (batch index b keys the augmentation). */
  private buildBatch(epoch: number, b: number, indices: Int32Array): Batch {
    const bsz = indices.length
    const outSize = size(this.sampleShape)
    const x = new Float32Array(bsz * outSize)
    const y = new Int32Array(bsz)
    const rng = this.transforms.length > 0 ? new Generator(`${this.seed}/augment/${epoch}/${b}`) : null
    for (let j = 0; j < bsz; j++) {
      const i = indices[j]!
      const dst = x.subarray(j * outSize, (j + 1) * outSize)
      if (!rng) {
        y[j] = this.read(i, x, j * outSize)
        continue
      }
      // Ping-pong through the scratch buffers; the last transform writes into the batch.
      let src = this.scratch[0]
      y[j] = this.read(i, src, 0)
      for (let t = 0; t < this.transforms.length; t++) {
        const last = t === this.transforms.length - 1
        const out = last ? dst : this.scratch[(t + 1) % 2]!
        this.transforms[t]!.apply(src, out, this.shapes[t]!, rng)
        src = out
      }
    }
    const xs = new Tensor(x, [bsz, ...this.sampleShape])
    const ys = new Tensor(y, [bsz])
    return {
      x: xs,
      y: ys,
      index: b,
      indices,
      *[Symbol.iterator]() {
        yield xs
        yield ys
      },
    }
  }

  private read(i: number, out: Float32Array, offset: number): number {
    const ds = this.dataset
    if (ds.readInto) return ds.readInto(i, out, offset)
    const { x, y } = ds.getItem(i)
    const n = size(ds.shape)
    if (x.length !== n) throw new Error(`DataLoader: getItem(${i}) returned ${x.length} values, dataset shape [${ds.shape.join(',')}] needs ${n}`)
    out.set(x, offset)
    return y
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`DataLoader: epoch must be an integer >= 0, got ${epoch}`)
}
