// GPU.js kernel sources for the gpujs backend, one thread per output element.
// Each kernel has a flat 1-D output (its index is the row-major offset into the backend's
// `out` array) and flat 1-D inputs, so any kernel's output texture can be any kernel's input
// (a 2-D output would have to be read as rows by the next kernel).
// Sources are plain strings, not functions: GPU.js parses function text, and a string
// survives tsx, esbuild bundling and minification unchanged.
//
// NOTE: every loop bound is `this.constants.*`, which GPU.js compiles into the shader
// directly; each kernel also gets loopMaxIterations = its largest constant + 1 (above every
// loop bound), because GPU.js silently stops any loop it cannot prove bounded after
// loopMaxIterations (1000 by default).
// NOTE: integer coordinates come from `Math.floor((r + 0.5) / d)`: on GL the thread index is a
// float, and a GPU may divide as r * (1/d); the +0.5 keeps the floor exact for r < 2^24.
import type { Conv2dGeometry, MatmulShape, Pool2dGeometry } from '../backend.js'

/** A kernel's text and settings; `key` identifies (op, shape) in the backend's cache. */
export interface KernelSpec {
  key: string
  op: string
  source: string
  /** number of output elements (threads) */
  outputLength: number
  /** GPU.js output size: always [length] */
  output: number[]
  constants: Record<string, number>
  loopMaxIterations: number
}

/** A KernelSpec keyed by op and shape; loopMaxIterations above every constant (loop bounds are constants). */
export function spec(op: string, shape: object, source: string, outputLength: number, constants: Record<string, number>): KernelSpec {
  const output = [outputLength]
  const loopMax = Math.max(...Object.values(constants), 1) + 1
  const key = `${op}:${JSON.stringify(shape)}`
  return { key, op, source, outputLength, output, constants, loopMaxIterations: loopMax }
}

/** Splits the flat thread index into (a, r): a = floor(idx / d), r = idx - a*d. */
export function divmod(a: string, r: string, idx: string, d: string): string {
  return `const ${a} = Math.floor((${idx} + 0.5) / ${d});\n  const ${r} = ${idx} - ${a} * ${d};`
}

/** C[b,i,j] = sum_p opA[b,i,p] opB[b,p,j]; output index (b*M + i)*N + j. */
export function matmulSpec(s: MatmulShape): KernelSpec {
  const aIdx = s.transA ? 'ao + p * this.constants.M + i' : 'ao + i * this.constants.K + p'
  const bIdx = s.transB ? 'bo + j * this.constants.K + p' : 'bo + p * this.constants.N + j'
  const coords = `${divmod('t', 'r', 'this.thread.x', 'this.constants.MN')}\n  ${divmod('i', 'j', 'r', 'this.constants.N')}`
  const source = `function (a, b) {
  ${coords}
  const ao = t * this.constants.MK;
  const bo = t * this.constants.KN;
  let acc = 0.0;
  for (let p = 0; p < this.constants.K; p++) {
    acc += a[${aIdx}] * b[${bIdx}];
  }
  return acc;
}`
  const { batch, m, k, n } = s
  const constants = { M: m, K: k, N: n, MN: m * n, MK: m * k, KN: k * n }
  return spec('matmul', s, source, batch * m * n, constants)
}

function convConstants(g: Conv2dGeometry): Record<string, number> {
  return {
    C: g.inChannels, H: g.inHeight, W: g.inWidth, O: g.outChannels, KH: g.kernelHeight, KW: g.kernelWidth,
    SH: g.strideH, SW: g.strideW, PH: g.padH, PW: g.padW, OH: g.outHeight, OW: g.outWidth, NB: g.batch,
  }
}

/** out[n,o,oy,ox] = bias[o] + sum_{c,i,j} x[n,c,oy*s-p+i,ox*s-p+j] w[o,c,i,j]. */
export function conv2dSpec(g: Conv2dGeometry, hasBias: boolean): KernelSpec {
  const source = `function (x, w${hasBias ? ', bias' : ''}) {
  ${divmod('q1', 'ox', 'this.thread.x', 'this.constants.OW')}
  ${divmod('q2', 'oy', 'q1', 'this.constants.OH')}
  ${divmod('nb', 'o', 'q2', 'this.constants.O')}
  let acc = ${hasBias ? 'bias[o]' : '0.0'};
  for (let c = 0; c < this.constants.C; c++) {
    for (let i = 0; i < this.constants.KH; i++) {
      const iy = oy * this.constants.SH - this.constants.PH + i;
      if (iy >= 0 && iy < this.constants.H) {
        for (let j = 0; j < this.constants.KW; j++) {
          const ix = ox * this.constants.SW - this.constants.PW + j;
          if (ix >= 0 && ix < this.constants.W) {
            acc += x[((nb * this.constants.C + c) * this.constants.H + iy) * this.constants.W + ix]
              * w[((o * this.constants.C + c) * this.constants.KH + i) * this.constants.KW + j];
          }
        }
      }
    }
  }
  return acc;
}`
  const length = g.batch * g.outChannels * g.outHeight * g.outWidth
  return spec(hasBias ? 'conv2d+bias' : 'conv2d', g, source, length, convConstants(g))
}

