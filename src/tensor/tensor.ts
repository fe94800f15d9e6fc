// The Tensor: a shape, a dtype and one contiguous row-major typed array, plus the
// autograd fields (requiresGrad, grad, and the node of the op that made it).
// Contiguous storage keeps every kernel a plain loop: reshape shares the array,
// transpose and expand copy. The methods are thin: each op lives in src/autograd/ops.
import type { DType, TypedArray } from './dtype.js'
import { dtypeOf, isFloat } from './dtype.js'
import { formatShape, numel, type Shape } from './shape.js'
import { formatTensor } from './format.js'
import type { Node } from '../autograd/node.js'
import * as fn from '../autograd/functional.js'
import { backward, type BackwardOptions } from '../autograd/graph.js'

export type Scalar = number
export type TensorLike = Tensor | number

export class Tensor {
  /** The elements, row-major; length = product of shape. */
  readonly data: TypedArray
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
    this.data = data
    this.shape = [...shape]
    this.dtype = dtypeOf(data)
  }

  get requiresGrad(): boolean {
    return this._requiresGrad
  }
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
    return this.data.length
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
    if (this.data.length !== 1) throw new Error(`item: only one-element tensors convert to a number, shape is ${formatShape(this.shape)}`)
    return this.data[0]!
  }
  /** Nested arrays of numbers (a number for a 0-d tensor). @example tensor([[1, 2]]).toArray() // [[1, 2]] */
  toArray(): NestedArray {
    return toNested(this.data, this.shape, 0, 0)
  }
  /** A PyTorch-like printout. @example console.log(String(x)) */
  toString(): string {
    return formatTensor(this)
  }

  /** Backpropagate from this tensor (a scalar unless `grad` is given). @example loss.backward() */
  backward(grad?: Tensor, options: BackwardOptions = {}): void {
    backward(this, grad, options)
  }
  /** A tensor sharing the data, cut from the graph. @example const w0 = w.detach() */
  detach(): Tensor {
    return new Tensor(this.data, this.shape)
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
  /** Convert the dtype (in the graph when float to float). @example labels.to('float32') */
  to(dtype: DType): Tensor {
    return fn.cast(this, dtype)
  }
  float(): Tensor {
    return fn.cast(this, 'float32')
  }
  double(): Tensor {
    return fn.cast(this, 'float64')
  }
  int(): Tensor {
    return fn.cast(this, 'int32')
  }

  // Elementwise
  add(b: TensorLike): Tensor { return fn.add(this, b) }
  sub(b: TensorLike): Tensor { return fn.sub(this, b) }
  mul(b: TensorLike): Tensor { return fn.mul(this, b) }
  div(b: TensorLike): Tensor { return fn.div(this, b) }
  pow(b: TensorLike): Tensor { return fn.pow(this, b) }
  maximum(b: TensorLike): Tensor { return fn.maximum(this, b) }
  minimum(b: TensorLike): Tensor { return fn.minimum(this, b) }
  neg(): Tensor { return fn.neg(this) }
  exp(): Tensor { return fn.exp(this) }
  log(): Tensor { return fn.log(this) }
  sqrt(): Tensor { return fn.sqrt(this) }
  abs(): Tensor { return fn.abs(this) }
  relu(): Tensor { return fn.relu(this) }
  sigmoid(): Tensor { return fn.sigmoid(this) }
  tanh(): Tensor { return fn.tanh(this) }
  reciprocal(): Tensor { return fn.reciprocal(this) }
  square(): Tensor { return fn.square(this) }
  sign(): Tensor { return fn.sign(this) }
  clamp(min?: number | null, max?: number | null): Tensor { return fn.clamp(this, min, max) }
  eq(b: TensorLike): Tensor { return fn.eq(this, b) }
  gt(b: TensorLike): Tensor { return fn.gt(this, b) }
  lt(b: TensorLike): Tensor { return fn.lt(this, b) }
  ge(b: TensorLike): Tensor { return fn.ge(this, b) }
  le(b: TensorLike): Tensor { return fn.le(this, b) }

  // Reductions
  sum(dim?: number | number[], keepdim = false): Tensor { return fn.sum(this, dim, keepdim) }
  mean(dim?: number | number[], keepdim = false): Tensor { return fn.mean(this, dim, keepdim) }
  var(dim?: number | number[], keepdim = false, correction = 1): Tensor { return fn.variance(this, dim, keepdim, correction) }
  max(): Tensor
  max(dim: number, keepdim?: boolean): fn.ValuesIndices
  max(dim?: number, keepdim = false): Tensor | fn.ValuesIndices { return dim === undefined ? fn.max(this) : fn.max(this, dim, keepdim) }
  min(): Tensor
  min(dim: number, keepdim?: boolean): fn.ValuesIndices
  min(dim?: number, keepdim = false): Tensor | fn.ValuesIndices { return dim === undefined ? fn.min(this) : fn.min(this, dim, keepdim) }
  argmax(dim?: number, keepdim = false): Tensor { return fn.argmax(this, dim, keepdim) }
  logsumexp(dim: number, keepdim = false): Tensor { return fn.logsumexp(this, dim, keepdim) }
  softmax(dim: number): Tensor { return fn.softmax(this, dim) }
  logSoftmax(dim: number): Tensor { return fn.logSoftmax(this, dim) }
  matmul(b: Tensor): Tensor { return fn.matmul(this, b) }

  // Shape
  reshape(...shape: number[] | [number[]]): Tensor { return fn.reshape(this, flatArgs(shape)) }
  view(...shape: number[] | [number[]]): Tensor { return fn.reshape(this, flatArgs(shape)) }
  flatten(startDim = 0, endDim = -1): Tensor { return fn.flatten(this, startDim, endDim) }
  transpose(dim0: number, dim1: number): Tensor { return fn.transpose(this, dim0, dim1) }
  /** The matrix transpose of a 2-D tensor. @example w.T */
  get T(): Tensor { return fn.transpose(this, 0, 1) }
  permute(...dims: number[] | [number[]]): Tensor { return fn.permute(this, flatArgs(dims)) }
  unsqueeze(dim: number): Tensor { return fn.unsqueeze(this, dim) }
  squeeze(dim?: number): Tensor { return fn.squeeze(this, dim) }
  expand(...shape: number[] | [number[]]): Tensor { return fn.expand(this, flatArgs(shape)) }
  narrow(dim: number, start: number, length: number): Tensor { return fn.narrow(this, dim, start, length) }
  indexSelect(dim: number, index: Tensor): Tensor { return fn.indexSelect(this, dim, index) }
  gather(dim: number, index: Tensor): Tensor { return fn.gather(this, dim, index) }
}

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
