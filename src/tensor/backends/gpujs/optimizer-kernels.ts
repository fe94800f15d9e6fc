// GPU.js kernel sources for the optimizers' updates, in the reference's order of operations
// (reference.ts: adamUpdate, sgdUpdate). A GPU.js kernel writes one new output, so an update
// "in place" is one kernel per state array (each a new texture that replaces the old one):
// Adam runs m, v (and amsgrad's running max) and then p from the new moments.
// The step's scalars (bias corrections, learning rate) are kernel arguments, not constants:
// they change every step and a constant would recompile the kernel each time.
import { spec, type KernelSpec } from './kernels.js'

/** What a kernel's gradient term includes: the sign flip of maximize, an L2 term wd * p. */
export interface GradTerm {
  maximize: boolean
  /** weight decay added to the gradient (Adam's and SGD's coupled decay) */
  l2: boolean
}

// The gradient as the update uses it, into `g`: -grad when maximizing, plus wd * p for L2.
const gradTerm = (t: GradTerm): string =>
  `let g = ${t.maximize ? '-grad[this.thread.x]' : 'grad[this.thread.x]'};${t.l2 ? '\n  g = g + wd * p[this.thread.x];' : ''}`

/** Adam's moments: m' = m beta + (1 - beta) g (first), v' = v beta + (1 - beta) g g (second). */
export function adamMomentSpec(which: 'first' | 'second', length: number, t: GradTerm): KernelSpec {
  const source = `function (moment, grad, p, beta, oneMinusBeta, wd) {
  ${gradTerm(t)}
  return moment[this.thread.x] * beta + oneMinusBeta * ${which === 'first' ? 'g' : 'g * g'};
}`
  return spec(`adam:${which}`, { length, ...t }, source, length, { N: length })
}

/** amsgrad's running maximum of the second moment. */
export function adamMaxSpec(length: number): KernelSpec {
  const source = `function (vMax, v) {
  return Math.max(vMax[this.thread.x], v[this.thread.x]);
}`
  return spec('adam:max', { length }, source, length, { N: length })
}

/** p' = p (AdamW: times decay) - stepSize m' / (sqrt(second) / bc2Sqrt + eps). */
export function adamParamSpec(length: number, decoupledDecay: boolean): KernelSpec {
  const source = `function (p, m, second, stepSize, bc2Sqrt, eps, decay) {
  let w = p[this.thread.x];
  ${decoupledDecay ? 'w = w * decay;' : ''}
  return w + (-stepSize * m[this.thread.x]) / (Math.sqrt(second[this.thread.x]) / bc2Sqrt + eps);
}`
  return spec('adam:param', { length, decoupledDecay }, source, length, { N: length })
}

/** SGD's momentum buffer: the direction itself on the first step, else buf momentum + (1 - dampening) d. */
export function sgdBufferSpec(length: number, t: GradTerm, first: boolean): KernelSpec {
  const source = `function (buf, grad, p, momentum, oneMinusDampening, wd) {
  ${gradTerm(t)}
  ${first ? 'return g;' : 'return buf[this.thread.x] * momentum + oneMinusDampening * g;'}
}`
  return spec('sgd:buffer', { length, ...t, first }, source, length, { N: length })
}

/** p' = p - lr d, d the gradient term, the buffer, or (nesterov) the term plus momentum times the buffer. */
export function sgdParamSpec(length: number, t: GradTerm, direction: 'gradient' | 'buffer' | 'nesterov'): KernelSpec {
  const d = direction === 'gradient' ? 'g' : direction === 'buffer' ? 'buf[this.thread.x]' : 'g + momentum * buf[this.thread.x]'
  const source = `function (p, grad, buf, lr, momentum, wd) {
  ${gradTerm(t)}
  return p[this.thread.x] + -lr * (${d});
}`
  return spec('sgd:param', { length, ...t, direction }, source, length, { N: length })
}
