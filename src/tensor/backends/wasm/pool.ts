// Pooling in plain JS: memory bound (a few flops per loaded value), so SIMD and threads would
// buy little. Same semantics and visiting order as the reference backend (ties -> first in
// row-major order, NaN wins), but each window is clipped to the input once instead of testing
// every tap.
import type { FloatArray, Pool2dGeometry } from '../backend.js'
import { poolDivisor } from '../reference.js'

// clipped window [y0, y1) x [x0, x1) of output (oy, ox)
function window(g: Pool2dGeometry, oy: number, ox: number): [number, number, number, number] {
  const ys = oy * g.strideH - g.padH
  const xs = ox * g.strideW - g.padW
  return [Math.max(0, ys), Math.min(g.inHeight, ys + g.kernelHeight), Math.max(0, xs), Math.min(g.inWidth, xs + g.kernelWidth)]
}

export function maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
  const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
  for (let plane = 0; plane < batch * channels; plane++) {
    const xo = plane * H * W
    let o = plane * OH * OW
    for (let oy = 0; oy < OH; oy++) {
      const ys = oy * g.strideH - g.padH
      const y0 = Math.max(0, ys)
      const y1 = Math.min(H, ys + g.kernelHeight)
      for (let ox = 0; ox < OW; ox++, o++) {
        const xs = ox * g.strideW - g.padW
        const x0 = Math.max(0, xs)
        const x1 = Math.min(W, xs + g.kernelWidth)
        let best = -Infinity
        let bestIdx = -1
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = x[xo + iy * W + ix]!
            if (v > best || bestIdx < 0 || v !== v) {
              best = v
              bestIdx = iy * W + ix
              if (v !== v) break
            }
          }
        }
        out[o] = best
        argmax[o] = bestIdx
      }
    }
  }
}

export function maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void {
  const planeIn = g.inHeight * g.inWidth
  const planeOut = g.outHeight * g.outWidth
  gradX.fill(0)
  for (let plane = 0; plane < g.batch * g.channels; plane++) {
    const xo = plane * planeIn
    const oo = plane * planeOut
    for (let p = 0; p < planeOut; p++) gradX[xo + argmax[oo + p]!]! += gradOut[oo + p]!
  }
}

export function avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
  const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
  for (let plane = 0; plane < batch * channels; plane++) {
    const xo = plane * H * W
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const [y0, y1, x0, x1] = window(g, oy, ox)
        let acc = 0
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) acc += x[xo + iy * W + ix]!
        out[(plane * OH + oy) * OW + ox] = acc / poolDivisor(g, oy, ox)
      }
    }
  }
}

export function avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void {
  const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
  gradX.fill(0)
  for (let plane = 0; plane < batch * channels; plane++) {
    const xo = plane * H * W
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const [y0, y1, x0, x1] = window(g, oy, ox)
        const go = gradOut[(plane * OH + oy) * OW + ox]! / poolDivisor(g, oy, ox)
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) gradX[xo + iy * W + ix]! += go
      }
    }
  }
}
