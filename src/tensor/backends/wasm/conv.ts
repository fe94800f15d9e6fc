// Convolutions through im2col + GEMM, with K = C*KH*KW, S = OH*OW and NS = N*S:
//   forward:    out[n] [O, S] = W[O, K] @ col[K, n-th S columns] + bias   (one GEMM per image)
//   gradWeight: dW[O, K]      = dY'[O, NS] @ col[K, NS]^T                  (one GEMM, k = NS)
//   gradInput:  dcol_n[K, S]  = W[O, K]^T @ dY[n] [O, S], then col2im scatters dcol into dX
// where col[(c,i,j), (n,oy,ox)] = x[n, c, oy*sh - ph + i, ox*sw - pw + j] (0 in the padding) and
// dY' is gradOut [N, O, S] with its first two axes swapped (done while copying it in).
// Per-image GEMMs read and write the NCHW tensors in place (no transposing copies) and split
// over threads by image; gradWeight sums over images, so it is one GEMM with a long k instead.
// The bias is written into C first and the GEMM accumulates onto it (as the reference does).
// Operands that live in WASM memory (tensors made inside tidy()) are read and written in place.
import type { Conv2dGeometry } from '../backend.js'
import { GEOM } from './conv-kernels.js'
import type { WasmEngine } from './engine.js'
import type { Task } from './threads.js'

// below this many im2col entries the fork/join costs more than it saves
const PARALLEL_ENTRIES = 1 << 16

/**
 * Write the geometry table read by the im2col/col2im kernels (./conv-kernels.ts) at byte offset
 * `ptr`: the geometry, the col matrix's column stride between images, then lo[j] and hi[j],
 * the output columns ox whose input column ox*sw - pw + j lies inside [0, W).
 */
function writeGeometry(e: WasmEngine, ptr: number, g: Conv2dGeometry, imageStride: number): void {
  const t = new Int32Array(e.memory.buffer, ptr, GEOM.LO + 2 * g.kernelWidth)
  t.set([g.batch, g.inChannels, g.inHeight, g.inWidth, g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.padH, g.padW, g.outHeight, g.outWidth, imageStride])
  for (let j = 0; j < g.kernelWidth; j++) {
    const lo = Math.min(g.outWidth, Math.max(0, Math.ceil((g.padW - j) / g.strideW)))
    t[GEOM.LO + j] = lo
    t[GEOM.LO + g.kernelWidth + j] = Math.max(lo, Math.min(g.outWidth, Math.floor((g.inWidth - 1 + g.padW - j) / g.strideW) + 1))
  }
}

// im2col/col2im tasks: channel bands, or image bands when channels are too few; two per thread.
function convTasks(e: WasmEngine, fn: 'im2col' | 'col2im', args: number[], g: Conv2dGeometry): Task[] {
  const entries = g.inChannels * g.kernelHeight * g.kernelWidth * g.batch * g.outHeight * g.outWidth
  const chunks = entries < PARALLEL_ENTRIES || e.threads === 1 ? 1 : 2 * e.threads
  const byChannel = g.inChannels >= chunks
  const total = byChannel ? g.inChannels : g.batch
  const per = Math.ceil(total / chunks)
  const tasks: Task[] = []
  for (let a = 0; a < total; a += per) {
    const b = Math.min(total, a + per)
    tasks.push({ fn, args: [...args, ...(byChannel ? [a, b, 0, g.batch] : [0, g.inChannels, a, b])] })
  }
  return tasks
}

// f[base + o*NS + n*S + s] = gradOut[n, o, s]
function copyInSwapped(gradOut: Float32Array, f: Float32Array, base: number, N: number, O: number, S: number): void {
  const NS = N * S
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) f.set(gradOut.subarray((n * O + o) * S, (n * O + o + 1) * S), base + o * NS + n * S)
  }
}

// One GEMM over all images (n = N*S) instead of one per image (n = S) when the weight, which
// every per-image GEMM packs again, is bigger than an image's columns (K > S: the late layers
// of VGG and ResNet, whose images are 2x2 to 8x8). Then the weight is packed once per block and
// the tiles are full, for the price of one copy that reorders the result [O, N, S] -> [N, O, S]
// (or gradOut the other way). Each output entry sums the same products in the same order
// either way, so the two paths give the same bits.
const oneGemm = (g: Conv2dGeometry): boolean => g.batch > 1 && g.inChannels * g.kernelHeight * g.kernelWidth > g.outHeight * g.outWidth

