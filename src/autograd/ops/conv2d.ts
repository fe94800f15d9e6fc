// Y = conv2d(X, W) + b, NCHW: Y[n,o,y,x] = b[o] + sum_{c,i,j} X[n,c,y*s+i-p, x*s+j-p] W[o,c,i,j].
// dY/dX is the transposed convolution of gradOut with W; dY/dW correlates gradOut with X;
// dY/db sums gradOut over batch and space. All three heavy loops run on the backend.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { formatShape } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { Conv2dGeometry, FloatArray } from '../../tensor/backends/backend.js'
import type { OpDef } from '../op.js'

export interface Conv2dAttrs {
  stride: [number, number]
  padding: [number, number]
}

/** The geometry of conv2d(x, w), or an error naming the shapes when they do not fit. */
export function conv2dGeometry(x: Tensor, w: Tensor, { stride, padding }: Conv2dAttrs): Conv2dGeometry {
  const [batch, inChannels, inHeight, inWidth] = x.shape as [number, number, number, number]
  const [outChannels, wc, kernelHeight, kernelWidth] = w.shape as [number, number, number, number]
  if (wc !== inChannels) {
    throw new Error(`conv2d: input ${formatShape(x.shape)} has ${inChannels} channels but weight ${formatShape(w.shape)} expects ${wc}`)
  }
  const [strideH, strideW] = stride
  const [padH, padW] = padding
  if (kernelHeight > inHeight + 2 * padH || kernelWidth > inWidth + 2 * padW) {
    throw new Error(
      `conv2d: kernel ${kernelHeight}x${kernelWidth} is larger than the padded input ` +
        `${inHeight + 2 * padH}x${inWidth + 2 * padW} (input ${formatShape(x.shape)}, padding ${padH},${padW})`,
    )
  }
  const outHeight = Math.floor((inHeight + 2 * padH - kernelHeight) / strideH) + 1
  const outWidth = Math.floor((inWidth + 2 * padW - kernelWidth) / strideW) + 1
  return { batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth, strideH, strideW, padH, padW, outHeight, outWidth }
}

export const conv2d: OpDef<Conv2dAttrs> = {
  name: 'conv2d',
  forward(ctx, [x, w, b], attrs) {
    const g = conv2dGeometry(x!, w!, attrs)
    const out = allocateOutput(x!.dtype, g.batch * g.outChannels * g.outHeight * g.outWidth) as FloatArray
    getBackend().conv2d(x!.buffer('conv2d') as FloatArray, w!.buffer('conv2d') as FloatArray, b ? (b.buffer('conv2d') as FloatArray) : null, out, g)
    ctx.save(x!, w!)
    return new Tensor(out, [g.batch, g.outChannels, g.outHeight, g.outWidth])
  },
  backward(ctx, gradOut, attrs) {
    const [x, w] = ctx.saved as [Tensor, Tensor]
    const [needX, needW, needB] = ctx.needsInputGrad
    const g = conv2dGeometry(x, w, attrs)
    const go = gradOut.buffer('conv2d') as FloatArray
    let gradX: Tensor | null = null
    let gradW: Tensor | null = null
    if (needX) {
      const gx = allocateOutput(x.dtype, x.numel()) as FloatArray
      getBackend().conv2dGradInput(go, w.buffer('conv2d') as FloatArray, gx, g)
      gradX = new Tensor(gx, x.shape)
    }
    if (needW) {
      const gw = allocateOutput(w.dtype, w.numel()) as FloatArray
      getBackend().conv2dGradWeight(go, x.buffer('conv2d') as FloatArray, gw, g)
      gradW = new Tensor(gw, w.shape)
    }
    const gradB = needB ? gradOut.sum([0, 2, 3]) : null
    return [gradX, gradW, gradB]
  },
}
