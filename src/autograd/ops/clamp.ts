// z = min(max(x, lo), hi); dz/dx = 1 where lo <= x <= hi (bounds included, as PyTorch), else 0.
import { runClamp } from '../../tensor/loops.js'
import type { OpDef } from '../op.js'

export interface ClampAttrs {
  min: number
  max: number
}

export const clamp: OpDef<ClampAttrs> = {
  name: 'clamp',
  forward(ctx, [x], { min, max }) {
    ctx.save(x!)
    return runClamp(x!, min, max)
  },
  backward(ctx, gradOut, { min, max }) {
    const x = ctx.saved[0]!
    return [gradOut.mul(x.ge(min).mul(x.le(max)))]
  },
}
