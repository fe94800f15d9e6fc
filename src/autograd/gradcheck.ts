// gradcheck: compare the analytic Jacobian (from backward) with central finite
// differences, (f(x + eps) - f(x - eps)) / 2eps, whose error is O(eps^2).
// Why float64: with eps = 1e-6 a float32 difference keeps only ~1 significant digit
// (float32 resolves ~1e-7 relative), so the check would fail on correct ops.
// An element passes when |analytic - numeric| <= atol + rtol * |numeric| (PyTorch's rule and defaults).
import { Tensor } from '../tensor/tensor.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { noGrad } from './no-grad.js'

/** Step and tolerances of gradcheck; the defaults are PyTorch's. */
export interface GradcheckOptions {
  /** finite-difference step (default 1e-6) */
  eps?: number
  /** absolute tolerance (default 1e-5) */
  atol?: number
  /** relative tolerance (default 1e-3) */
  rtol?: number
  /**
   * Throw a {@link GradcheckError} when the check fails (default true, PyTorch's
   * `raise_exception=True`); false returns the failing report instead.
   */
  raiseException?: boolean
}

/** The Jacobian entry with the largest error, to point at the failing (output, input) pair. */
export interface GradcheckWorst {
  /** which input (position in `inputs`) */
  input: number
  /** flat index of the input element */
  index: number
  /** flat index of the output element */
  output: number
  /** the entry from backward */
  analytic: number
  /** the central finite difference */
  numeric: number
}

/** What gradcheck found: pass/fail, the largest error and where it is. */
export interface GradcheckResult {
  /** every Jacobian entry within atol + rtol * |numeric|, and the extra checks passed */
  ok: boolean
  /** 'ok' or what failed, with the worst element */
  message: string
  /** largest |analytic - numeric| over all Jacobian entries */
  maxAbsError: number
  worst: GradcheckWorst | null
}

/** A failed gradcheck: the message is the report's, and the whole report is attached. */
export class GradcheckError extends Error {
  /** What gradcheck found (ok is false). */
  readonly result: GradcheckResult
  constructor(result: GradcheckResult) {
    super(result.message)
    this.name = 'GradcheckError'
    this.result = result
  }
}

