// The Tensor: a shape, a dtype and one contiguous row-major typed array (on the host, or in the
// backend's memory inside tidy(), see ./tidy.ts), plus the autograd fields (requiresGrad, grad,
// and the node of the op that made it).
// Contiguous storage keeps every kernel a plain loop: reshape shares the array,
// transpose and expand copy. The methods are thin: each op lives in src/autograd/ops.
import type { DType, TypedArray } from './dtype.js'
import { dtypeOf, isDType, isFloat } from './dtype.js'
import { formatShape, numel, type Shape } from './shape.js'
import { formatTensor } from './format.js'
import type { Node } from '../autograd/node.js'
import * as fn from '../autograd/functional.js'
import { backward, type BackwardOptions } from '../autograd/graph.js'
import { adoptTensor, disposeTensor } from './tidy.js'
import { deviceCopyOf, syncHost } from './device-copy.js'
import { getBackend, listBackends } from './backends/registry.js'

/** A plain number where a tensor is accepted. */
export type Scalar = number
/** A tensor, or a number that is lifted to a 0-d tensor of the other operand's dtype. */
export type TensorLike = Tensor | number

/**
 * An n-d array: shape, dtype and one contiguous row-major typed array, plus the autograd fields.
 * Most users create tensors with `tensor()`, `zeros()` or `randn()`; every op is also a method.
 * @example const w = randn([3, 2]).requiresGrad_()
 */
export class Tensor {
  private _data: TypedArray
  private _released = false
  readonly shape: number[]
  readonly dtype: DType
  /** Gradient accumulated by backward() (leaves only). */
  grad: Tensor | null = null
  /** The op application that produced this tensor; null for leaves. */
  node: Node | null = null
  private _requiresGrad = false

  /**
   * Wrap a typed array (not copied) with a shape; the dtype follows the array type.
   * Prefer `tensor()` / `zeros()` for everyday use.
   * @example new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2])
   */
  constructor(data: TypedArray, shape: Shape) {
    if (numel(shape) !== data.length) {
      throw new Error(`Tensor: shape ${formatShape(shape)} needs ${numel(shape)} elements, data has ${data.length}`)
    }
    this._data = data
    this.shape = [...shape]
    this.dtype = dtypeOf(data)
    adoptTensor(this, data)
  }

  /**
   * The elements, row-major, as a host array you may read and write; length = product of shape.
   * Inside tidy() they may live in the backend's memory; a tensor released by its tidy() scope
   * throws here. Where the backend holds them on a device (a GPU.js texture, see
   * device-copy.ts) they are read back first, and the device copy is dropped, since the caller
   * may write the array; the next kernel uploads it again.
   */
  get data(): TypedArray {
    if (this._released) throw new Error(releasedMessage('Tensor.data', this))
    syncHost(this._data, true)
    return this._data
  }

  /**
   * The array a backend primitive computes on, for the ops: unlike `data`, nothing is read back
   * from a device copy (the backend uses the copy itself). Throws, naming `op` and both
   * backends, when the values live on a backend other than the active one: moving is explicit.
   * @example getBackend().unary('exp', x.buffer('exp'), out)
   */
  buffer(op: string): TypedArray {
    if (this._released) throw new Error(releasedMessage(op, this))
    const copy = deviceCopyOf(this._data)
    if (copy !== undefined) {
      const active = getBackend().name
      if (copy.backend !== active) {
        throw new Error(`${op}: a ${formatShape(this.shape)} tensor lives on backend '${copy.backend}' but the active backend is '${active}'; ` +
          `move it with .to('${active}') (or call setBackend('${copy.backend}'))`)
      }
    }
    return this._data
  }

  /** The host array with current values, for reading only (printing, item()): a device copy stays valid. @internal */
  hostData(op: string): TypedArray {
    if (this._released) throw new Error(releasedMessage(op, this))
    syncHost(this._data, false)
    return this._data
  }

  /** True once dispose() was called, or the tidy() scope this tensor was made in ended without keeping it. */
  get isReleased(): boolean {
    return this._released
  }

  /**
   * Release the tensor now, as tfjs's dispose(): using it afterwards is an error naming the op.
   * Inside tidy(), its block of the backend's memory is reused at once when no other tensor
   * shares it (see tidy.ts); a host array is left to the garbage collector. @example t.dispose()
   */
  dispose(): void {
    disposeTensor(this)
  }

  /** The array behind the tensor, released or not (for tidy's bookkeeping). @internal */
  storage(): TypedArray {
    return this._data
  }

