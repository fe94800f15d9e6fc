// Window geometry shared by maxPool2d and avgPool2d, with the checks PyTorch makes.
import type { Tensor } from '../../tensor/tensor.js'
import { formatShape } from '../../tensor/shape.js'
import type { Pool2dGeometry } from '../../tensor/backends/backend.js'

export interface Pool2dAttrs {
  kernelSize: [number, number]
  stride: [number, number]
  padding: [number, number]
}

export function pool2dGeometry(op: string, x: Tensor, { kernelSize, stride, padding }: Pool2dAttrs): Pool2dGeometry {
  if (x.ndim !== 4) throw new Error(`${op}: expected a 4-D input [batch, channels, height, width], got ${formatShape(x.shape)}`)
  const [batch, channels, inHeight, inWidth] = x.shape as [number, number, number, number]
  const [kernelHeight, kernelWidth] = kernelSize
  const [padH, padW] = padding
  if (padH > kernelHeight / 2 || padW > kernelWidth / 2) {
    throw new Error(`${op}: padding ${padH},${padW} must be at most half the kernel size ${kernelHeight}x${kernelWidth}`)
  }
  if (kernelHeight > inHeight + 2 * padH || kernelWidth > inWidth + 2 * padW) {
    throw new Error(`${op}: kernel ${kernelHeight}x${kernelWidth} is larger than the padded input ${inHeight + 2 * padH}x${inWidth + 2 * padW} (input ${formatShape(x.shape)})`)
  }
  const outHeight = Math.floor((inHeight + 2 * padH - kernelHeight) / stride[0]) + 1
  const outWidth = Math.floor((inWidth + 2 * padW - kernelWidth) / stride[1]) + 1
  return { batch, channels, inHeight, inWidth, kernelHeight, kernelWidth, strideH: stride[0], strideW: stride[1], padH, padW, outHeight, outWidth }
}
