// One recorded op application: which op, its inputs, and what its backward needs.
import type { Tensor } from '../tensor/tensor.js'
import type { OpDef } from './op.js'

/**
 * Per-application scratch space of an op: forward saves here what backward needs.
 * @example ctx.save(x, out)
 */
export class Context {
  /** Tensors the backward needs (inputs, outputs or anything computed in forward). */
  saved: Tensor[] = []
  constructor(
    /** Which inputs require a gradient; backward may return null for the others. */
    readonly needsInputGrad: boolean[],
  ) {}
  /** Keep tensors for backward; they are dropped after backward unless retainGraph. @example ctx.save(x) */
  save(...tensors: Tensor[]): void {
    this.saved.push(...tensors)
  }
}

/** One recorded op application: the op, its inputs and its Context; `Tensor.node` points at it. */
export interface Node {
  readonly opName: string
  readonly op: OpDef<any>
  /** The op's inputs (kept after backward, so the graph can still be drawn). */
  readonly inputs: Tensor[]
  readonly inputShapes: number[][]
  readonly attrs: unknown
  ctx: Context
  /** Set once backward has released this node's buffers. */
  freed: boolean
}
