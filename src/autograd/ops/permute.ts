// z = x with its dims reordered: z.shape[i] = x.shape[dims[i]] (a copy: the backend's
// copyRegion walking the output and reading x through permuted strides);
// dz/dx: the gradient permuted by the inverse permutation.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { stridesOf } from '../../tensor/shape.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { OpDef } from '../op.js'

export const permute: OpDef<{ dims: number[] }> = {
  name: 'permute',
  forward(_ctx, [x], { dims }) {
    const shape = dims.map((d) => x!.shape[d]!)
    const xs = stridesOf(x!.shape)
    const out = allocateOutput(x!.dtype, x!.numel())
    const r = { outShape: shape, start: shape.map(() => 0), size: shape, srcOffset: 0, srcStrides: dims.map((d) => xs[d]!), fill: 0 }
    getBackend().copyRegion(x!.buffer('permute'), out, r)
    return new Tensor(out, shape)
  },
  backward(_ctx, gradOut, { dims }) {
    const inverse = new Array<number>(dims.length)
    dims.forEach((d, i) => (inverse[d] = i))
    return [gradOut.permute(inverse)]
  },
}
