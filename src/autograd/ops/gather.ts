// z[i][j][k] = x[i][index[i][j][k]][k] (for dim 1; the same on any dim, index has
// x's rank); dz/dx: gradOut scattered (added) back to the positions it was read from.
// Both run on the backend (reference.ts states the loops: gather and scatterAdd).
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { numel } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { GatherGeometry } from '../../tensor/backends/backend.js'
import type { OpDef } from '../op.js'

const geometry = (x: Tensor, index: Tensor, dim: number): GatherGeometry => ({ op: 'gather', dim, xShape: x.shape, indexShape: index.shape })

export const gather: OpDef<{ dim: number }> = {
  name: 'gather',
  forward(ctx, [x, index], { dim }) {
    const out = allocateOutput(x!.dtype, index!.numel())
    getBackend().gather(x!.buffer('gather'), index!.buffer('gather') as Int32Array, out, geometry(x!, index!, dim))
    ctx.save(x!, index!)
    return new Tensor(out, index!.shape)
  },
  backward(ctx, gradOut, { dim }) {
    const [x, index] = ctx.saved
    return [scatterAdd(x!.shape, dim, index!, gradOut), null]
  },
}

/** zeros(shape) with src[i] added at the position gather would have read for i. Records no graph. */
export function scatterAdd(shape: number[], dim: number, index: Tensor, src: Tensor): Tensor {
  const out = allocateOutput(src.dtype, numel(shape))
  getBackend().scatterAdd(src.buffer('gather'), index.buffer('gather') as Int32Array, out, { op: 'gather', dim, xShape: shape, indexShape: index.shape })
  return new Tensor(out, shape)
}
