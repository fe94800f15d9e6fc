// The backend seam: the primitives every op is built from (elementwise functions with
// broadcasting, sums, matmul, convolution, pooling, the optimizers' updates) on raw, contiguous,
// row-major typed arrays, and the backend's own memory for tensors (tidy(), Module.to()). No
// autograd and no Tensor here, so a backend can be swapped (reference loops, WebAssembly SIMD
// on worker threads, GPU.js) without touching the ops. Every kernel writes its whole output
// array (it never accumulates into it; the optimizer updates work in place). The reference
// backend (reference.ts) states each one's math and is the specification the others are tested
// against.
import type { DType, TypedArray } from '../dtype.js'
import type { Broadcast } from '../shape.js'
import type { BackendStats } from './counters.js'
import type { PriorPasses, PriorPassesInput } from './prior-passes.js'

/** The arrays the kernels compute on: float32, or float64 for gradcheck. */
export type FloatArray = Float32Array | Float64Array

/**
 * Elementwise functions of one input, `out[i] = f(x[i])`; the formulas are the reference
 * backend's. `sign`, `trunc` and `isfinite` also serve int32 and mask outputs.
 */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'sigmoid' | 'tanh' | 'reciprocal'
  | 'sign' | 'trunc' | 'copy' | 'isfinite'

/** Elementwise functions of two broadcast inputs; comparisons give 1 or 0. */
export type BinaryOp = 'add' | 'mul' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'gt' | 'lt' | 'ge' | 'le'

/** Shapes of one batched matrix product `C[b] = op(A[b]) @ op(B[b])`, `op` = optional transpose. */
export interface MatmulShape {
  /** number of independent products; A, B and C hold `batch` matrices back to back */
  batch: number
  /** rows of op(A) and C */
  m: number
  /** columns of op(A), rows of op(B) */
  k: number
  /** columns of op(B) and C */
  n: number
  /** A[b] is stored [k, m] and used transposed */
  transA: boolean
  /** B[b] is stored [n, k] and used transposed */
  transB: boolean
}

/** Geometry of a 2-D convolution, NCHW input `[batch, inChannels, inHeight, inWidth]`, OIHW weight. */
export interface Conv2dGeometry {
  batch: number
  inChannels: number
  inHeight: number
  inWidth: number
  outChannels: number
  kernelHeight: number
  kernelWidth: number
  strideH: number
  strideW: number
  padH: number
  padW: number
  /** floor((inHeight + 2 padH - kernelHeight) / strideH) + 1 */
  outHeight: number
  outWidth: number
}

/** Geometry of 2-D pooling over `[batch, channels, inHeight, inWidth]`. */
export interface Pool2dGeometry {
  batch: number
  channels: number
  inHeight: number
  inWidth: number
  kernelHeight: number
  kernelWidth: number
  strideH: number
  strideW: number
  padH: number
  padW: number
  outHeight: number
  outWidth: number
}

/**
 * One Adam or AdamW step's hyperparameters, with the step's bias corrections folded in (the
 * optimizer computes them once per step, as torch does).
 */
export interface AdamUpdate {
  beta1: number
  beta2: number
  /** lr / (1 - beta1^t) */
  stepSize: number
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: number
  eps: number
  /** Adam: weightDecay * p is added to the gradient; AdamW: p is first scaled by `decay` */
  weightDecay: number
  /** AdamW's decoupled decay */
  decoupled: boolean
  /** 1 - lr * weightDecay (AdamW) */
  decay: number
  /** ascend instead of descend (the gradient's sign flipped) */
  maximize: boolean
}

/** One SGD step: torch.optim.SGD's hyperparameters by name (SGDOptions), and `first`. */
export interface SgdUpdate {
  lr: number
  /** Weight of the running direction (0: plain SGD, and no momentum buffer). */
  momentum: number
  /** The momentum buffer takes (1 - dampening) of each new gradient. */
  dampening: number
  /** Step along grad + momentum * buffer instead of the buffer (Sutskever et al. 2013). */
  nesterov: boolean
  /** L2 penalty added to the gradient. */
  weightDecay: number
  /** Ascend the objective instead of descending it. */
  maximize: boolean
  /** The momentum buffer's first step: it starts at the gradient itself, without dampening. */
  first: boolean
}

/**
 * Where gather reads and scatterAdd writes: `index` has x's rank and, off `dim`, sizes no larger
 * than x's; entry i of index (row-major over `indexShape`) names the coordinate along `dim`.
 */
export interface GatherGeometry {
  /** the op, for errors (gather, or an op built on it such as max) */
  op: string
  dim: number
  xShape: number[]
  indexShape: number[]
}

/**
 * Where copyRegion writes: the box of `size` at `start` in a row-major output of `outShape`,
 * read from the source at `srcOffset` stepping `srcStrides` per dim of the box. The copying ops
 * are boxes: permute (the whole output, strides permuted), narrow (an offset), pad and each part
 * of cat (a box inside a larger output).
 */
export interface RegionCopy {
  outShape: number[]
  start: number[]
  size: number[]
  srcOffset: number
  srcStrides: number[]
  /** every entry of out outside the box; null keeps out's entries there (cat's later parts) */
  fill: number | null
}

/** What a backend says about itself (see `getBackendInfo()`). */
export interface BackendInfo {
  name: string
  /** e.g. 'plain TypeScript loops', 'WebAssembly SIMD, 2 worker threads', 'GPU.js headlessgl' */
  description: string
  /** true when a kernel runs on a real GPU, false for CPU code (including GPU.js's software fallbacks) */
  hardwareGpu: boolean
  /** backend-specific details (GPU.js mode, thread count, reasons for a choice) */
  details?: Record<string, unknown>
}