  /** Point the tensor at a copy of its array (tidy moves kept tensors to the host). @internal */
  moveStorage(data: TypedArray): void {
    if (data.length !== this._data.length || dtypeOf(data) !== this.dtype) throw new Error('Tensor.moveStorage: the new array must have the same length and dtype')
    this._data = data
    adoptTensor(this, data)
  }

  /** Mark the tensor released: its array went back to the backend. @internal */
  release(): void {
    this._released = true
  }

  /** Whether backward() should compute a grad for this tensor; only float tensors may require grad. */
  get requiresGrad(): boolean {
    return this._requiresGrad
  }
  /** Throws for int32 tensors: an integer has no gradient. */
  set requiresGrad(value: boolean) {
    if (value && !isFloat(this.dtype)) throw new Error(`requiresGrad: only float tensors can require grad, this one is ${this.dtype}`)
    this._requiresGrad = value
  }

  /** Number of dims. @example zeros([2, 3]).ndim // 2 */
  get ndim(): number {
    return this.shape.length
  }
  /** Number of elements. @example zeros([2, 3]).numel() // 6 */
  numel(): number {
    if (this._released) throw new Error(releasedMessage('numel', this))
    return this._data.length
  }
  /** The size of one dim (negative counts from the end), or the whole shape. @example x.size(-1) */
  size(): number[]
  size(dim: number): number
  size(dim?: number): number | number[] {
    if (dim === undefined) return [...this.shape]
    const d = dim < 0 ? dim + this.ndim : dim
    if (d < 0 || d >= this.ndim) throw new Error(`size: dim ${dim} out of range for shape ${formatShape(this.shape)}`)
    return this.shape[d]!
  }
  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.node === null
  }

  /** The single value of a one-element tensor. @example loss.item() */
  item(): number {
    const values = this.hostData('item')
    if (values.length !== 1) throw new Error(`item: only one-element tensors convert to a number, shape is ${formatShape(this.shape)}`)
    return values[0]!
  }
  /** Nested arrays of numbers (a number for a 0-d tensor). @example tensor([[1, 2]]).toArray() // [[1, 2]] */
  toArray(): NestedArray {
    return toNested(this.hostData('toArray'), this.shape, 0, 0)
  }
  /**
   * A copy of the elements, row-major, as a new typed array of the tensor's dtype (PyTorch's
   * `.numpy()` of a CPU copy). A device copy is read back and kept: the tensor stays on its
   * backend, where `data` would drop it so that the caller may write.
   * @example const w = model.fc1.weight.toTypedArray() // Float32Array
   */
  toTypedArray(): TypedArray {
    return this.hostData('toTypedArray').slice()
  }
  /** A PyTorch-like printout. @example console.log(String(x)) */
  toString(): string {
    return formatTensor(this)
  }

  /**
   * Backpropagate from this tensor (a scalar unless `grad` is given), like PyTorch's
   * `backward(gradient, retain_graph)`: `backward()`, `backward(grad)`, `backward(grad, options)`
   * or `backward(options)`.
   * @example loss.backward({ retainGraph: true })
   */
  backward(grad?: Tensor | BackwardOptions, options?: BackwardOptions): void {
    backward(this, grad, options)
  }
  /** A tensor sharing the data, cut from the graph. @example const w0 = w.detach() */
  detach(): Tensor {
    return new Tensor(this.buffer('detach'), this.shape)
  }
  /** Set requiresGrad in place and return this. @example const w = randn([3]).requiresGrad_() */
  requiresGrad_(value = true): this {
    this.requiresGrad = value
    return this
  }
  /** A copy with its own storage, in the graph. @example const y = x.clone() */
  clone(): Tensor {
    return fn.clone(this)
  }
  /** Storage is always contiguous, so this returns the tensor itself. */
  contiguous(): Tensor {
    return this
  }
  /**
   * Write `src` (broadcast, converted to this dtype) into this tensor in place and return it, as
   * PyTorch's `copy_`; a leaf that requires grad only inside noGrad(). @example noGrad(() => w.copy_(w.sub(w.grad!.mul(0.1))))
   */
  copy_(src: TensorLike): this {
    fn.copy_(this, src)
    return this
  }
  /**
   * Convert the dtype (in the graph when float to float); or, given a backend's name, as PyTorch's
   * `.to(device)`: a copy of the values on the host, which that backend's kernels then take (cut
   * from the graph). Moving between backends is explicit: an op refuses a tensor whose values live
   * on another backend. @example labels.to('float32'); logits.to('wasm')
   */
  to(target: DType | string): Tensor {
    if (isDType(target)) return fn.cast(this, target)
    if (!listBackends().includes(target)) {
      throw new Error(`to: '${target}' is neither a dtype (float32, float64, int32) nor a backend (${listBackends().join(', ')})`)
    }
    return new Tensor(this.hostData('to').slice(), this.shape)
  }
  /** A float32 copy (or this, when already float32). @example labels.float() */
  float(): Tensor {
    return fn.cast(this, 'float32')
  }
  /** A float64 copy (or this); gradcheck runs in float64. @example x.double() */
  double(): Tensor {
    return fn.cast(this, 'float64')
  }
  /** Truncate to int32; the result leaves the graph. @example probs.mul(10).int() */
  int(): Tensor {
    return fn.cast(this, 'int32')
  }

  // Elementwise
  /** this + b with broadcasting. @example x.add(1) */
  add(b: TensorLike): Tensor { return fn.add(this, b) }
  /** this - b with broadcasting. @example x.sub(y) */
  sub(b: TensorLike): Tensor { return fn.sub(this, b) }
  /** this * b with broadcasting. @example x.mul(y) */
  mul(b: TensorLike): Tensor { return fn.mul(this, b) }
  /** this / b with broadcasting (float only). @example x.div(2) */
  div(b: TensorLike): Tensor { return fn.div(this, b) }
  /** this ^ b with broadcasting. @example x.pow(2) */
  pow(b: TensorLike): Tensor { return fn.pow(this, b) }
  /** Elementwise maximum. @example x.maximum(0) */
  maximum(b: TensorLike): Tensor { return fn.maximum(this, b) }
  /** Elementwise minimum. @example x.minimum(y) */
  minimum(b: TensorLike): Tensor { return fn.minimum(this, b) }
  /** -x. @example x.neg() */
  neg(): Tensor { return fn.neg(this) }
  /** e^x. @example x.exp() */
  exp(): Tensor { return fn.exp(this) }
  /** Natural log. @example x.log() */
  log(): Tensor { return fn.log(this) }
  /** Square root. @example x.sqrt() */
  sqrt(): Tensor { return fn.sqrt(this) }
  /** |x|; its gradient at 0 is 0. @example x.abs() */
  abs(): Tensor { return fn.abs(this) }
  /** max(x, 0). @example x.relu() */
  relu(): Tensor { return fn.relu(this) }
  /** 1 / (1 + e^-x). @example x.sigmoid() */
  sigmoid(): Tensor { return fn.sigmoid(this) }
  /** Hyperbolic tangent. @example x.tanh() */
  tanh(): Tensor { return fn.tanh(this) }
  /** 1 / x. @example x.reciprocal() */
  reciprocal(): Tensor { return fn.reciprocal(this) }
  /** x * x. @example x.square() */
  square(): Tensor { return fn.square(this) }
  /** -1, 0 or 1 (no gradient). @example x.sign() */
  sign(): Tensor { return fn.sign(this) }
  /** Clamp to [min, max]; either bound may be omitted. @example x.clamp(0, 1) */
  clamp(min?: number | null, max?: number | null): Tensor { return fn.clamp(this, min, max) }
  /** 1 where this == b, else 0 (no gradient). @example pred.eq(labels) */
  eq(b: TensorLike): Tensor { return fn.eq(this, b) }
  /** 1 where this > b, else 0 (no gradient). @example x.gt(0) */
  gt(b: TensorLike): Tensor { return fn.gt(this, b) }
  /** 1 where this < b, else 0 (no gradient). @example x.lt(0) */
  lt(b: TensorLike): Tensor { return fn.lt(this, b) }
  /** 1 where this >= b, else 0 (no gradient). @example x.ge(0) */
  ge(b: TensorLike): Tensor { return fn.ge(this, b) }
  /** 1 where this <= b, else 0 (no gradient). @example x.le(0) */
  le(b: TensorLike): Tensor { return fn.le(this, b) }

  // Reductions
  /** Sum over dims (all when omitted). @example x.sum(1, true) */
  sum(dim?: number | number[], keepdim = false): Tensor { return fn.sum(this, dim, keepdim) }
  /** Mean over dims (all when omitted). @example x.mean() */
  mean(dim?: number | number[], keepdim = false): Tensor { return fn.mean(this, dim, keepdim) }
  /** Variance over dims, with Bessel's correction (correction=1) by default. @example x.var(0) */
  var(dim?: number | number[], keepdim = false, correction = 1): Tensor { return fn.variance(this, dim, keepdim, correction) }
  /** The maximum (a 0-d tensor) or, with dim, {values, indices} along dim. @example x.max(1).values */
  max(): Tensor
  max(dim: number, keepdim?: boolean): fn.ValuesIndices
  max(dim?: number, keepdim = false): Tensor | fn.ValuesIndices { return dim === undefined ? fn.max(this) : fn.max(this, dim, keepdim) }
  /** The minimum (a 0-d tensor) or, with dim, {values, indices} along dim. @example x.min(0).indices */
  min(): Tensor
  min(dim: number, keepdim?: boolean): fn.ValuesIndices
  min(dim?: number, keepdim = false): Tensor | fn.ValuesIndices { return dim === undefined ? fn.min(this) : fn.min(this, dim, keepdim) }
  /**
   * Index of the largest value along dim (of the flattened tensor when omitted); int32. @example logits.argmax(1)
   */
  argmax(dim?: number, keepdim = false): Tensor { return fn.argmax(this, dim, keepdim) }
  /** log(sum(exp(x))) along dim, shifted by the max so exp never overflows. @example x.logsumexp(1) */
  logsumexp(dim: number, keepdim = false): Tensor { return fn.logsumexp(this, dim, keepdim) }
  /** exp(x) / sum(exp(x)) along dim. @example logits.softmax(1) */
  softmax(dim: number): Tensor { return fn.softmax(this, dim) }
  /** x - logsumexp(x) along dim; more accurate than log(softmax(x)). @example logits.logSoftmax(1) */
  logSoftmax(dim: number): Tensor { return fn.logSoftmax(this, dim) }
  /** Matrix product (batched and broadcast over leading dims). @example x.matmul(w) */
  matmul(b: Tensor): Tensor { return fn.matmul(this, b) }

  // Shape
  /**
   * The same data with a new shape (free: storage is contiguous); one dim may be -1. @example x.reshape(2, -1)
   */
  reshape(...shape: number[] | [number[]]): Tensor { return fn.reshape(this, flatArgs(shape)) }
  /** Alias of reshape, for PyTorch readers. @example x.view(-1) */
  view(...shape: number[] | [number[]]): Tensor { return fn.reshape(this, flatArgs(shape)) }
  /** Merge dims startDim..endDim into one. @example x.flatten(1) */
  flatten(startDim = 0, endDim = -1): Tensor { return fn.flatten(this, startDim, endDim) }
  /** Swap two dims (copies). @example x.transpose(0, 1) */
  transpose(dim0: number, dim1: number): Tensor { return fn.transpose(this, dim0, dim1) }
  /** The matrix transpose of a 2-D tensor. @example w.T */
  get T(): Tensor { return fn.transpose(this, 0, 1) }
  /** Reorder the dims (copies). @example x.permute(0, 2, 3, 1) */
  permute(...dims: number[] | [number[]]): Tensor { return fn.permute(this, flatArgs(dims)) }
  /** Insert a dim of size 1. @example x.unsqueeze(0) */
  unsqueeze(dim: number): Tensor { return fn.unsqueeze(this, dim) }
  /** Drop dims of size 1 (only dim, when given). @example x.squeeze(1) */
  squeeze(dim?: number): Tensor { return fn.squeeze(this, dim) }
  /** Broadcast size-1 dims to a bigger shape (copies); backward sums them back. @example b.expand(4, 3) */
  expand(...shape: number[] | [number[]]): Tensor { return fn.expand(this, flatArgs(shape)) }
  /** The slice [start, start + length) along dim. @example x.narrow(1, 0, 2) */
  narrow(dim: number, start: number, length: number): Tensor { return fn.narrow(this, dim, start, length) }
  /** Pick whole slices along dim by an int32 index vector. @example emb.indexSelect(0, ids) */
  indexSelect(dim: number, index: Tensor): Tensor { return fn.indexSelect(this, dim, index) }
  /**
   * out[i][j] = x[i][index[i][j]] along dim (index is int32, same rank). @example logp.gather(1, labels.unsqueeze(1))
   */
  gather(dim: number, index: Tensor): Tensor { return fn.gather(this, dim, index) }
}

/** The error for using a tensor after its tidy() scope ended, naming the op and the tensor's shape. */
export function releasedMessage(op: string, t: Tensor): string {
  return `${op}: this ${formatShape(t.shape)} tensor was released (by dispose(), or when its tidy() scope ended; return it from the scope or keep() it to use it afterwards)`
}

/** Nested arrays of numbers, as `toArray()` returns them. */
export type NestedArray = number | NestedArray[]

function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? [...args[0]] : (args as number[])
}

function toNested(data: TypedArray, shape: number[], dim: number, offset: number): NestedArray {
  if (dim === shape.length) return data[offset]!
  const size = shape[dim]!
  const step = numel(shape.slice(dim + 1))
  const out: NestedArray[] = []
  for (let i = 0; i < size; i++) out.push(toNested(data, shape, dim + 1, offset + i * step))
  return out
}