/**
 * Check the gradients of `fn` at `inputs` (those with requiresGrad, all float64).
 * Also checks gradient shapes, that two backward passes agree exactly, and that a
 * zero upstream gradient gives zero gradients. Like PyTorch's gradcheck it throws on a failure
 * (a {@link GradcheckError} with the report in its message), so `assert(gradcheck(f, xs))`
 * works; pass `{ raiseException: false }` to get the failing report back instead.
 * @example gradcheck((a, b) => a.mul(b).sum(), [randn([3], {dtype: 'float64', requiresGrad: true}), randn([3], {dtype: 'float64'})])
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  if (typeof fn !== 'function') throw new Error(`gradcheck: fn must be a function of the inputs, got ${typeof fn}`)
  if (!Array.isArray(inputs) || !inputs.every((t) => t instanceof Tensor)) {
    throw new Error('gradcheck: inputs must be an array of Tensors (float64; those to check with requiresGrad)')
  }
  const result = checkGradients(fn, inputs, options)
  if (!result.ok && options.raiseException !== false) throw new GradcheckError(result)
  return result
}

function checkGradients(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions): GradcheckResult {
  const eps = options.eps ?? 1e-6
  const atol = options.atol ?? 1e-5
  const rtol = options.rtol ?? 1e-3
  const checked = inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.requiresGrad)
  if (checked.length === 0) throw new Error('gradcheck: no input has requiresGrad=true')
  for (const { t, i } of checked) {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} is ${t.dtype}; gradcheck needs float64 inputs (finite differences in float32 are too coarse)`)
  }
  const fail = (message: string): GradcheckResult => ({ ok: false, message, maxAbsError: Infinity, worst: null })

  const out = fn(...inputs)
  if (!out.requiresGrad) return fail('gradcheck: the output does not depend on any input that requires grad')
  const nOut = out.numel()

  // Analytic Jacobian, one output element at a time: row j is the gradient of out[j].
  const analytic = checked.map(({ t }) => new Float64Array(t.numel() * nOut))
  const upstream = new Tensor(new Float64Array(nOut), out.shape)
  for (let j = 0; j < nOut; j++) {
    upstream.data.fill(0)
    upstream.data[j] = 1
    const grads = backwardGrads(out, upstream, checked)
    for (let k = 0; k < checked.length; k++) {
      const g = grads[k]
      const t = checked[k]!.t
      if (g && !shapesEqual(g.shape, t.shape)) {
        return fail(`gradcheck: gradient of input ${checked[k]!.i} has shape ${formatShape(g.shape)}, expected ${formatShape(t.shape)}`)
      }
      if (g) for (let i = 0; i < t.numel(); i++) analytic[k]![i * nOut + j] = g.data[i]!
    }
  }

  // Numeric Jacobian by central differences, perturbing one input element at a time.
  let worst: GradcheckWorst | null = null
  let worstExcess = -Infinity
  let maxAbsError = 0
  const evaluate = (): Float64Array => Float64Array.from(noGrad(() => fn(...inputs)).data)
  checked.forEach(({ t, i: inputIndex }, k) => {
    for (let i = 0; i < t.numel(); i++) {
      const v = t.data[i]!
      t.data[i] = v + eps
      const plus = evaluate()
      t.data[i] = v - eps
      const minus = evaluate()
      t.data[i] = v
      for (let j = 0; j < nOut; j++) {
        const numeric = (plus[j]! - minus[j]!) / (2 * eps)
        const a = analytic[k]![i * nOut + j]!
        const err = Math.abs(a - numeric)
        maxAbsError = Math.max(maxAbsError, Number.isNaN(err) ? Infinity : err)
        const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(numeric))
        if (excess > worstExcess) {
          worstExcess = excess
          worst = { input: inputIndex, index: i, output: j, analytic: a, numeric }
        }
      }
    }
  })
  if (worstExcess > 0 && worst) {
    const w: GradcheckWorst = worst
    return {
      ok: false,
      maxAbsError,
      worst: w,
      message:
        `gradcheck: Jacobian mismatch for input ${w.input} at element ${w.index}, output ${w.output}: ` +
        `analytic ${w.analytic} vs numeric ${w.numeric} (|diff| ${Math.abs(w.analytic - w.numeric).toExponential(3)} > atol ${atol} + rtol ${rtol} * |numeric|)`,
    }
  }

  // Two backward passes with the same upstream gradient must agree bit for bit.
  upstream.data.fill(1)
  const first = backwardGrads(out, upstream, checked)
  const second = backwardGrads(out, upstream, checked)
  for (let k = 0; k < checked.length; k++) {
    const a = first[k]?.data
    const b = second[k]?.data
    if (a && b && a.some((v, i) => !Object.is(v, b[i]))) {
      return { ok: false, maxAbsError, worst, message: `gradcheck: two backward passes gave different gradients for input ${checked[k]!.i}` }
    }
  }
  // A zero upstream gradient must give zero gradients.
  upstream.data.fill(0)
  const zero = backwardGrads(out, upstream, checked)
  for (let k = 0; k < checked.length; k++) {
    if (zero[k] && zero[k]!.data.some((v) => v !== 0)) {
      return { ok: false, maxAbsError, worst, message: `gradcheck: a zero upstream gradient gave a nonzero gradient for input ${checked[k]!.i}` }
    }
  }
  for (const { t } of checked) t.grad = null
  return { ok: true, message: 'ok', maxAbsError, worst }
}

function backwardGrads(out: Tensor, upstream: Tensor, checked: { t: Tensor }[]): (Tensor | null)[] {
  for (const { t } of checked) t.grad = null
  out.backward(upstream, { retainGraph: true })
  return checked.map(({ t }) => t.grad)
}
