// Pooling in plain JS: memory bound (a few flops per loaded value), so SIMD and threads would
// buy little. Same semantics and visiting order as the reference backend (ties -> first in
// row-major order, every NaN taken), but each window is clipped to the input once instead of testing
// every tap.
import type { FloatArray, Pool2dGeometry } from '../backend.js'
import { poolDivisor } from '../reference.js'
import type { WasmEngine } from './engine.js'
import type { Task } from './threads.js'

/** True for the 2x2 / stride 2 / unpadded geometry that has a WASM kernel (./pool-kernels.ts). */
export function isPool2x2(g: Pool2dGeometry): boolean {
  return g.kernelHeight === 2 && g.kernelWidth === 2 && g.strideH === 2 && g.strideW === 2 && g.padH === 0 && g.padW === 0
}

// plane bands, two per thread, for inputs big enough to pay for the fork/join
function planeTasks(e: WasmEngine, fn: string, args: number[], planes: number, entries: number): Task[] {
  const chunks = entries < 1 << 16 || e.threads === 1 ? 1 : Math.min(planes, 2 * e.threads)
  const per = Math.ceil(planes / chunks)
  const tasks: Task[] = []
  for (let p = 0; p < planes; p += per) tasks.push({ fn, args: [...args, p, Math.min(planes, p + per)] })
  return tasks
}

/** 2x2 / stride 2 max pooling in WASM (float32). */
export function maxPool2x2Wasm(e: WasmEngine, x: Float32Array, out: Float32Array, argmax: Int32Array, g: Pool2dGeometry): void {
  const planes = g.batch * g.channels
  const nx = planes * g.inHeight * g.inWidth
  const no = planes * g.outHeight * g.outWidth
  if (no === 0) return
  const [xs, os, as] = e.reserve([e.scratchFor(x, nx), e.scratchFor(out, no), e.scratchFor(argmax, no)]) as [number, number, number]
  const xp = e.input(x, xs, nx)
  const [op, ap] = [e.output(out, os), e.output(argmax, as)]
  e.run(planeTasks(e, 'maxPool2x2', [xp, op, ap, g.inHeight, g.inWidth, g.outHeight, g.outWidth], planes, nx))
  e.copyOut(out, op, no)
  e.copyOut(argmax, ap, no)
}

/** gradX[plane][argmax] += gradOut in WASM (float32); argmax entries must be valid (>= 0). */
export function maxPoolBackwardWasm(e: WasmEngine, gradOut: Float32Array, argmax: Int32Array, gradX: Float32Array, g: Pool2dGeometry): void {
  const planes = g.batch * g.channels
  const hw = g.inHeight * g.inWidth
  const ohw = g.outHeight * g.outWidth
  const [gs, as, xs] = e.reserve([e.scratchFor(gradOut, planes * ohw), e.scratchFor(argmax, planes * ohw), e.scratchFor(gradX, planes * hw)]) as [number, number, number]
  const gp = e.input(gradOut, gs, planes * ohw)
  const ap = e.input(argmax, as, planes * ohw)
  const xp = e.output(gradX, xs)
  e.run(planeTasks(e, 'maxPoolBackward', [gp, ap, xp, hw, ohw], planes, planes * hw))
  e.copyOut(gradX, xp, planes * hw)
}

// clipped window [y0, y1) x [x0, x1) of output (oy, ox)
function window(g: Pool2dGeometry, oy: number, ox: number): [number, number, number, number] {
  const ys = oy * g.strideH - g.padH
  const xs = ox * g.strideW - g.padW
  return [Math.max(0, ys), Math.min(g.inHeight, ys + g.kernelHeight), Math.max(0, xs), Math.min(g.inWidth, xs + g.kernelWidth)]
}

export function maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
  const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
  if (g.kernelHeight === 2 && g.kernelWidth === 2 && g.strideH === 2 && g.strideW === 2 && g.padH === 0 && g.padW === 0) {
    maxPool2x2(x, out, argmax, g)
    return
  }
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
            }
          }
        }
        out[o] = best
        argmax[o] = bestIdx
      }
    }
  }
}

// The common 2x2 / stride 2 / no padding case, unrolled. It replays the reference's rule tap by
// tap: take v if v > best or v is NaN.
function maxPool2x2(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
  const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
  for (let plane = 0; plane < batch * channels; plane++) {
    const xo = plane * H * W
    let o = plane * OH * OW
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, o++) {
        const p = 2 * oy * W + 2 * ox
        let best = x[xo + p]!
        let bi = p
        const v1 = x[xo + p + 1]!
        if (v1 > best || v1 !== v1) {
          best = v1
          bi = p + 1
        }
        const v2 = x[xo + p + W]!
        if (v2 > best || v2 !== v2) {
          best = v2
          bi = p + W
        }
        const v3 = x[xo + p + W + 1]!
        if (v3 > best || v3 !== v3) {
          best = v3
          bi = p + W + 1
        }
        out[o] = best
        argmax[o] = bi
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
