// The reference backend: every kernel as the plainest loop that states its math.
// It is the specification the fast and GPU.js backends are tested against, and it
// runs in float64 for gradcheck. It accumulates in the array's own precision.
import type { AdamUpdate, Backend, BackendInfo, BinaryOp, SgdUpdate, Conv2dGeometry, FloatArray, GatherGeometry, MatmulShape, Pool2dGeometry, RegionCopy, UnaryOp } from './backend.js'
import type { TypedArray } from '../dtype.js'
import { formatShape, forEachRun, stridesOf, type Broadcast } from '../shape.js'
import { Counters, type BackendStats } from './counters.js'
import { referencePriorPasses, type PriorPasses, type PriorPassesInput } from './prior-passes.js'

/**
 * The specification backend: every kernel as the plainest loop, float32 and float64; the others are tested against it.
 * @example setBackend('reference')
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference'
  // Kernel calls only: the loops read and write the callers' arrays, so nothing is copied.
  private readonly count = new Counters()

  info(): BackendInfo {
    return { name: this.name, description: 'plain TypeScript loops (float32 and float64)', hardwareGpu: false }
  }

  counters(): BackendStats {
    return this.count.snapshot()
  }

  unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
    this.count.kernel()
    const run = UNARY[op]
    if (run === undefined) throw new Error(`unary: unknown function '${op}'; expected one of ${Object.keys(UNARY).join(', ')}`)
    run(x, out)
  }

  clamp(x: TypedArray, out: TypedArray, min: number, max: number): void {
    this.count.kernel()
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!
      out[i] = v < min ? min : v > max ? max : v
    }
  }

  // Run by run along the output's last dim; each input steps by its stride there (0 = broadcast).
  binary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.count.kernel()
    const run = BINARY[op]
    if (run === undefined) throw new Error(`binary: unknown function '${op}'; expected one of ${Object.keys(BINARY).join(', ')}`)
    const [sa, sb] = lastStrides(g)
    const n = g.shape[g.shape.length - 1]!
    forEachRun(g, (o, [ia, ib]) => run(a, ia!, sa!, b, ib!, sb!, out, o, n))
  }

  // Run by run along the last dim: a run that reads along x is one block copy, a repeated one a fill.
  expand(x: TypedArray, out: TypedArray, g: Broadcast): void {
    this.count.kernel()
    const n = g.shape[g.shape.length - 1]!
    const along = g.strides[0]![g.shape.length - 1] !== 0
    forEachRun(g, (o, [i]) => {
      if (along) out.set(x.subarray(i!, i! + n), o)
      else out.fill(x[i!]!, o, o + n)
    })
  }

  // Run by run along the box's last dim (a block copy where both step by 1), each run's start in
  // out from out's strides and in src from the source's.
  copyRegion(src: TypedArray, out: TypedArray, r: RegionCopy): void {
    this.count.kernel()
    // (a box that is the whole output leaves nothing to fill)
    const whole = r.size.every((n, d) => n === r.outShape[d] && r.start[d] === 0)
    if (r.fill !== null && !whole) out.fill(r.fill)
    const box = r.size.length === 0 ? [1] : r.size
    const os = r.size.length === 0 ? [1] : stridesOf(r.outShape)
    const ss = r.size.length === 0 ? [1] : r.srcStrides
    const base = r.start.reduce((s, b, d) => s + b * os[d]!, 0)
    const last = box.length - 1
    const [n, so, si] = [box[last]!, os[last]!, ss[last]!]
    forEachRun({ shape: box, strides: [os, ss] }, (_, [o, i]) => {
      const [p, q] = [base + o!, r.srcOffset + i!]
      if (so === 1 && si === 1) out.set(src.subarray(q, q + n), p)
      else for (let k = 0; k < n; k++) out[p + k * so] = src[q + k * si]!
    })
  }

  where(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void {
    this.count.kernel()
    const [sc, sa, sb] = lastStrides(g) as [number, number, number]
    const n = g.shape[g.shape.length - 1]!
    forEachRun(g, (o, offsets) => {
      let [ic, ia, ib] = offsets as [number, number, number]
      for (const end = o + n; o < end; o++, ic += sc, ia += sa, ib += sb) out[o] = cond[ic] !== 0 ? a[ia]! : b[ib]!
    })
  }

  argReduce(which: 'max' | 'min', x: TypedArray, out: Int32Array, outer: number, size: number, inner: number): void {
    this.count.kernel()
    for (let o = 0; o < outer; o++) {
      for (let e = 0; e < inner; e++) {
        let bi = 0
        let best = x[o * size * inner + e]!
        for (let k = 1; k < size && !Number.isNaN(best); k++) {
          const v = x[(o * size + k) * inner + e]!
          // NOTE: the first extremum wins ties; a NaN wins over everything, as in PyTorch.
          if ((which === 'max' ? v > best : v < best) || Number.isNaN(v)) [bi, best] = [k, v]
        }
        out[o * inner + e] = bi
      }
    }
  }

  // Every entry of index, row-major, with the flat offset in x of its coordinates off `dim`
  // (x's strides, `dim`'s set to 0): gather reads x there plus index[i] steps along `dim`.
  gather(x: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.count.kernel()
    gatherOffsets(g, index, (i, at) => { out[i] = x[at]! })
  }

  scatterAdd(src: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void {
    this.count.kernel()
    out.fill(0)
    gatherOffsets(g, index, (i, at) => { out[at]! += src[i]! })
  }

  // Reducing the last dims (inner = 1), each output is one contiguous run, summed in a local
  // (a JS number: float64, rounded once when stored). Otherwise whole rows of `inner` entries are
  // added into the output, k by k, rounding to its dtype at each step.
  sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
    this.count.kernel()
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        let acc = 0
        for (let k = o * size, end = k + size; k < end; k++) acc += x[k]!
        out[o] = acc
      }
      return
    }
    out.fill(0, 0, outer * inner)
    for (let o = 0; o < outer; o++) {
      const ob = o * inner
      for (let k = 0; k < size; k++) {
        const ib = (o * size + k) * inner
        for (let i = 0; i < inner; i++) out[ob + i]! += x[ib + i]!
      }
    }
  }

  // C[b,i,j] = sum_p opA[b,i,p] * opB[b,p,j]
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, s: MatmulShape): void {
    this.count.kernel()
    const { batch, m, k, n, transA, transB } = s
    for (let t = 0; t < batch; t++) {
      const ao = t * m * k
      const bo = t * k * n
      const co = t * m * n
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0
          for (let p = 0; p < k; p++) {
            const av = transA ? a[ao + p * m + i]! : a[ao + i * k + p]!
            const bv = transB ? b[bo + j * k + p]! : b[bo + p * n + j]!
            acc += av * bv
          }
          out[co + i * n + j] = acc
        }
      }
    }
  }

  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv2dGeometry): void {
    this.count.kernel()
    const { batch, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g
    const { kernelHeight: KH, kernelWidth: KW, strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    for (let nb = 0; nb < batch; nb++) {
      for (let o = 0; o < O; o++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            let acc = bias ? bias[o]! : 0
            for (let c = 0; c < C; c++) {
              for (let i = 0; i < KH; i++) {
                const iy = oy * strideH - padH + i
                if (iy < 0 || iy >= H) continue
                for (let j = 0; j < KW; j++) {
                  const ix = ox * strideW - padW + j
                  if (ix < 0 || ix >= W) continue
                  acc += x[((nb * C + c) * H + iy) * W + ix]! * w[((o * C + c) * KH + i) * KW + j]!
                }
              }
            }
            out[((nb * O + o) * OH + oy) * OW + ox] = acc
          }
        }
      }
    }
  }

  // dx[n,c,iy,ix] = sum over every output tap that read x[n,c,iy,ix] of gradOut * w
  conv2dGradInput(gradOut: FloatArray, w: FloatArray, gradX: FloatArray, g: Conv2dGeometry): void {
    this.count.kernel()
    const { batch, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g
    const { kernelHeight: KH, kernelWidth: KW, strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    gradX.fill(0)
    for (let nb = 0; nb < batch; nb++) {
      for (let o = 0; o < O; o++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++) {
            const go = gradOut[((nb * O + o) * OH + oy) * OW + ox]!
            for (let c = 0; c < C; c++) {
              for (let i = 0; i < KH; i++) {
                const iy = oy * strideH - padH + i
                if (iy < 0 || iy >= H) continue
                for (let j = 0; j < KW; j++) {
                  const ix = ox * strideW - padW + j
                  if (ix < 0 || ix >= W) continue
                  gradX[((nb * C + c) * H + iy) * W + ix]! += go * w[((o * C + c) * KH + i) * KW + j]!
                }
              }
            }
          }
        }
      }
    }
  }

  // dw[o,c,i,j] = sum_{n,oy,ox} gradOut[n,o,oy,ox] * x[n,c,oy*s-p+i,ox*s-p+j]
  conv2dGradWeight(gradOut: FloatArray, x: FloatArray, gradW: FloatArray, g: Conv2dGeometry): void {
    this.count.kernel()
    const { batch, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g
    const { kernelHeight: KH, kernelWidth: KW, strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < KH; i++) {
          for (let j = 0; j < KW; j++) {
            let acc = 0
            for (let nb = 0; nb < batch; nb++) {
              for (let oy = 0; oy < OH; oy++) {
                const iy = oy * strideH - padH + i
                if (iy < 0 || iy >= H) continue
                for (let ox = 0; ox < OW; ox++) {
                  const ix = ox * strideW - padW + j
                  if (ix < 0 || ix >= W) continue
                  acc += gradOut[((nb * O + o) * OH + oy) * OW + ox]! * x[((nb * C + c) * H + iy) * W + ix]!
                }
              }
            }
            gradW[((o * C + c) * KH + i) * KW + j] = acc
          }
        }
      }
    }
  }

  maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void {
    this.count.kernel()
    const { batch, channels, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW } = g
    const { strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    for (let plane = 0; plane < batch * channels; plane++) {
      const xo = plane * H * W
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let best = -Infinity
          let bestIdx = -1
          for (let i = 0; i < KH; i++) {
            const iy = oy * strideH - padH + i
            if (iy < 0 || iy >= H) continue
            for (let j = 0; j < KW; j++) {
              const ix = ox * strideW - padW + j
              if (ix < 0 || ix >= W) continue
              const v = x[xo + iy * W + ix]!
              // NOTE: PyTorch's rule (val > maxval || isnan(val)): ties keep the first maximum in
              // row-major window order, and every NaN is taken, so a NaN is never hidden by pooling
              // and the last NaN of a window gets the gradient. Pinned by test/fixtures/edge-cases.json.
              if (v > best || bestIdx < 0 || Number.isNaN(v)) {
                best = v
                bestIdx = iy * W + ix
              }
            }
          }
          const o = (plane * OH + oy) * OW + ox
          out[o] = best
          argmax[o] = bestIdx
        }
      }
    }
  }

  maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void {
    this.count.kernel()
    const { batch, channels, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g
    gradX.fill(0)
    for (let plane = 0; plane < batch * channels; plane++) {
      for (let p = 0; p < OH * OW; p++) {
        const o = plane * OH * OW + p
        gradX[plane * H * W + argmax[o]!]! += gradOut[o]!
      }
    }
  }

  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
    this.count.kernel()
    const { batch, channels, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW } = g
    const { strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    for (let plane = 0; plane < batch * channels; plane++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let acc = 0
          for (let i = 0; i < KH; i++) {
            const iy = oy * strideH - padH + i
            if (iy < 0 || iy >= H) continue
            for (let j = 0; j < KW; j++) {
              const ix = ox * strideW - padW + j
              if (ix < 0 || ix >= W) continue
              acc += x[plane * H * W + iy * W + ix]!
            }
          }
          out[(plane * OH + oy) * OW + ox] = acc / poolDivisor(g, oy, ox)
        }
      }
    }
  }

  avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void {
    this.count.kernel()
    const { batch, channels, inHeight: H, inWidth: W, kernelHeight: KH, kernelWidth: KW } = g
    const { strideH, strideW, padH, padW, outHeight: OH, outWidth: OW } = g
    gradX.fill(0)
    for (let plane = 0; plane < batch * channels; plane++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          const go = gradOut[(plane * OH + oy) * OW + ox]! / poolDivisor(g, oy, ox)
          for (let i = 0; i < KH; i++) {
            const iy = oy * strideH - padH + i
            if (iy < 0 || iy >= H) continue
            for (let j = 0; j < KW; j++) {
              const ix = ox * strideW - padW + j
              if (ix < 0 || ix >= W) continue
              gradX[plane * H * W + iy * W + ix]! += go
            }
          }
        }
      }
    }
  }

  // Adam (Kingma & Ba, Algorithm 1) in torch's order of operations (bias corrections folded into
  // stepSize and bc2Sqrt, eps added after dividing sqrt(v) by bc2Sqrt), which makes float64
  // trajectories agree with PyTorch to ~1e-15. m and v are read back after being written, so
  // float32 state rounds as torch's does.
  adamUpdate(p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamUpdate): void {
    this.count.kernel()
    const { beta1, beta2, stepSize, bc2Sqrt, eps, weightDecay, decoupled, decay, maximize } = h
    for (let i = 0; i < p.length; i++) {
      let g = maximize ? -grad[i]! : grad[i]!
      if (weightDecay !== 0) {
        if (decoupled) p[i] = p[i]! * decay // AdamW: decay the weight itself
        else g = g + weightDecay * p[i]! // Adam: an L2 term in the gradient
      }
      m[i] = m[i]! * beta1 + (1 - beta1) * g
      v[i] = v[i]! * beta2 + (1 - beta2) * g * g
      let second = v[i]!
      if (vMax !== null) {
        // amsgrad: divide by the largest v seen so far
        if (second > vMax[i]!) vMax[i] = second
        second = vMax[i]!
      }
      p[i] = p[i]! + (-stepSize * m[i]!) / (Math.sqrt(second) / bc2Sqrt + eps)
    }
  }

  // SGD with momentum as torch.optim.SGD (1.13): d = g + weightDecay p; buf = momentum buf +
  // (1 - dampening) d (the first step starts buf at d itself); d = nesterov ? d + momentum buf :
  // buf; p = p - lr d, in torch's order of operations.
  sgdUpdate(p: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdUpdate): void {
    this.count.kernel()
    const { lr, momentum, dampening, nesterov, weightDecay, maximize, first } = h
    for (let i = 0; i < p.length; i++) {
      let d = maximize ? -grad[i]! : grad[i]!
      if (weightDecay !== 0) d = d + weightDecay * p[i]!
      if (buf !== null) {
        buf[i] = first ? d : buf[i]! * momentum + (1 - dampening) * d
        d = nesterov ? d + momentum * buf[i]! : buf[i]!
      }
      p[i] = p[i]! + -lr * d
    }
  }

  // Tensors of the reference backend always live on the host.
  // The dynamic prior's sampling sweeps: the kernels' oracle in plain JS (prior-passes.ts).
  priorPasses(input: PriorPassesInput): PriorPasses {
    this.count.kernel()
    return referencePriorPasses(input)
  }

  allocResident(): TypedArray | null {
    return null
  }

  freeResident(): void {
    throw new Error('freeResident: the reference backend has no memory of its own')
  }

  allocPersistent(): TypedArray | null {
    return null
  }

  holds(): boolean {
    return false
  }

  dispose(): void {}
}

// ---- elementwise functions ---------------------------------------------------------
// One loop per function rather than one loop calling f per element: each loop stays monomorphic,
// so V8 inlines the formula and the typed-array accesses (a shared loop calling a different f per
// op costs 10-30 ns per element here, measured).

// NOTE: relu uses Math.max, so NaN stays NaN. V8 compiles it to a compare and branch, which
// mispredicts on half of random inputs (~7 ns per element here); the wasm backend's SIMD kernel
// (wasm/elementwise-kernels.ts) is the fast path. sigmoid uses the form that never overflows exp: for x < 0,
// e^x / (1 + e^x).
const UNARY: Record<UnaryOp, (x: TypedArray, out: TypedArray) => void> = {
  neg: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = -x[i]! },
  exp: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]!) },
  log: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]!) },
  sqrt: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]!) },
  abs: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]!) },
  relu: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.max(x[i]!, 0) },
  sigmoid: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!
      out[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))
    }
  },
  tanh: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]!) },
  reciprocal: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = 1 / x[i]! },
  // -1, 0 or 1; -0, +0 and NaN are kept
  sign: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!
      out[i] = v > 0 ? 1 : v < 0 ? -1 : v
    }
  },
  trunc: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Math.trunc(x[i]!) },
  copy: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = x[i]! },
  isfinite: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = Number.isFinite(x[i]!) ? 1 : 0 },
}

// out[o, o+n) = f(a[ia], b[ib]), ia and ib stepping by sa and sb: one run of the output's last dim.
type BinaryRun = (a: TypedArray, ia: number, sa: number, b: TypedArray, ib: number, sb: number, out: TypedArray, o: number, n: number) => void

// NOTE: maximum/minimum propagate NaN (Math.max/min return NaN), as torch.maximum does.
const BINARY: Record<BinaryOp, BinaryRun> = {
  add: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! + b[ib]! },
  mul: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! * b[ib]! },
  pow: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = Math.pow(a[ia]!, b[ib]!) },
  maximum: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = Math.max(a[ia]!, b[ib]!) },
  minimum: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = Math.min(a[ia]!, b[ib]!) },
  eq: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! === b[ib]! ? 1 : 0 },
  gt: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! > b[ib]! ? 1 : 0 },
  lt: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! < b[ib]! ? 1 : 0 },
  ge: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! >= b[ib]! ? 1 : 0 },
  le: (a, ia, sa, b, ib, sb, out, o, n) => { for (const end = o + n; o < end; o++, ia += sa, ib += sb) out[o] = a[ia]! <= b[ib]! ? 1 : 0 },
}

/** Throws, naming the op, at the first entry of `index` outside x's dim `g.dim`. */
export function checkGatherIndex(g: GatherGeometry, index: Int32Array): void {
  const size = g.xShape[g.dim]!
  for (let i = 0; i < index.length; i++) {
    const k = index[i]!
    if (k < 0 || k >= size) {
      throw new Error(`${g.op}: index ${k} at position ${i} is out of range for dim ${g.dim} of size ${size} (x shape ${formatShape(g.xShape)})`)
    }
  }
}

