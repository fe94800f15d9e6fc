// y = sum_j c_j x_j^2 (a scalar): the squared penalty of the dynamic prior (Algorithm 1 line 7,
// R = lambda_eff * sum_j c_j w_j^2) as one op. Composed as x.square().mul(c).sum() it costs three
// N-sized arrays forward and as many backward; here one pass each way.
// dy/dx_j = 2 c_j x_j g and dy/dc_j = x_j^2 g, where g is the upstream (scalar) gradient.
// NOTE: the forward sum runs in float64 whatever the dtype; the gradient is (2 g) * c_j * x_j,
// so with g = lambda_eff it is exactly the closed form 2 * lambda_eff * c * W. Backward is one loop
// rather than Tensor ops (x.mul(c).mul(2 g)): it runs every step on every regularized weight, and
// one pass into one fresh array costs about half of two elementwise ops. Nothing else holds that
// array, so it is marked (../fresh.ts): the engine adopts it as W's .grad instead of copying it.
// The loops read the inputs with hostData(): on a backend that keeps tensors on a device the
// weights are read back, but their device copy stays (the next kernel does not upload them again).
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import { formatShape } from '../../tensor/shape.js'
import type { OpDef } from '../op.js'
import { freshGradient } from '../fresh.js'

export const weightedSquareSum: OpDef = {
  name: 'weightedSquareSum',
  forward(ctx, [x, c]) {
    const xs = x!.hostData('weightedSquareSum')
    const cs = c!.hostData('weightedSquareSum')
    // four partial sums: independent adds, and a fixed order (so the same bits every run)
    const part = [0, 0, 0, 0]
    const n4 = xs.length - (xs.length % 4)
    for (let j = 0; j < n4; j += 4) {
      part[0]! += cs[j]! * xs[j]! * xs[j]!
      part[1]! += cs[j + 1]! * xs[j + 1]! * xs[j + 1]!
      part[2]! += cs[j + 2]! * xs[j + 2]! * xs[j + 2]!
      part[3]! += cs[j + 3]! * xs[j + 3]! * xs[j + 3]!
    }
    for (let j = n4; j < xs.length; j++) part[0]! += cs[j]! * xs[j]! * xs[j]!
    const s = part[0]! + part[1]! + (part[2]! + part[3]!)
    ctx.save(x!, c!)
    const out = allocate(x!.dtype, 1)
    out[0] = s
    return new Tensor(out, [])
  },
  backward(ctx, gradOut) {
    const [x, c] = ctx.saved as [Tensor, Tensor]
    const g = gradOut.hostData('weightedSquareSum')[0]!
    const xs = x.hostData('weightedSquareSum')
    const cs = c.hostData('weightedSquareSum')
    let gx: Tensor | null = null
    let gc: Tensor | null = null
    if (ctx.needsInputGrad[0]) {
      const d = allocate(x.dtype, xs.length)
      const g2 = 2 * g
      for (let j = 0; j < xs.length; j++) d[j] = g2 * cs[j]! * xs[j]!
      gx = freshGradient(new Tensor(d, x.shape))
    }
    if (ctx.needsInputGrad[1]) {
      const d = allocate(c.dtype, xs.length)
      for (let j = 0; j < xs.length; j++) d[j] = g * xs[j]! * xs[j]!
      gc = new Tensor(d, c.shape)
    }
    return [gx, gc]
  },
}

// The same sum over a subset, given as pairs (index_q, weight_q): y = sum_q weight_q x[index_q]^2
// over x's entries in flat order. The dynamic prior keeps about S*sp of the entries, so its
// penalty touches only those: forward and backward cost O(#pairs), plus a zero-filled gradient.
// dy/dx_j = sum_{q: index_q = j} 2 weight_q x_j g (repeats accumulate); dy/dweight_q = x[index_q]^2 g.
// NOTE: with increasing, distinct indices the forward adds the same terms into the same four
// partial sums in the same order as the dense op above (entries past the last multiple of 4 go to
// the first sum), and the gradient is the same product: the two give identical bits for
// weights = the non-zero c_j.
export const weightedSquareSumAt: OpDef = {
  name: 'weightedSquareSumAt',
  forward(ctx, [x, index, w]) {
    const xs = x!.hostData('weightedSquareSumAt')
    const idx = index!.hostData('weightedSquareSumAt')
    const ws = w!.hostData('weightedSquareSumAt')
    const n4 = xs.length - (xs.length % 4)
    const part = [0, 0, 0, 0]
    for (let q = 0; q < idx.length; q++) {
      const j = idx[q]!
      if (!(j >= 0 && j < xs.length)) throw new Error(`weightedSquareSumAt: index ${j} at position ${q} is out of range for x with ${xs.length} entries (shape ${formatShape(x!.shape)})`)
      part[j < n4 ? j & 3 : 0]! += ws[q]! * xs[j]! * xs[j]!
    }
    ctx.save(x!, index!, w!)
    const out = allocate(x!.dtype, 1)
    out[0] = part[0]! + part[1]! + (part[2]! + part[3]!)
    return new Tensor(out, [])
  },
  backward(ctx, gradOut) {
    const [x, index, w] = ctx.saved as [Tensor, Tensor, Tensor]
    const g = gradOut.hostData('weightedSquareSumAt')[0]!
    const xs = x.hostData('weightedSquareSumAt')
    const idx = index.hostData('weightedSquareSumAt')
    const ws = w.hostData('weightedSquareSumAt')
    let gx: Tensor | null = null
    let gw: Tensor | null = null
    if (ctx.needsInputGrad[0]) {
      const d = allocate(x.dtype, xs.length)
      const g2 = 2 * g
      for (let q = 0; q < idx.length; q++) d[idx[q]!]! += g2 * ws[q]! * xs[idx[q]!]!
      gx = freshGradient(new Tensor(d, x.shape))
    }
    if (ctx.needsInputGrad[2]) {
      const d = allocate(w.dtype, idx.length)
      for (let q = 0; q < idx.length; q++) d[q] = g * xs[idx[q]!]! * xs[idx[q]!]!
      gw = new Tensor(d, w.shape)
    }
    return [gx, null, gw]
  },
}
