// Conv2d: y[n, o] = b[o] + sum_c W[o, c] (*) x[n, c] (cross-correlation), NCHW,
// W [outChannels, inChannels, kh, kw]. Initialised as PyTorch (bound 1/sqrt(inChannels*kh*kw)).
import type { Tensor } from '../../tensor/tensor.js'
import { zeros } from '../../tensor/creation.js'
import { conv2d } from '../functional.js'
import { defaultLayerInit } from '../init.js'
import { Module, expectNdim, expectSizes } from '../module.js'
import type { LayerOptions } from './linear.js'

/** A size for both spatial dims: one number, or [height, width]. */
export type Size2 = number | [number, number]

/** Options of the Conv2d layer. */
export interface Conv2dOptions extends LayerOptions {
  stride?: Size2
  /** Zero padding on each side. */
  padding?: Size2
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean
}

const pair = (v: Size2): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v])

/**
 * 2-D convolution over [batch, channels, height, width].
 * @example const conv = new Conv2d(3, 64, 3, { padding: 1, bias: false })
 */
export class Conv2d extends Module {
  readonly weight: Tensor
  readonly bias: Tensor | null
  readonly kernelSize: [number, number]
  readonly stride: [number, number]
  readonly padding: [number, number]

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dOptions = {},
  ) {
    super()
    expectSizes('Conv2d', 'inChannels', inChannels, 1)
    expectSizes('Conv2d', 'outChannels', outChannels, 1)
    expectSizes('Conv2d', 'kernelSize', kernelSize, 1)
    expectSizes('Conv2d', 'stride', options.stride ?? 1, 1)
    expectSizes('Conv2d', 'padding', options.padding ?? 0, 0)
    const dtype = options.dtype ?? 'float32'
    this.kernelSize = pair(kernelSize)
    this.stride = pair(options.stride ?? 1)
    this.padding = pair(options.padding ?? 0)
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels, ...this.kernelSize], { dtype }))
    this.bias = this.registerParameter('bias', options.bias ?? true ? zeros([outChannels], { dtype }) : null)
    defaultLayerInit(this.weight, this.bias, options.generator)
  }

  override forward(x: Tensor): Tensor {
    expectNdim('Conv2d', x, 4)
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding })
  }

  override extraRepr(): string {
    const k = this.kernelSize
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=[${k.join(', ')}], stride=[${this.stride.join(', ')}]`
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=[${this.padding.join(', ')}]`
    return this.bias ? s : `${s}, bias=false`
  }
}