// Visits every entry i of index (row-major over g.indexShape) with `at`, the flat offset in x of
// its coordinates with `dim`'s replaced by index[i]; an index outside x's dim is an error.
function gatherOffsets(g: GatherGeometry, index: Int32Array, visit: (i: number, at: number) => void): void {
  checkGatherIndex(g, index)
  const xs = stridesOf(g.xShape)
  const rank = g.indexShape.length
  const coord = new Array<number>(rank).fill(0)
  let base = 0 // offset of the current coordinates in x, `dim` excluded
  for (let i = 0; i < index.length; i++) {
    visit(i, base + index[i]! * xs[g.dim]!)
    // odometer over index's shape, last dim fastest
    for (let d = rank - 1; d >= 0; d--) {
      if (++coord[d]! < g.indexShape[d]!) {
        if (d !== g.dim) base += xs[d]!
        break
      }
      if (d !== g.dim) base -= (g.indexShape[d]! - 1) * xs[d]!
      coord[d] = 0
    }
  }
}

// Each input's step along the last dim of a Broadcast.
const lastStrides = (g: Broadcast): number[] => g.strides.map((s) => s[s.length - 1]!)

/**
 * The divisor of one average-pooling window, as PyTorch's count_include_pad=true:
 * the window clipped to the padded input (padding counts, positions past the padding do not).
 */
export function poolDivisor(g: Pool2dGeometry, oy: number, ox: number): number {
  const y0 = oy * g.strideH - g.padH
  const x0 = ox * g.strideW - g.padW
  const y1 = Math.min(y0 + g.kernelHeight, g.inHeight + g.padH)
  const x1 = Math.min(x0 + g.kernelWidth, g.inWidth + g.padW)
  return (y1 - y0) * (x1 - x0)
}
