// z = a + b (broadcast); dz/da = 1, dz/db = 1.
// The engine sums each gradient back to its input's shape (graph.ts), so no op un-broadcasts.
import { runBinary } from '../../tensor/loops.js'
import { promote } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'

export const add: OpDef = {
  name: 'add',
  forward(_ctx, [a, b]) {
    return runBinary('add', a!, b!, promote(a!.dtype, b!.dtype))
  },
  backward(_ctx, gradOut) {
    return [gradOut, gradOut]
  },
}