/**
 * dx[n,c,iy,ix] = sum_{o,i,j} gradOut[n,o,oy,ox] w[o,c,i,j] over the taps with
 * oy*s-p+i = iy and ox*s-p+j = ix (a gather, so no two threads write one element).
 */
export function conv2dGradInputSpec(g: Conv2dGeometry): KernelSpec {
  const source = `function (gradOut, w) {
  ${divmod('q1', 'ix', 'this.thread.x', 'this.constants.W')}
  ${divmod('q2', 'iy', 'q1', 'this.constants.H')}
  ${divmod('nb', 'c', 'q2', 'this.constants.C')}
  let acc = 0.0;
  for (let i = 0; i < this.constants.KH; i++) {
    const ty = iy + this.constants.PH - i;
    const oy = Math.floor((ty + 0.5) / this.constants.SH);
    if (ty >= 0 && oy * this.constants.SH == ty && oy < this.constants.OH) {
      for (let j = 0; j < this.constants.KW; j++) {
        const tx = ix + this.constants.PW - j;
        const ox = Math.floor((tx + 0.5) / this.constants.SW);
        if (tx >= 0 && ox * this.constants.SW == tx && ox < this.constants.OW) {
          for (let o = 0; o < this.constants.O; o++) {
            acc += gradOut[((nb * this.constants.O + o) * this.constants.OH + oy) * this.constants.OW + ox]
              * w[((o * this.constants.C + c) * this.constants.KH + i) * this.constants.KW + j];
          }
        }
      }
    }
  }
  return acc;
}`
  return spec('conv2dGradInput', g, source, g.batch * g.inChannels * g.inHeight * g.inWidth, convConstants(g))
}

/** dw[o,c,i,j] = sum_{n,oy,ox} gradOut[n,o,oy,ox] x[n,c,oy*s-p+i,ox*s-p+j]; the reduction is batch*OH*OW long. */
export function conv2dGradWeightSpec(g: Conv2dGeometry): KernelSpec {
  const source = `function (gradOut, x) {
  ${divmod('q1', 'j', 'this.thread.x', 'this.constants.KW')}
  ${divmod('q2', 'i', 'q1', 'this.constants.KH')}
  ${divmod('o', 'c', 'q2', 'this.constants.C')}
  let acc = 0.0;
  for (let nb = 0; nb < this.constants.NB; nb++) {
    for (let oy = 0; oy < this.constants.OH; oy++) {
      const iy = oy * this.constants.SH - this.constants.PH + i;
      if (iy >= 0 && iy < this.constants.H) {
        for (let ox = 0; ox < this.constants.OW; ox++) {
          const ix = ox * this.constants.SW - this.constants.PW + j;
          if (ix >= 0 && ix < this.constants.W) {
            acc += gradOut[((nb * this.constants.O + o) * this.constants.OH + oy) * this.constants.OW + ox]
              * x[((nb * this.constants.C + c) * this.constants.H + iy) * this.constants.W + ix];
          }
        }
      }
    }
  }
  return acc;
}`
  const length = g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth
  return spec('conv2dGradWeight', g, source, length, convConstants(g))
}

function poolConstants(g: Pool2dGeometry): Record<string, number> {
  return {
    H: g.inHeight, W: g.inWidth, KH: g.kernelHeight, KW: g.kernelWidth,
    SH: g.strideH, SW: g.strideW, PH: g.padH, PW: g.padW, OH: g.outHeight, OW: g.outWidth,
  }
}

/**
 * Max pooling, returning the argmax (flat index iy*W+ix inside the plane, first on ties,
 * -1 for a window entirely in padding) as a float; the backend gathers the values.
 */
export function maxPool2dSpec(g: Pool2dGeometry): KernelSpec {
  const source = `function (x) {
  ${divmod('q1', 'ox', 'this.thread.x', 'this.constants.OW')}
  ${divmod('plane', 'oy', 'q1', 'this.constants.OH')}
  const xo = plane * this.constants.H * this.constants.W;
  let best = 0.0;
  let bestIdx = -1.0;
  for (let i = 0; i < this.constants.KH; i++) {
    const iy = oy * this.constants.SH - this.constants.PH + i;
    if (iy >= 0 && iy < this.constants.H) {
      for (let j = 0; j < this.constants.KW; j++) {
        const ix = ox * this.constants.SW - this.constants.PW + j;
        if (ix >= 0 && ix < this.constants.W) {
          const v = x[xo + iy * this.constants.W + ix];
          if (bestIdx < 0.0 || v > best) {
            best = v;
            bestIdx = iy * this.constants.W + ix;
          }
        }
      }
    }
  }
  return bestIdx;
}`
  return spec('maxPool2d', g, source, g.batch * g.channels * g.outHeight * g.outWidth, poolConstants(g))
}