/** out = conv2d(x, w) + bias, float32: im2col, then the GEMM(s) onto the bias. */
export function conv2dForward(e: WasmEngine, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, g: Conv2dGeometry): void {
  const O = g.outChannels
  const K = g.inChannels * g.kernelHeight * g.kernelWidth
  const S = g.outHeight * g.outWidth
  const NS = g.batch * S
  if (NS === 0 || O === 0) return
  const one = oneGemm(g)
  // C: per image [O padded to MR rows, S padded to NR columns]; one GEMM: [O padded, NS padded]
  const ldc = e.ldcFloats(one ? NS : S)
  const plane = e.paddedRows(O) * ldc
  const nx = g.batch * g.inChannels * g.inHeight * g.inWidth
  // unpadded per-image C is out itself: the GEMM writes a resident out in place
  const inPlace = !one && ldc === S && plane === O * S
  const cFloats = one ? plane : g.batch * plane
  const [gp, xs, ws, colp, outs] = e.reserve([GEOM.LO + 2 * g.kernelWidth, e.scratchFor(x, nx), e.scratchFor(w, O * K), K * NS,
    inPlace ? e.scratchFor(out, cFloats) : cFloats]) as [number, number, number, number, number]
  const xp = e.input(x, xs, nx)
  const wp = e.input(w, ws, O * K)
  const outp = inPlace ? e.output(out, outs) : outs
  writeGeometry(e, gp, g, S)
  e.run(convTasks(e, 'im2col', [gp, xp, colp, NS], g))
  let f = e.f32
  const c0 = outp / 4
  if (one) {
    if (bias) for (let o = 0; o < O; o++) f.fill(bias[o]!, c0 + o * ldc, c0 + o * ldc + NS)
    e.gemm({ batch: 1, m: O, n: NS, k: K, a: wp, ars: K * 4, acs: 4, sa: 0, b: colp, brs: NS * 4, bcs: 4, sb: 0,
      c: outp, ldc: ldc * 4, sc: 0, accumulate: bias !== null })
    f = e.f32
    for (let n = 0; n < g.batch; n++) {
      for (let o = 0; o < O; o++) out.set(f.subarray(c0 + o * ldc + n * S, c0 + o * ldc + (n + 1) * S), (n * O + o) * S)
    }
    return
  }
  if (bias) for (let n = 0; n < g.batch; n++) for (let o = 0; o < O; o++) f.fill(bias[o]!, c0 + n * plane + o * ldc, c0 + n * plane + o * ldc + S)
  e.gemm({ batch: g.batch, m: O, n: S, k: K, a: wp, ars: K * 4, acs: 4, sa: 0, b: colp, brs: NS * 4, bcs: 4, sb: S * 4,
    c: outp, ldc: ldc * 4, sc: plane * 4, accumulate: bias !== null })
  if (inPlace) return e.copyOut(out, outp, g.batch * O * S)
  f = e.f32
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < O; o++) out.set(f.subarray(c0 + n * plane + o * ldc, c0 + n * plane + o * ldc + S), (n * O + o) * S)
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
  const nx = g.batch * g.inChannels * g.inHeight * g.inWidth
  const [gp, xs, dyp, colp, dwp] = e.reserve([GEOM.LO + 2 * g.kernelWidth, e.scratchFor(x, nx), O * NS, K * NS, e.paddedRows(O) * ldc]) as [number, number, number, number, number]
  const xp = e.input(x, xs, nx)
  let f = e.f32
  copyInSwapped(gradOut, f, dyp / 4, g.batch, O, S)
  writeGeometry(e, gp, g, S)
  e.run(convTasks(e, 'im2col', [gp, xp, colp, NS], g))
  e.gemm({ batch: 1, m: O, n: K, k: NS, a: dyp, ars: NS * 4, acs: 4, sa: 0, b: colp, brs: 4, bcs: NS * 4, sb: 0, c: dwp, ldc: ldc * 4, sc: 0 })
  f = e.f32
  for (let o = 0; o < O; o++) gradW.set(f.subarray(dwp / 4 + o * ldc, dwp / 4 + o * ldc + K), o * K)
}

/** gradX = col2im(W^T @ dY), per image or as one GEMM over the images (see oneGemm). */
export function conv2dGradInput(e: WasmEngine, gradOut: Float32Array, w: Float32Array, gradX: Float32Array, g: Conv2dGeometry): void {
  const O = g.outChannels
  const K = g.inChannels * g.kernelHeight * g.kernelWidth
  const S = g.outHeight * g.outWidth
  const nx = g.batch * g.inChannels * g.inHeight * g.inWidth
  if (S === 0 || O === 0) {
    gradX.fill(0)
    return
  }
  const one = oneGemm(g)
  // dcol: [K padded to MR rows, N images x is columns], is = S padded to NR per image (so the
  // images' tiles never overlap), or S exactly when one GEMM writes all the columns
  const is = one ? S : e.ldcFloats(S)
  const ld = one ? e.ldcFloats(g.batch * S) : g.batch * is
  const ny = g.batch * O * S
  const [gp, ws, dys, dcolp, dxs] = e.reserve([GEOM.LO + 2 * g.kernelWidth, e.scratchFor(w, O * K), one ? ny : e.scratchFor(gradOut, ny), e.paddedRows(K) * ld, e.scratchFor(gradX, nx)]) as [number, number, number, number, number]
  const wp = e.input(w, ws, O * K)
  const dxp = e.output(gradX, dxs)
  writeGeometry(e, gp, g, is)
  if (one) {
    // dY' = gradOut as [O, N*S]
    copyInSwapped(gradOut, e.f32, dys / 4, g.batch, O, S)
    e.gemm({ batch: 1, m: K, n: g.batch * S, k: O, a: wp, ars: 4, acs: K * 4, sa: 0, b: dys, brs: g.batch * S * 4, bcs: 4, sb: 0, c: dcolp, ldc: ld * 4, sc: 0 })
  } else {
    const dyp = e.input(gradOut, dys, ny)
    e.gemm({ batch: g.batch, m: K, n: S, k: O, a: wp, ars: 4, acs: K * 4, sa: 0, b: dyp, brs: S * 4, bcs: 4, sb: O * S * 4,
      c: dcolp, ldc: ld * 4, sc: is * 4 })
  }
  e.run(convTasks(e, 'col2im', [gp, dcolp, ld, dxp], g))
  e.copyOut(gradX, dxp, nx)
}
