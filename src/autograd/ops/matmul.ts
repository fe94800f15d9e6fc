// Z = A @ B over the last two dims, batch dims broadcast: A [..., m, k], B [..., k, n].
// dZ/dA = gradOut @ B^T, dZ/dB = A^T @ gradOut (batch broadcasting is undone by the engine).
// The products run on the active backend; transposes are flags, never copies.
import { Tensor } from '../../tensor/tensor.js'
import { allocateOutput, type TypedArray } from '../../tensor/dtype.js'
import { broadcastShapes, numel } from '../../tensor/shape.js'
import { broadcastTo } from '../../tensor/loops.js'
import { getBackend } from '../../tensor/backends/registry.js'
import type { FloatArray } from '../../tensor/backends/backend.js'
import type { OpDef } from '../op.js'

interface Operand {
  data: TypedArray
  rows: number
  cols: number
  trans: boolean
}

/** One (batched) product on the backend: out[b] = op(A[b]) @ op(B[b]). Records no graph. */
function gemm(like: Tensor, batch: number, a: Operand, b: Operand): TypedArray {
  const m = a.trans ? a.cols : a.rows
  const k = a.trans ? a.rows : a.cols
  const n = b.trans ? b.rows : b.cols
  const out = allocateOutput(like.dtype, batch * m * n)
  getBackend().matmul(a.data as FloatArray, b.data as FloatArray, out as FloatArray, { batch, m, k, n, transA: a.trans, transB: b.trans })
  return out
}

function splitBatch(t: Tensor): { batch: number[]; rows: number; cols: number } {
  return { batch: t.shape.slice(0, -2), rows: t.shape[t.ndim - 2]!, cols: t.shape[t.ndim - 1]! }
}

export const matmul: OpDef = {
  name: 'matmul',
  forward(ctx, [a, b]) {
    const A = splitBatch(a!)
    const B = splitBatch(b!)
    ctx.save(a!, b!)
    if (B.batch.length === 0) {
      // B is a plain matrix: fold A's batch into its rows, one big product.
      const rows = numel(A.batch) * A.rows
      const out = gemm(a!, 1, { data: a!.buffer('matmul'), rows, cols: A.cols, trans: false }, { data: b!.buffer('matmul'), rows: B.rows, cols: B.cols, trans: false })
      return new Tensor(out, [...A.batch, A.rows, B.cols])
    }
    const batch = broadcastShapes('matmul', A.batch, B.batch)
    const nb = numel(batch)
    const ad = broadcastTo(a!, [...batch, A.rows, A.cols])
    const bd = broadcastTo(b!, [...batch, B.rows, B.cols])
    const out = gemm(a!, nb, { data: ad, rows: A.rows, cols: A.cols, trans: false }, { data: bd, rows: B.rows, cols: B.cols, trans: false })
    return new Tensor(out, [...batch, A.rows, B.cols])
  },
  backward(ctx, gradOut) {
    const [a, b] = ctx.saved as [Tensor, Tensor]
    const A = splitBatch(a)
    const B = splitBatch(b)
    const [needA, needB] = ctx.needsInputGrad
    if (B.batch.length === 0) {
      const rows = numel(A.batch) * A.rows
      const g: Operand = { data: gradOut.buffer('matmul'), rows, cols: B.cols, trans: false }
      const gradA = needA ? new Tensor(gemm(a, 1, g, { data: b.buffer('matmul'), rows: B.rows, cols: B.cols, trans: true }), a.shape) : null
      const gradB = needB ? new Tensor(gemm(a, 1, { data: a.buffer('matmul'), rows, cols: A.cols, trans: true }, g), b.shape) : null
      return [gradA, gradB]
    }
    const batch = gradOut.shape.slice(0, -2)
    const nb = numel(batch)
    const g: Operand = { data: gradOut.buffer('matmul'), rows: A.rows, cols: B.cols, trans: false }
    const gradA = needA
      ? new Tensor(gemm(a, nb, g, { data: broadcastTo(b, [...batch, B.rows, B.cols]), rows: B.rows, cols: B.cols, trans: true }), [...batch, A.rows, A.cols])
      : null
    const gradB = needB
      ? new Tensor(gemm(a, nb, { data: broadcastTo(a, [...batch, A.rows, A.cols]), rows: A.rows, cols: A.cols, trans: true }, g), [...batch, B.rows, B.cols])
      : null
    return [gradA, gradB]
  },
}
