// Convolutions as one GEMM each over the whole batch, with K = C*KH*KW and NS = N*OH*OW:
//   forward:    out'[O, NS]  = W[O, K] @ col[K, NS]            (+ bias, fused into the copy-out)
//   gradWeight: dW[O, K]     = dY'[O, NS] @ col[K, NS]^T
//   gradInput:  dcol[K, NS]  = W[O, K]^T @ dY'[O, NS], then col2im scatters dcol into dX
// where col[(c,i,j), (n,oy,ox)] = x[n, c, oy*sh - ph + i, ox*sw - pw + j] (0 in the padding) and
// dY' is gradOut [N, O, OH*OW] with its first two axes swapped (done while copying it in).
// One GEMM with n = N*OH*OW instead of N small ones keeps the tiles full for cnn-sized layers.
import type { Conv2dGeometry } from '../backend.js'
import type { WasmEngine } from './engine.js'

/** Write the im2col matrix of x into f[base + row*NS + col] (row = (c,i,j), col = (n,oy,ox)). */
export function im2col(x: Float32Array, f: Float32Array, base: number, g: Conv2dGeometry): void {
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW } = g
  const { strideH: sh, strideW: sw, padH: ph, padW: pw, outHeight: OH, outWidth: OW } = g
  const S = OH * OW
  const NS = N * S
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        const rowBase = base + ((c * KH + i) * KW + j) * NS
        // output columns whose input column ox*sw - pw + j is inside [0, W)
        const lo = Math.min(OW, Math.max(0, Math.ceil((pw - j) / sw)))
        const hi = Math.max(lo, Math.min(OW, Math.floor((W - 1 + pw - j) / sw) + 1))
        for (let n = 0; n < N; n++) {
          const xPlane = (n * C + c) * H * W
          let d = rowBase + n * S
          for (let oy = 0; oy < OH; oy++, d += OW) {
            const iy = oy * sh - ph + i
            if (iy < 0 || iy >= H) {
              f.fill(0, d, d + OW)
              continue
            }
            const xr = xPlane + iy * W - pw + j
            for (let ox = 0; ox < lo; ox++) f[d + ox] = 0
            for (let ox = lo; ox < hi; ox++) f[d + ox] = x[xr + ox * sw]!
            for (let ox = hi; ox < OW; ox++) f[d + ox] = 0
          }
        }
      }
    }
  }
}

/** dX = col2im(dcol): the adjoint of im2col; dcol row r starts at f[base + r*ld]. */
export function col2im(f: Float32Array, base: number, ld: number, gradX: Float32Array, g: Conv2dGeometry): void {
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW } = g
  const { strideH: sh, strideW: sw, padH: ph, padW: pw, outHeight: OH, outWidth: OW } = g
  const S = OH * OW
  gradX.fill(0)
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        const rowBase = base + ((c * KH + i) * KW + j) * ld
        const lo = Math.min(OW, Math.max(0, Math.ceil((pw - j) / sw)))
        const hi = Math.max(lo, Math.min(OW, Math.floor((W - 1 + pw - j) / sw) + 1))
        for (let n = 0; n < N; n++) {
          const xPlane = (n * C + c) * H * W
          let s = rowBase + n * S
          for (let oy = 0; oy < OH; oy++, s += OW) {
            const iy = oy * sh - ph + i
            if (iy < 0 || iy >= H) continue
            const xr = xPlane + iy * W - pw + j
            for (let ox = lo; ox < hi; ox++) gradX[xr + ox * sw]! += f[s + ox]!
          }
        }
      }
    }
  }
}

// f[base + o*NS + n*S + s] = gradOut[n, o, s]
function copyInSwapped(gradOut: Float32Array, f: Float32Array, base: number, N: number, O: number, S: number): void {
  const NS = N * S
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) f.set(gradOut.subarray((n * O + o) * S, (n * O + o + 1) * S), base + o * NS + n * S)
  }
}

/** out = conv2d(x, w) + bias, float32, through im2col + one GEMM. */
export function conv2dForward(e: WasmEngine, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, g: Conv2dGeometry): void {
  const O = g.outChannels
  const K = g.inChannels * g.kernelHeight * g.kernelWidth
  const S = g.outHeight * g.outWidth
  const NS = g.batch * S
  if (NS === 0) return
  const ldc = e.ldcFloats(NS)
  const [wp, colp, outp] = e.reserve([O * K, K * NS, e.paddedRows(O) * ldc]) as [number, number, number]
  let f = e.f32
  f.set(w.subarray(0, O * K), wp / 4)
  im2col(x, f, colp / 4, g)
  e.gemm({ batch: 1, m: O, n: NS, k: K, a: wp, ars: K * 4, acs: 4, sa: 0, b: colp, brs: NS * 4, bcs: 4, sb: 0, c: outp, ldc: ldc * 4, sc: 0 })
  f = e.f32
  for (let o = 0; o < O; o++) {
    const bo = bias ? bias[o]! : 0
    const row = outp / 4 + o * ldc
    for (let n = 0; n < g.batch; n++) {
      const src = row + n * S
      const dst = (n * O + o) * S
      for (let s = 0; s < S; s++) out[dst + s] = f[src + s]! + bo
    }
  }
}

/** gradW = dY' @ col^T. */
export function conv2dGradWeight(e: WasmEngine, gradOut: Float32Array, x: Float32Array, gradW: Float32Array, g: Conv2dGeometry): void {
  const O = g.outChannels
  const K = g.inChannels * g.kernelHeight * g.kernelWidth
  const S = g.outHeight * g.outWidth
  const NS = g.batch * S
  if (NS === 0) {
    gradW.fill(0)
    return
  }
  const ldc = e.ldcFloats(K)
  const [dyp, colp, dwp] = e.reserve([O * NS, K * NS, e.paddedRows(O) * ldc]) as [number, number, number]
  let f = e.f32
  copyInSwapped(gradOut, f, dyp / 4, g.batch, O, S)
  im2col(x, f, colp / 4, g)
  e.gemm({ batch: 1, m: O, n: K, k: NS, a: dyp, ars: NS * 4, acs: 4, sa: 0, b: colp, brs: 4, bcs: NS * 4, sb: 0, c: dwp, ldc: ldc * 4, sc: 0 })
  f = e.f32
  for (let o = 0; o < O; o++) gradW.set(f.subarray(dwp / 4 + o * ldc, dwp / 4 + o * ldc + K), o * K)
}

/** gradX = col2im(W^T @ dY'). */
export function conv2dGradInput(e: WasmEngine, gradOut: Float32Array, w: Float32Array, gradX: Float32Array, g: Conv2dGeometry): void {
  const O = g.outChannels
  const K = g.inChannels * g.kernelHeight * g.kernelWidth
  const S = g.outHeight * g.outWidth
  const NS = g.batch * S
  if (NS === 0) {
    gradX.fill(0)
    return
  }
  const ldc = e.ldcFloats(NS)
  const [wp, dyp, dcolp] = e.reserve([O * K, O * NS, e.paddedRows(K) * ldc]) as [number, number, number]
  let f = e.f32
  f.set(w.subarray(0, O * K), wp / 4)
  copyInSwapped(gradOut, f, dyp / 4, g.batch, O, S)
  e.gemm({ batch: 1, m: K, n: NS, k: O, a: wp, ars: 4, acs: K * 4, sa: 0, b: dyp, brs: NS * 4, bcs: 4, sb: 0, c: dcolp, ldc: ldc * 4, sc: 0 })
  f = e.f32
  col2im(f, dcolp / 4, ldc, gradX, g)
}
