// Unary elementwise ops as one table, one line each (like PyTorch's derivatives.yaml): the
// backend primitive that computes y = f(x) (its formula is in the reference backend's UNARY
// table, reference.ts), and the gradient gradX = gradOut * f'(x) written with Tensor ops on x
// (the input) and y (the output).
import type { Tensor } from '../tensor/tensor.js'
import { runUnary } from '../tensor/loops.js'
import type { UnaryOp } from '../tensor/backends/backend.js'
import { assertFloat } from './checks.js'
import type { OpDef } from './op.js'

interface UnaryEntry {
  name: UnaryOp
  grad: (gradOut: Tensor, x: Tensor, y: Tensor) => Tensor
  /** true when int32 input is allowed (the result keeps the dtype) */
  intOk?: boolean
}

// NOTE: relu'(0) and abs'(0) are defined as 0, as in PyTorch.
const table: UnaryEntry[] = [
  { name: 'neg', grad: (g) => g.neg(), intOk: true }, // y = -x
  { name: 'exp', grad: (g, _x, y) => g.mul(y) }, // y = e^x
  { name: 'log', grad: (g, x) => g.div(x) }, // y = ln x
  { name: 'sqrt', grad: (g, _x, y) => g.div(y.mul(2)) }, // y = sqrt x
  { name: 'abs', grad: (g, x) => g.mul(x.sign()), intOk: true }, // y = |x|
  { name: 'relu', grad: (g, x) => g.mul(x.gt(0)), intOk: true }, // y = max(x, 0)
  { name: 'sigmoid', grad: (g, _x, y) => g.mul(y.mul(y.neg().add(1))) }, // y = 1 / (1 + e^-x)
  { name: 'tanh', grad: (g, _x, y) => g.mul(y.square().neg().add(1)) }, // y = tanh x
  { name: 'reciprocal', grad: (g, _x, y) => g.mul(y.square()).neg() }, // y = 1 / x
]

function unaryOp(e: UnaryEntry): OpDef {
  return {
    name: e.name,
    forward(ctx, [x]) {
      if (!e.intOk) assertFloat(e.name, x!)
      const y = runUnary(e.name, x!)
      ctx.save(x!, y)
      return y
    },
    backward(ctx, gradOut) {
      const [x, y] = ctx.saved
      return [e.grad(gradOut, x!, y!)]
    },
  }
}

/** The unary ops by name. */
export const unaryOps: Record<string, OpDef> = Object.fromEntries(table.map((e) => [e.name, unaryOp(e)]))
