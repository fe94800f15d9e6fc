// Per-image transforms for data augmentation and normalisation.
// Each maps one image [C, H, W] (a Float32Array, channel-major, row-major within a channel)
// into a separate output buffer. Randomness comes only from the Generator passed in, and
// each transform draws the same number of values whatever it decides, so the stream of
// draws (and hence every later image's augmentation) does not depend on pixel values.
import type { Generator } from '../tensor/generator.js'

/** One image transform: maps `src` of shape `shape` into `dst` of shape `outputShape(shape)`. */
export interface ImageTransform {
  readonly name: string
  /** The [C, H, W] shape this transform produces from an input of shape `shape`. */
  outputShape(shape: readonly number[]): number[]
  /** Write the transformed `src` into `dst` (they must not overlap). */
  apply(src: Float32Array, dst: Float32Array, shape: readonly number[], rng: Generator): void
}

function chw(name: string, shape: readonly number[]): [number, number, number] {
  if (shape.length !== 3) throw new Error(`${name}: expected an image shape [C, H, W], got [${shape.join(',')}]`)
  return shape as [number, number, number]
}

/**
 * Per-channel standardisation: `dst = (src - mean[c]) / std[c]`.
 * @example normalize([0.1307], [0.3081])
 */
export function normalize(mean: readonly number[], std: readonly number[]): ImageTransform {
  if (mean.length !== std.length || mean.length === 0) {
    throw new Error(`normalize: mean and std must be non-empty and of equal length, got ${mean.length} and ${std.length}`)
  }
  if (std.some((s) => !(s > 0))) throw new Error(`normalize: every std must be > 0, got [${std.join(', ')}]`)
  return {
    name: 'normalize',
    outputShape(shape) {
      const [c] = chw('normalize', shape)
      if (c !== mean.length) throw new Error(`normalize: image has ${c} channels, but mean/std have ${mean.length}`)
      return [...shape]
    },
    apply(src, dst, shape) {
      const [c, h, w] = chw('normalize', shape)
      const plane = h * w
      for (let ch = 0; ch < c; ch++) {
        const m = mean[ch]!
        const s = std[ch]!
        for (let k = ch * plane, end = k + plane; k < end; k++) dst[k] = (src[k]! - m) / s
      }
    },
  }
}

/**
 * Random crop of `size` x `size` from the image zero-padded by `padding` on every side
 * (torchvision's `RandomCrop(size, padding)`). Draws two ints: the row offset, then the column
 * offset, each uniform in [0, H + 2*padding - size].
 * NOTE: the padding is 0 in whatever units the image is in when the crop runs. To pad with
 * black as torchvision does for CIFAR, crop before `normalize` (on [0,1] pixels).
 * @example randomCrop(32, 4)
 */
export function randomCrop(size: number, padding = 0): ImageTransform {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`randomCrop: size must be a positive integer, got ${size}`)
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`randomCrop: padding must be an integer >= 0, got ${padding}`)
  const check = (shape: readonly number[]): [number, number, number] => {
    const [c, h, w] = chw('randomCrop', shape)
    if (h + 2 * padding < size || w + 2 * padding < size) {
      throw new Error(`randomCrop: cannot crop ${size}x${size} from a ${h}x${w} image padded by ${padding}`)
    }
    return [c, h, w]
  }
  return {
    name: 'randomCrop',
    outputShape(shape) {
      const [c] = check(shape)
      return [c, size, size]
    },
    apply(src, dst, shape, rng) {
      const [c, h, w] = check(shape)
      // Top-left corner of the crop in the unpadded image's coordinates (may be negative).
      const y0 = rng.int(h + 2 * padding - size + 1) - padding
      const x0 = rng.int(w + 2 * padding - size + 1) - padding
      for (let ch = 0; ch < c; ch++) {
        for (let y = 0; y < size; y++) {
          const sy = y0 + y
          const rowOut = (ch * size + y) * size
          if (sy < 0 || sy >= h) {
            dst.fill(0, rowOut, rowOut + size)
            continue
          }
          const rowIn = (ch * h + sy) * w
          for (let x = 0; x < size; x++) {
            const sx = x0 + x
            dst[rowOut + x] = sx >= 0 && sx < w ? src[rowIn + sx]! : 0
          }
        }
      }
    },
  }
}

/**
 * Mirror the image left-right with probability `p`. Draws one uniform per image.
 * @example randomHorizontalFlip(0.5)
 */
export function randomHorizontalFlip(p = 0.5): ImageTransform {
  if (!(p >= 0 && p <= 1)) throw new Error(`randomHorizontalFlip: p must be in [0, 1], got ${p}`)
  return {
    name: 'randomHorizontalFlip',
    outputShape(shape) {
      chw('randomHorizontalFlip', shape)
      return [...shape]
    },
    apply(src, dst, shape, rng) {
      const [c, h, w] = chw('randomHorizontalFlip', shape)
      const flip = rng.uniform() < p
      if (!flip) {
        dst.set(src.subarray(0, c * h * w))
        return
      }
      for (let row = 0; row < c * h; row++) {
        const base = row * w
        for (let x = 0; x < w; x++) dst[base + x] = src[base + w - 1 - x]!
      }
    },
  }
}