/** out[plane,oy,ox] = x at the window's argmax (from maxPool2dSpec); -inf for a window entirely in padding. */
export function maxPool2dValuesSpec(g: Pool2dGeometry): KernelSpec {
  const source = `function (x, argmax, negInf) {
  const plane = Math.floor((this.thread.x + 0.5) / this.constants.OHW);
  const k = argmax[this.thread.x];
  if (k < 0.0) { return negInf; }
  return x[plane * this.constants.HW + k];
}`
  return spec('maxPool2dValues', g, source, g.batch * g.channels * g.outHeight * g.outWidth, { OHW: g.outHeight * g.outWidth, HW: g.inHeight * g.inWidth })
}

/** dx[plane,iy,ix] = sum of gradOut over the windows whose argmax is (iy, ix). */
export function maxPool2dBackwardSpec(g: Pool2dGeometry): KernelSpec {
  const source = `function (gradOut, argmax) {
  ${divmod('q1', 'ix', 'this.thread.x', 'this.constants.W')}
  ${divmod('plane', 'iy', 'q1', 'this.constants.H')}
  const target = iy * this.constants.W + ix;
  const go = plane * this.constants.OH * this.constants.OW;
  let acc = 0.0;
  for (let i = 0; i < this.constants.KH; i++) {
    const ty = iy + this.constants.PH - i;
    const oy = Math.floor((ty + 0.5) / this.constants.SH);
    if (ty >= 0 && oy * this.constants.SH == ty && oy < this.constants.OH) {
      for (let j = 0; j < this.constants.KW; j++) {
        const tx = ix + this.constants.PW - j;
        const ox = Math.floor((tx + 0.5) / this.constants.SW);
        if (tx >= 0 && ox * this.constants.SW == tx && ox < this.constants.OW) {
          const o = go + oy * this.constants.OW + ox;
          if (argmax[o] == target) {
            acc += gradOut[o];
          }
        }
      }
    }
  }
  return acc;
}`
  return spec('maxPool2dBackward', g, source, g.batch * g.channels * g.inHeight * g.inWidth, poolConstants(g))
}

// The count_include_pad divisor of window (oy, ox), as poolDivisor in reference.ts.
const divisorSource = `
  const y0 = oy * this.constants.SH - this.constants.PH;
  const x0 = ox * this.constants.SW - this.constants.PW;
  const y1 = Math.min(y0 + this.constants.KH, this.constants.H + this.constants.PH);
  const x1 = Math.min(x0 + this.constants.KW, this.constants.W + this.constants.PW);
  const divisor = (y1 - y0) * (x1 - x0);`

/** out[plane,oy,ox] = (sum of the window) / divisor, padding counted as zeros. */
export function avgPool2dSpec(g: Pool2dGeometry): KernelSpec {
  const source = `function (x) {
  ${divmod('q1', 'ox', 'this.thread.x', 'this.constants.OW')}
  ${divmod('plane', 'oy', 'q1', 'this.constants.OH')}
  const xo = plane * this.constants.H * this.constants.W;
  let acc = 0.0;
  for (let i = 0; i < this.constants.KH; i++) {
    const iy = oy * this.constants.SH - this.constants.PH + i;
    if (iy >= 0 && iy < this.constants.H) {
      for (let j = 0; j < this.constants.KW; j++) {
        const ix = ox * this.constants.SW - this.constants.PW + j;
        if (ix >= 0 && ix < this.constants.W) {
          acc += x[xo + iy * this.constants.W + ix];
        }
      }
    }
  }${divisorSource}
  return acc / divisor;
}`
  return spec('avgPool2d', g, source, g.batch * g.channels * g.outHeight * g.outWidth, poolConstants(g))
}

/** dx[plane,iy,ix] = sum over the windows containing (iy, ix) of gradOut / divisor. */
export function avgPool2dBackwardSpec(g: Pool2dGeometry): KernelSpec {
  const source = `function (gradOut) {
  ${divmod('q1', 'ix', 'this.thread.x', 'this.constants.W')}
  ${divmod('plane', 'iy', 'q1', 'this.constants.H')}
  const go = plane * this.constants.OH * this.constants.OW;
  let acc = 0.0;
  for (let i = 0; i < this.constants.KH; i++) {
    const ty = iy + this.constants.PH - i;
    const oy = Math.floor((ty + 0.5) / this.constants.SH);
    if (ty >= 0 && oy * this.constants.SH == ty && oy < this.constants.OH) {
      for (let j = 0; j < this.constants.KW; j++) {
        const tx = ix + this.constants.PW - j;
        const ox = Math.floor((tx + 0.5) / this.constants.SW);
        if (tx >= 0 && ox * this.constants.SW == tx && ox < this.constants.OW) {${divisorSource}
          acc += gradOut[go + oy * this.constants.OW + ox] / divisor;
        }
      }
    }
  }
  return acc;
}`
  return spec('avgPool2dBackward', g, source, g.batch * g.channels * g.inHeight * g.inWidth, poolConstants(g))
}
