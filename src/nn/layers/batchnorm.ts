// Batch normalisation (Ioffe & Szegedy), as torch.nn.BatchNorm1d/2d:
//   y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per channel (dim 1).
// Train mode normalises with the batch mean and the biased batch variance, and updates
//   running = (1 - momentum) * running + momentum * batchStat
// with the UNBIASED batch variance (n / (n - 1)), exactly as PyTorch. Eval mode uses the running stats.
// State-dict names are PyTorch's (running_mean, running_var, num_batches_tracked) so checkpoints
// interoperate; num_batches_tracked is an int32 scalar in memory, written to safetensors as I64,
// PyTorch's int64 (src/nn/checkpoint.ts), and read back from I64 or I32.
import type { Tensor } from '../../tensor/tensor.js'
import { full, zeros } from '../../tensor/creation.js'
import { noGrad } from '../../autograd/no-grad.js'
import { deviceCopyOf } from '../../tensor/device-copy.js'
import { Module, expectNdim } from '../module.js'
import type { LayerOptions } from './linear.js'

/** Options of BatchNorm1d/BatchNorm2d, named and defaulted as in torch.nn. */
export interface BatchNormOptions extends Pick<LayerOptions, 'dtype'> {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number
  /** Weight of the new batch in the running stats (default 0.1); null = cumulative average over all batches. */
  momentum?: number | null
  /** Learn a per-channel weight (init 1) and bias (init 0) (default true). */
  affine?: boolean
  /** Keep running stats for eval mode (default true); when false, batch stats are used in eval too. */
  trackRunningStats?: boolean
}

/** Shared implementation; `ndims` lists the input ranks allowed (channels are always dim 1). */
abstract class BatchNorm extends Module {
  readonly eps: number
  readonly momentum: number | null
  readonly affine: boolean
  readonly trackRunningStats: boolean
  readonly weight: Tensor | null
  readonly bias: Tensor | null
  readonly runningMean: Tensor | null
  readonly runningVar: Tensor | null
  readonly numBatchesTracked: Tensor | null
  protected abstract readonly ndims: number[]

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super()
    const dtype = options.dtype ?? 'float32'
    this.eps = options.eps ?? 1e-5
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum
    this.affine = options.affine ?? true
    this.trackRunningStats = options.trackRunningStats ?? true
    this.weight = this.registerParameter('weight', this.affine ? full([numFeatures], 1, { dtype }) : null)
    this.bias = this.registerParameter('bias', this.affine ? zeros([numFeatures], { dtype }) : null)
    const track = this.trackRunningStats
    this.runningMean = this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null)
    this.runningVar = this.registerBuffer('running_var', track ? full([numFeatures], 1, { dtype }) : null)
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int32' }) : null)
  }

  override forward(x: Tensor): Tensor {
    const name = this.constructor.name
    expectNdim(name, x, this.ndims)
    const c = this.numFeatures
    if (x.shape[1] !== c) throw new Error(`${name}: expected ${c} channels in dim 1, got shape [${x.shape.join(',')}]`)
    const dims = x.ndim === 2 ? [0] : [0, ...x.shape.slice(2).map((_, i) => i + 2)]
    // [1, C, 1, ...] so per-channel vectors broadcast against x
    const bshape = x.shape.map((s, i) => (i === 1 ? s : 1))
    // NOTE: eps inside the sqrt, as PyTorch, so a constant channel gives 0 rather than NaN.
    // Per-channel scale = weight / sqrt(var + eps) is folded first so only two full-size ops
    // (multiply, add) follow the statistics: BatchNorm is a large share of a CIFAR network's time.
    const affine = (invStd: Tensor): Tensor => (this.weight ? invStd.mul(this.weight.reshape(bshape)) : invStd)
    if (this.training || !this.runningMean || !this.runningVar) {
      const mean = x.mean(dims, true)
      const centered = x.sub(mean)
      const variance = centered.square().mean(dims, true)
      if (this.training && this.runningMean) this.updateRunningStats(mean, variance, x.numel() / c)
      const y = centered.mul(affine(variance.add(this.eps).sqrt().reciprocal()))
      return this.bias ? y.add(this.bias.reshape(bshape)) : y
    }
    const scale = affine(this.runningVar.reshape(bshape).add(this.eps).sqrt().reciprocal())
    let shift = this.runningMean.reshape(bshape).mul(scale).neg()
    if (this.bias) shift = shift.add(this.bias.reshape(bshape))
    return x.mul(scale).add(shift)
  }

  // Under noGrad: the running stats never enter the graph. NOTE: on the host the update is a loop
  // in float64 rounded once, as PyTorch's CPU kernel; where the statistics live on a device
  // (gpujs) it runs there as float32 ops written back with copy_(), so that nothing is read back.
  private updateRunningStats(mean: Tensor, biasedVar: Tensor, n: number): void {
    if (n <= 1) throw new Error(`${this.constructor.name}: expected more than 1 value per channel when training, got ${n}`)
    noGrad(() => {
      const nbt = this.numBatchesTracked!
      nbt.data[0] = nbt.data[0]! + 1
      const m = this.momentum === null ? 1 / nbt.data[0]! : this.momentum
      if (deviceCopyOf(mean.buffer(this.constructor.name)) !== undefined) {
        const c = [this.numFeatures]
        this.runningMean!.copy_(this.runningMean!.mul(1 - m).add(mean.reshape(c).mul(m)))
        this.runningVar!.copy_(this.runningVar!.mul(1 - m).add(biasedVar.reshape(c).mul(m * (n / (n - 1)))))
        return
      }
      const rm = this.runningMean!.data
      const rv = this.runningVar!.data
      for (let i = 0; i < this.numFeatures; i++) {
        rm[i] = (1 - m) * rm[i]! + m * mean.data[i]!
        rv[i] = (1 - m) * rv[i]! + m * biasedVar.data[i]! * (n / (n - 1))
      }
    })
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`
  }
}

/** Batch norm over [batch, features] or [batch, features, length]. @example new BatchNorm1d(256) */
export class BatchNorm1d extends BatchNorm {
  protected readonly ndims = [2, 3]
}

/** Batch norm over [batch, channels, height, width]. @example new BatchNorm2d(64) */
export class BatchNorm2d extends BatchNorm {
  protected readonly ndims = [4]
}
