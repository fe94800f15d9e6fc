// Unary elementwise ops as one table, one line of math each (like PyTorch's
// derivatives.yaml): y = f(x), and the gradient gradX = gradOut * f'(x) written with
// Tensor ops on x (the input) and y (the output).
import type { Tensor } from '../tensor/tensor.js'
import { mapUnary } from '../tensor/loops.js'
import { assertFloat } from './checks.js'
import type { OpDef } from './op.js'

interface UnaryEntry {
  name: string
  f: (x: number) => number
  grad: (gradOut: Tensor, x: Tensor, y: Tensor) => Tensor
  /** true when int32 input is allowed (the result keeps the dtype) */
  intOk?: boolean
}

// NOTE: relu'(0) and abs'(0) are defined as 0, as in PyTorch.
// NOTE: sigmoid uses the form that never overflows exp: for x < 0, e^x / (1 + e^x).
const table: UnaryEntry[] = [
  { name: 'neg', f: (x) => -x, grad: (g) => g.neg(), intOk: true },
  { name: 'exp', f: Math.exp, grad: (g, _x, y) => g.mul(y) },
  { name: 'log', f: Math.log, grad: (g, x) => g.div(x) },
  { name: 'sqrt', f: Math.sqrt, grad: (g, _x, y) => g.div(y.mul(2)) },
  { name: 'abs', f: Math.abs, grad: (g, x) => g.mul(x.sign()), intOk: true },
  // NOTE: Math.max is branchless (a data-dependent branch mispredicts on half of random inputs); NaN stays NaN.
  { name: 'relu', f: (x) => Math.max(x, 0), grad: (g, x) => g.mul(x.gt(0)), intOk: true },
  {
    name: 'sigmoid',
    f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
    grad: (g, _x, y) => g.mul(y.mul(y.neg().add(1))),
  },
  { name: 'tanh', f: Math.tanh, grad: (g, _x, y) => g.mul(y.square().neg().add(1)) },
  { name: 'reciprocal', f: (x) => 1 / x, grad: (g, _x, y) => g.mul(y.square()).neg() },
]

function unaryOp(e: UnaryEntry): OpDef {
  return {
    name: e.name,
    forward(ctx, [x]) {
      if (!e.intOk) assertFloat(e.name, x!)
      const y = mapUnary(x!, e.f)
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
