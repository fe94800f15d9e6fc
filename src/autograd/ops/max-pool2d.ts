// Y[n,c,y,x] = max of X over one window; dY/dX is 1 at the window's (first) maximum,
// 0 elsewhere, so backward routes each gradient to the saved argmax position.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { FloatArray } from '../../tensor/backends/backend.js'
import { pool2dGeometry, type Pool2dAttrs } from './pool-geometry.js'
import type { OpDef } from '../op.js'

export const maxPool2d: OpDef<Pool2dAttrs> = {
  name: 'maxPool2d',
  forward(ctx, [x], attrs) {
    const g = pool2dGeometry('maxPool2d', x!, attrs)
    const n = g.batch * g.channels * g.outHeight * g.outWidth
    const out = allocateOutput(x!.dtype, n) as FloatArray
    const argmax = allocateOutput('int32', n) as Int32Array
    getBackend().maxPool2d(x!.buffer('maxPool2d') as FloatArray, out, argmax, g)
    const shape = [g.batch, g.channels, g.outHeight, g.outWidth]
    ctx.save(x!, new Tensor(argmax, shape))
    return new Tensor(out, shape)
  },
  backward(ctx, gradOut, attrs) {
    const [x, argmax] = ctx.saved as [Tensor, Tensor]
    const g = pool2dGeometry('maxPool2d', x, attrs)
    const gradX = allocateOutput(x.dtype, x.numel()) as FloatArray
    getBackend().maxPool2dBackward(gradOut.buffer('maxPool2d') as FloatArray, argmax.buffer('maxPool2d') as Int32Array, gradX, g)
    return [new Tensor(gradX, x.shape)]
  },
}
