// Graph recording switch. Evaluation, optimizer steps and backward itself run with
// recording off, so they build no graph and keep no buffers alive.

let disabled = 0

/** True when ops record the graph, i.e. outside every noGrad call. @example noGrad(() => isGradEnabled()) // false */
export function isGradEnabled(): boolean {
  return disabled === 0
}

/**
 * Run `fn` without recording the graph (like `with torch.no_grad()`).
 * @example const pred = noGrad(() => model.forward(x))
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new Error(`noGrad: expected a function to run without recording, got ${typeof fn}`)
  disabled++
  try {
    return fn()
  } finally {
    disabled--
  }
}
