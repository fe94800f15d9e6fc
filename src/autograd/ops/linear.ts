// Y = X @ W^T + b, X [..., in], W [out, in], b [out]: the fully connected layer as one op,
// so the weight is never transposed by a copy and the bias needs no broadcast add.
// dY/dX = gradOut @ W, dY/dW = gradOut^T @ X, dY/db = sum of gradOut over the rows.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput, type TypedArray } from '../../tensor/dtype.js'
import { getBackend } from '../../tensor/backends/registry.js'
import { broadcastGeometry } from '../../tensor/shape.js'
import type { FloatArray } from '../../tensor/backends/backend.js'
import type { OpDef } from '../op.js'

function gemm(out: TypedArray, a: TypedArray, b: TypedArray, m: number, k: number, n: number, transA: boolean, transB: boolean): TypedArray {
  getBackend().matmul(a as FloatArray, b as FloatArray, out as FloatArray, { batch: 1, m, k, n, transA, transB })
  return out
}

export const linear: OpDef = {
  name: 'linear',
  forward(ctx, [x, w, b]) {
    const [outF, inF] = w!.shape as [number, number]
    const rows = x!.numel() / inF
    const y = gemm(allocateOutput(x!.dtype, rows * outF), x!.buffer('linear'), w!.buffer('linear'), rows, inF, outF, false, true)
    // y += bias, broadcast over the rows, in place (an elementwise add reads each entry before
    // it writes it, so the aliasing is safe)
    if (b) getBackend().binary('add', y, b.buffer('linear'), y, broadcastGeometry('linear', [[rows, outF], [outF]]))
    ctx.save(x!, w!)
    return new Tensor(y, [...x!.shape.slice(0, -1), outF])
  },
  backward(ctx, gradOut) {
    const [x, w] = ctx.saved as [Tensor, Tensor]
    const [needX, needW, needB] = ctx.needsInputGrad
    const [outF, inF] = w.shape as [number, number]
    const rows = x.numel() / inF
    const g = gradOut.buffer('linear')
    const gradX = needX ? new Tensor(gemm(allocateOutput(x.dtype, x.numel()), g, w.buffer('linear'), rows, outF, inF, false, false), x.shape) : null
    const gradW = needW ? new Tensor(gemm(allocateOutput(w.dtype, w.numel()), g, x.buffer('linear'), outF, rows, inF, true, false), w.shape) : null
    let gradB: Tensor | null = null
    if (needB) {
      // the sum of gradOut's rows: [1, rows, outF] reduced over the middle
      const gb = allocateOutput(gradOut.dtype, outF)
      getBackend().sum(g, gb, 1, rows, outF)
      gradB = new Tensor(gb, [outF])
    }
    return [gradX, gradW, gradB]
  },
}
