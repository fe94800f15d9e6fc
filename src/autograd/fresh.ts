// Gradients nobody else holds. The engine normally copies a gradient before it becomes a leaf's
// .grad (an op's backward may return a tensor it also returns for another input, or a view of
// its own gradOut), and sums two contributions into a new tensor. A backward that has just
// allocated its gradient and keeps no other reference can say so: the engine then adopts it as
// the leaf's .grad without the copy, and adds later contributions into it in place. Sums the
// engine itself allocates are marked the same way.
import type { Tensor } from '../tensor/tensor.js'

const fresh = new WeakSet<Tensor>()

/**
 * Mark `t` as a gradient that only the caller holds (just allocated, returned once); returns it.
 * @example return [freshGradient(new Tensor(d, x.shape)), null]
 */
export function freshGradient(t: Tensor): Tensor {
  fresh.add(t)
  return t
}

/** Whether `t` was marked by {@link freshGradient} (and not yet handed out). */
export function isFreshGradient(t: Tensor): boolean {
  return fresh.has(t)
}

/** Forget the mark: once a leaf's .grad, the tensor belongs to the user. */
export function releaseGradient(t: Tensor): void {
  fresh.delete(t)
}
