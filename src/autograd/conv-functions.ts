// Convolution and pooling functions (NCHW), the recorded ops behind nn.Conv2d and friends.
import type { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'
import { apply } from './op.js'
import { assertFloat, assertNdim, assertPositiveInt } from './checks.js'
import * as ops from './ops/index.js'

/** A size for both spatial dims: one number, or [height, width]. */
export type Size2 = number | [number, number]

function pair(op: string, what: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = Array.isArray(v) ? [v[0], v[1]] : [v, v]
  p.forEach((x) => assertPositiveInt(op, what, x, min))
  return p
}

/** Options of F.conv2d. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: Size2
  /** Zeros added on each side (default 0). */
  padding?: Size2
}

/**
 * 2-D convolution: x [N, Cin, H, W], weight [Cout, Cin, KH, KW], bias [Cout] or null.
 * @example conv2d(x, w, b, { stride: 1, padding: 1 })
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  assertFloat('conv2d', x, weight)
  assertNdim('conv2d', 'input', x, 4)
  assertNdim('conv2d', 'weight', weight, 4)
  if (x.dtype !== weight.dtype) throw new Error(`conv2d: input is ${x.dtype} but weight is ${weight.dtype}`)
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0] || bias.dtype !== x.dtype)) {
    throw new Error(`conv2d: bias must be ${x.dtype} of shape [${weight.shape[0]}], got ${bias.dtype} ${formatShape(bias.shape)}`)
  }
  const stride = pair('conv2d', 'stride', options.stride ?? 1, 1)
  const padding = pair('conv2d', 'padding', options.padding ?? 0, 0)
  return apply(ops.conv2d, bias ? [x, weight, bias] : [x, weight], { stride, padding })
}

/** Options of F.maxPool2d / F.avgPool2d. */
export interface Pool2dOptions {
  /** Step between windows (default: the kernel size). */
  stride?: Size2
  /** Padding on each side (default 0); avgPool2d counts it in the divisor. */
  padding?: Size2
}

function poolAttrs(op: string, kernelSize: Size2, options: Pool2dOptions) {
  const kernel = pair(op, 'kernelSize', kernelSize, 1)
  return { kernelSize: kernel, stride: pair(op, 'stride', options.stride ?? kernel, 1), padding: pair(op, 'padding', options.padding ?? 0, 0) }
}

/** Max over windows; stride defaults to the kernel size. @example maxPool2d(x, 2) */
export function maxPool2d(x: Tensor, kernelSize: Size2, options: Pool2dOptions | Size2 = {}): Tensor {
  assertFloat('maxPool2d', x)
  const o = typeof options === 'object' && !Array.isArray(options) ? options : { stride: options }
  return apply(ops.maxPool2d, [x], poolAttrs('maxPool2d', kernelSize, o))
}

/** Mean over windows (padding counts in the divisor, as PyTorch's default). @example avgPool2d(x, 2) */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: Pool2dOptions | Size2 = {}): Tensor {
  assertFloat('avgPool2d', x)
  const o = typeof options === 'object' && !Array.isArray(options) ? options : { stride: options }
  return apply(ops.avgPool2d, [x], poolAttrs('avgPool2d', kernelSize, o))
}

/** Mean over adaptive windows giving exactly outputSize. @example adaptiveAvgPool2d(x, 1) // global average pool */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor {
  assertFloat('adaptiveAvgPool2d', x)
  assertNdim('adaptiveAvgPool2d', 'input', x, 4)
  return apply(ops.adaptiveAvgPool2d, [x], { outputSize: pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1) })
}
