// Elementwise ops as the ops call them: allocate the output in the result's dtype, then let the
// active backend run the named primitive (the formulas are the reference backend's, reference.ts).
// They make new tensors and record nothing: ops call them in forward, and backward composes
// Tensor ops on top of them. The copying ops' index loops (broadcastLoop, broadcastTo) are below.
import { Tensor } from './tensor.js'
import { allocateOutput, type DType, type TypedArray } from './dtype.js'
import { broadcastAll, broadcastGeometry, forEachRun, numel } from './shape.js'
import { getBackend } from './backends/registry.js'
import type { BinaryOp, UnaryOp } from './backends/backend.js'

/** op(x) elementwise, e.g. runUnary('exp', x); `dtype` defaults to x's. */
export function runUnary(op: UnaryOp, x: Tensor, dtype: DType = x.dtype): Tensor {
  const out = allocateOutput(dtype, x.numel())
  getBackend().unary(op, x.buffer(op), out)
  return new Tensor(out, x.shape)
}

/** min(max(x, min), max) elementwise. */
export function runClamp(x: Tensor, min: number, max: number): Tensor {
  const out = allocateOutput(x.dtype, x.numel())
  getBackend().clamp(x.buffer('clamp'), out, min, max)
  return new Tensor(out, x.shape)
}

/** op(a, b) elementwise over the broadcast shape of a and b (an error naming `name` when they do not broadcast). */
export function runBinary(op: BinaryOp, a: Tensor, b: Tensor, dtype: DType, name: string = op): Tensor {
  const shapes = [a.shape, b.shape]
  const shape = broadcastAll(name, shapes)
  const out = allocateOutput(dtype, numel(shape))
  getBackend().binary(op, a.buffer(name), b.buffer(name), out, broadcastGeometry(name, shapes, shape))
  return new Tensor(out, shape)
}

/** cond != 0 ? a : b elementwise over the broadcast shape of the three. */
export function runWhere(cond: Tensor, a: Tensor, b: Tensor, dtype: DType): Tensor {
  const shapes = [cond.shape, a.shape, b.shape]
  const shape = broadcastAll('where', shapes)
  const out = allocateOutput(dtype, numel(shape))
  getBackend().where(cond.buffer('where'), a.buffer('where'), b.buffer('where'), out, broadcastGeometry('where', shapes, shape))
  return new Tensor(out, shape)
}

/**
 * Visit every index of `shape` in row-major order, with one flat offset per input (`strides`
 * gives each input's step per dim; 0 repeats a broadcast input): forEachRun's odometer over the
 * outer dims, stepped element by element along the last one.
 */
export function broadcastLoop(shape: readonly number[], strides: number[][], visit: (i: number, offsets: number[]) => void): void {
  const g = shape.length === 0 ? { shape: [1], strides: strides.map(() => [0]) } : { shape: [...shape], strides }
  const n = g.shape[g.shape.length - 1]!
  const steps = g.strides.map((st) => st[st.length - 1]!)
  const offs = steps.map(() => 0)
  forEachRun(g, (o, starts) => {
    for (let k = 0; k < offs.length; k++) offs[k] = starts[k]!
    for (let i = 0; i < n; i++) {
      visit(o + i, offs)
      for (let k = 0; k < offs.length; k++) offs[k]! += steps[k]!
    }
  })
}

/** Copy `x` laid out as `outShape` (a materialised broadcast) on the backend: its `expand` primitive. */
export function broadcastTo(x: Tensor, outShape: readonly number[]): TypedArray {
  const out = allocateOutput(x.dtype, numel(outShape))
  if (out.length === 0) return out
  getBackend().expand(x.buffer('expand'), out, broadcastGeometry('expand', [x.shape, outShape]))
  return out
}
