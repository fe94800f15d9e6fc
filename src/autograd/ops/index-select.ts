// z = the slices of x at positions `index` (1-D int32) along `dim`;
// dz/dx: each gradient slice added back to the slice it came from (repeats accumulate).
// Both are the backend's gather and scatterAdd, with the index repeated over the other dims of
// the output (the backend's expand), so on a device nothing is read back.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput } from '../../tensor/dtype.js'
import { numel, formatShape } from '../../tensor/shape.js'
import { broadcastTo } from '../../tensor/loops.js'
import { getBackend } from '../../tensor/backends/registry.js'
import { deviceCopyOf } from '../../tensor/device-copy.js'
import type { GatherGeometry } from '../../tensor/backends/backend.js'
import type { OpDef } from '../op.js'

export const indexSelect: OpDef<{ dim: number }> = {
  name: 'indexSelect',
  forward(ctx, [x, index], { dim }) {
    const size = x!.shape[dim]!
    const outShape = x!.shape.map((d, i) => (i === dim ? index!.numel() : d))
    // an index on the host is checked here, naming its position in the 1-D index
    if (deviceCopyOf(index!.buffer('indexSelect')) === undefined) {
      index!.hostData('indexSelect').forEach((k, j) => {
        if (k < 0 || k >= size) throw new Error(`indexSelect: index ${k} at position ${j} is out of range for dim ${dim} of size ${size} (x shape ${formatShape(x!.shape)})`)
      })
    }
    const full = new Tensor(broadcastTo(index!.reshape(outShape.map((d, i) => (i === dim ? d : 1))), outShape), outShape)
    const out = allocateOutput(x!.dtype, numel(outShape))
    getBackend().gather(x!.buffer('indexSelect'), full.buffer('indexSelect') as Int32Array, out, geometry(x!.shape, outShape, dim))
    ctx.save(x!, full)
    return new Tensor(out, outShape)
  },
  backward(ctx, gradOut, { dim }) {
    const [x, full] = ctx.saved as [Tensor, Tensor]
    const g = allocateOutput(gradOut.dtype, x.numel())
    getBackend().scatterAdd(gradOut.buffer('indexSelect'), full.buffer('indexSelect') as Int32Array, g, geometry(x.shape, full.shape, dim))
    return [new Tensor(g, x.shape), null]
  },
}

const geometry = (xShape: number[], outShape: number[], dim: number): GatherGeometry => ({ op: 'indexSelect', dim, xShape, indexShape: outShape })
