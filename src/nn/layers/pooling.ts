// Pooling layers (NCHW), thin wrappers of F.maxPool2d / F.avgPool2d / F.adaptiveAvgPool2d.
// As in PyTorch, the stride defaults to the kernel size (non-overlapping windows).
import type { Tensor } from '../../tensor/tensor.js'
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../functional.js'
import { Module, expectSizes } from '../module.js'
import type { Size2 } from './conv.js'

const show = (v: Size2): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v))

// MaxPool2d and AvgPool2d differ only in the function they apply to each window.
abstract class Pool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly stride: Size2 = kernelSize,
    readonly padding: Size2 = 0,
  ) {
    super()
    expectSizes(this.constructor.name, 'kernelSize', kernelSize, 1)
    expectSizes(this.constructor.name, 'stride', stride, 1)
    expectSizes(this.constructor.name, 'padding', padding, 0)
  }
  /** The function applied to each window (F.maxPool2d or F.avgPool2d). */
  protected abstract pool: typeof maxPool2d
  override forward(x: Tensor): Tensor {
    return this.pool(x, this.kernelSize, { stride: this.stride, padding: this.padding })
  }
  override extraRepr(): string {
    return `kernelSize=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)}`
  }
}

/** Max over kernelSize windows. @example new MaxPool2d(2) // halves height and width */
export class MaxPool2d extends Pool2d {
  /** F.maxPool2d */
  protected pool = maxPool2d
}

/** Mean over kernelSize windows (zero padding counts in the divisor). @example new AvgPool2d(2) */
export class AvgPool2d extends Pool2d {
  /** F.avgPool2d */
  protected pool = avgPool2d
}

/** Mean over adaptive windows so the output is exactly outputSize. @example new AdaptiveAvgPool2d(1) // global average pool */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Size2) {
    super()
    expectSizes('AdaptiveAvgPool2d', 'outputSize', outputSize, 1)
  }
  override forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize)
  }
  override extraRepr(): string {
    return `outputSize=${show(this.outputSize)}`
  }
}