/** The primitives a backend implements on raw typed arrays; no autograd inside (the ops call these). */
export interface Backend {
  readonly name: string
  /** Name, description and hardware, for logs and getBackendInfo(). */
  info(): BackendInfo
  /** Cumulative kernel calls and copies between host arrays and the backend's memory (see counters.ts). */
  counters(): BackendStats
  /** out[i] = op(x[i]); `out` has x's length (and may have another dtype, e.g. int32 for trunc). */
  unary(op: UnaryOp, x: TypedArray, out: TypedArray): void
  /** out[i] = min(max(x[i], min), max); NaN stays NaN. */
  clamp(x: TypedArray, out: TypedArray, min: number, max: number): void
  /** out = op(a, b) over the broadcast `g` (g.strides: a's, then b's). */
  binary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void
  /** out = x repeated over the broadcast `g` (g.shape is out's shape; g.strides[0] is x's, 0 along repeated dims). */
  expand(x: TypedArray, out: TypedArray, g: Broadcast): void
  /**
   * out[box] = src read through `r`; outside the box out = r.fill, or, with fill null, out keeps
   * its values (the one primitive besides the optimizers' updates that reads its output).
   */
  copyRegion(src: TypedArray, out: TypedArray, r: RegionCopy): void
  /** out = cond != 0 ? a : b over the broadcast `g` (g.strides: cond's, a's, b's). */
  where(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, g: Broadcast): void
  /**
   * out[o, i] = sum over k of x[o, k, i], x read as [outer, size, inner] (a run of reduced dims
   * between kept ones); `out` has outer*inner entries. Sums k in increasing order.
   */
  sum(x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void
  /**
   * out[o, i] = the first k with x[o, k, i] largest (`'max'`) or smallest (`'min'`), x read as
   * [outer, size, inner]; a NaN wins over everything, as in PyTorch. `out` is int32.
   */
  argReduce(which: 'max' | 'min', x: TypedArray, out: Int32Array, outer: number, size: number, inner: number): void
  /** out[i] = x at index i's coordinates with `dim` replaced by index[i]; an index outside 0..size-1 is an error naming `g.op`. */
  gather(x: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void
  /** out = zeros of x's shape, then src[i] added where gather would have read entry i (the gradient of gather). */
  scatterAdd(src: TypedArray, index: Int32Array, out: TypedArray, g: GatherGeometry): void
  /** C = op(A) @ op(B), batched; `out` has batch*m*n entries. */
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, s: MatmulShape): void
  /** out[n,o,y,x] = bias[o] + sum_{c,i,j} x[n,c,y*s-p+i,x*s-p+j] w[o,c,i,j] (zero padding). `bias` may be null. */
  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv2dGeometry): void
  /** dL/dx of conv2d given dL/dout (a transposed convolution). */
  conv2dGradInput(gradOut: FloatArray, w: FloatArray, gradX: FloatArray, g: Conv2dGeometry): void
  /** dL/dw of conv2d given dL/dout and the input x. */
  conv2dGradWeight(gradOut: FloatArray, x: FloatArray, gradW: FloatArray, g: Conv2dGeometry): void
  /**
   * Max pooling; padding counts as -Infinity. `argmax[o]` receives the flat index (y*inWidth+x)
   * inside the input plane of the winning element, the first one on ties (row-major order).
   */
  maxPool2d(x: FloatArray, out: FloatArray, argmax: Int32Array, g: Pool2dGeometry): void
  /** Routes each gradOut entry to its argmax position; gradX is overwritten. */
  maxPool2dBackward(gradOut: FloatArray, argmax: Int32Array, gradX: FloatArray, g: Pool2dGeometry): void
  /** Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=true). */
  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void
  /** gradX of avgPool2d: each gradOut element spread evenly over its window (same divisor as forward). */
  avgPool2dBackward(gradOut: FloatArray, gradX: FloatArray, g: Pool2dGeometry): void
  /**
   * One Adam/AdamW step in place on a parameter `p`, its moments `m`, `v` and, with amsgrad, the
   * running maximum `vMax` of v (null without); `grad` is read only.
   */
  adamUpdate(p: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamUpdate): void
  /** One SGD step in place on `p` and, with momentum, its buffer `buf` (null without); `grad` is read only. */
  sgdUpdate(p: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdUpdate): void
  /**
   * The dynamic prior's sampling sweeps for one evaluation (exps and normalisers, P' and the entries
   * above a bound; prior-passes.ts), with the bits of the kernels' oracle (prior-oracle.ts).
   */
  priorPasses(input: PriorPassesInput): PriorPasses
  /**
   * An array in the backend's own memory for a tensor made inside tidy(), which its kernels then
   * use in place, zero-filled unless `zero` is false; null when the backend keeps tensors on the
   * host (the caller then allocates a host array).
   */
  allocResident(dtype: DType, length: number, zero: boolean): TypedArray | null
  /** Give back an array from allocResident (tidy() does, when its scope ends). */
  freeResident(data: TypedArray): void
  /**
   * A zero-filled array in the backend's own memory for a long-lived tensor (a parameter moved
   * there by Module.to(), its optimizer state), given back once the array object is
   * garbage-collected; null when the backend keeps tensors on the host.
   */
  allocPersistent(dtype: DType, length: number): TypedArray | null
  /** Whether `data` is an array in this backend's own memory (then its kernels use it in place). */
  holds(data: TypedArray): boolean
  /** Free kernels, workers, textures. The backend must not be used afterwards. */
  dispose(): void
}
