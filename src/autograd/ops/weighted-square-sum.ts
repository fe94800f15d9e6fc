// y = sum_j c_j x_j^2 (a scalar): the squared penalty of the dynamic prior (Algorithm 1 line 7,
// R = lambda_eff * sum_j c_j w_j^2) as one op. Composed as x.square().mul(c).sum() it costs three
// N-sized arrays forward and as many backward; here one pass each way.
// dy/dx_j = 2 c_j x_j g and dy/dc_j = x_j^2 g, where g is the upstream (scalar) gradient.
// NOTE: the forward sum runs in float64 whatever the dtype; the gradient is (2 g) * c_j * x_j,
// so with g = lambda_eff it is exactly the closed form 2 * lambda_eff * c * W. Backward is one loop
// rather than Tensor ops (x.mul(c).mul(2 g)): it runs every step on every regularized weight, and
// one pass into one fresh array costs about half of two elementwise ops.
import { Tensor } from '../../tensor/tensor.js'
import { allocate } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'

export const weightedSquareSum: OpDef = {
  name: 'weightedSquareSum',
  forward(ctx, [x, c]) {
    const xs = x!.data
    const cs = c!.data
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
    const g = gradOut.data[0]!
    const xs = x.data
    const cs = c.data
    let gx: Tensor | null = null
    let gc: Tensor | null = null
    if (ctx.needsInputGrad[0]) {
      const d = allocate(x.dtype, xs.length)
      const g2 = 2 * g
      for (let j = 0; j < xs.length; j++) d[j] = g2 * cs[j]! * xs[j]!
      gx = new Tensor(d, x.shape)
    }
    if (ctx.needsInputGrad[1]) {
      const d = allocate(c.dtype, xs.length)
      for (let j = 0; j < xs.length; j++) d[j] = g * xs[j]! * xs[j]!
      gc = new Tensor(d, c.shape)
    }
    return [gx, gc]
  },
}
