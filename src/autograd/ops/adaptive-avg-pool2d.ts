// Y[n,c,i,j] = mean of X over rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1 and the same for
// columns (PyTorch's adaptive windows, which may overlap); dY/dX spreads each gradient
// evenly over its window.
import { Tensor } from '../../tensor/tensor.js'
import { allocate, type TypedArray } from '../../tensor/dtype.js'
import type { OpDef } from '../op.js'

function windows(inSize: number, outSize: number): [number, number][] {
  return Array.from({ length: outSize }, (_, i) => [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)])
}

/** Visit each (plane, output cell, input cell) of the adaptive windows. */
function eachWindow(shape: number[], out: [number, number], visit: (o: number, i: number, count: number) => void): void {
  const [n, c, h, w] = shape as [number, number, number, number]
  const rows = windows(h, out[0])
  const cols = windows(w, out[1])
  for (let p = 0; p < n * c; p++) {
    rows.forEach(([y0, y1], oy) => {
      cols.forEach(([x0, x1], ox) => {
        const o = (p * out[0] + oy) * out[1] + ox
        const count = (y1 - y0) * (x1 - x0)
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) visit(o, (p * h + y) * w + x, count)
      })
    })
  }
}

export const adaptiveAvgPool2d: OpDef<{ outputSize: [number, number] }> = {
  name: 'adaptiveAvgPool2d',
  forward(ctx, [x], { outputSize }) {
    const [n, c] = x!.shape as [number, number]
    const out = allocate(x!.dtype, n * c * outputSize[0] * outputSize[1])
    const src = x!.data
    eachWindow(x!.shape, outputSize, (o, i, count) => {
      out[o]! += src[i]! / count
    })
    ctx.save(x!)
    return new Tensor(out, [n, c, ...outputSize])
  },
  backward(ctx, gradOut, { outputSize }) {
    const x = ctx.saved[0]!
    const gradX: TypedArray = allocate(gradOut.dtype, x.numel())
    const go = gradOut.data
    eachWindow(x.shape, outputSize, (o, i, count) => {
      gradX[i]! += go[o]! / count
    })
    return [new Tensor(gradX, x.shape)]
  },
}
