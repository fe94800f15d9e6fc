// Y[n,c,y,x] = mean of X over one window (padding counts, PyTorch's count_include_pad);
// dY/dX spreads each gradient evenly over its window.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { FloatArray } from '../../tensor/backends/backend.js'
import { pool2dGeometry, type Pool2dAttrs } from './pool-geometry.js'
import type { OpDef } from '../op.js'

export const avgPool2d: OpDef<Pool2dAttrs> = {
  name: 'avgPool2d',
  forward(ctx, [x], attrs) {
    const g = pool2dGeometry('avgPool2d', x!, attrs)
    const out = allocateOutput(x!.dtype, g.batch * g.channels * g.outHeight * g.outWidth) as FloatArray
    getBackend().avgPool2d(x!.buffer('avgPool2d') as FloatArray, out, g)
    ctx.save(x!)
    return new Tensor(out, [g.batch, g.channels, g.outHeight, g.outWidth])
  },
  backward(ctx, gradOut, attrs) {
    const x = ctx.saved[0]!
    const g = pool2dGeometry('avgPool2d', x, attrs)
    const gradX = allocateOutput(x.dtype, x.numel()) as FloatArray
    getBackend().avgPool2dBackward(gradOut.buffer('avgPool2d') as FloatArray, gradX, g)
    return [new Tensor(gradX, x.shape)]
  },
}
