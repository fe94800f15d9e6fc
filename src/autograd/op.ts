// The op contract (teenygrad's Function.apply): forward computes the output from raw
// arrays and saves what backward needs; backward maps gradOut to one gradient per
// input (null where none is needed), written with Tensor ops and run under noGrad.
import { Tensor, releasedMessage } from '../tensor/tensor.js'
import { Context, type Node } from './node.js'
import { isGradEnabled } from './no-grad.js'

/** A differentiable primitive: forward on raw arrays plus a backward written with Tensor ops (see docs/03-writing-an-op.md). */
export interface OpDef<A = Record<string, never>> {
  /** The op name used in errors, the registry, toDot and test titles. */
  readonly name: string
  /** Compute the output; save in ctx what backward needs. */
  forward(ctx: Context, inputs: Tensor[], attrs: A): Tensor
  /** One gradient per input, in input order (null where ctx.needsInputGrad is false); runs under noGrad. */
  backward(ctx: Context, gradOut: Tensor, attrs: A): (Tensor | null)[]
}

/**
 * Run an op and, when recording is on and some input requires grad, link the output
 * into the graph. Inputs that do not require grad never get a gradient.
 * @example apply(opRegistry.get('mul')!, [a, b], {})
 */
export function apply<A>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor {
  for (const t of inputs) if (t.isReleased) throw new Error(releasedMessage(op.name, t))
  const needs = inputs.map((t) => t.requiresGrad)
  const ctx = new Context(needs)
  const out = op.forward(ctx, inputs, attrs)
  if (isGradEnabled() && needs.some(Boolean)) {
    const node: Node = {
      opName: op.name,
      op,
      inputs,
      inputShapes: inputs.map((t) => t.shape),
      attrs,
      ctx,
      freed: false,
    }
    out.requiresGrad = true
    out.node = node
  }
  return out
}
