// Gradients nobody else holds. The engine normally copies a gradient before it becomes a leaf's
// .grad (an op's backward may return a tensor it also returns for another input, or a view of
// its own gradOut), and sums two contributions into a new tensor. A backward that has just
// allocated its gradient and keeps no other reference can say so: the engine then adopts it as
// the leaf's .grad without the copy, and adds later contributions into it in place. Sums the
// engine itself allocates are marked the same way.
// A fresh gradient may also name its support, the entries outside which it is zero (the dynamic
// prior's penalty touches ~S*sp of a weight's entries): the engine then adds it to another
// contribution at those entries only.
import type { Tensor } from '../tensor/tensor.js'

const fresh = new WeakMap<Tensor, Int32Array | null>()

/**
 * Mark `t` as a gradient that only the caller holds (just allocated, returned once); returns it.
 * `support`, if given, lists in increasing order without repeats the flat indices outside which
 * `t` is zero.
 * @example return [freshGradient(new Tensor(d, x.shape)), null]
 */
export function freshGradient(t: Tensor, support: Int32Array | null = null): Tensor {
  fresh.set(t, support)
  return t
}

/** Whether `t` was marked by {@link freshGradient} (and not yet handed out). */
export function isFreshGradient(t: Tensor): boolean {
  return fresh.has(t)
}

/** The support `t` was marked with, if any. */
export function gradientSupport(t: Tensor): Int32Array | null {
  return fresh.get(t) ?? null
}

/** Forget the mark: once a leaf's .grad, the tensor belongs to the user. */
export function releaseGradient(t: Tensor): void {
  fresh.delete(t)
}
