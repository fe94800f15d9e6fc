// Weight initialisation, in place and without recording the graph, as torch.nn.init.
// Kaiming (He): std = gain / sqrt(fan), uniform bound = sqrt(3) * std.
// Xavier (Glorot): std = gain * sqrt(2 / (fanIn + fanOut)), uniform bound = sqrt(3) * std.
// Every function draws from the given generator (default: the global one, see manualSeed),
// element by element in row-major order, so the same seed gives the same weights.
import type { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'
import { defaultGenerator, type Generator } from '../tensor/generator.js'
import { noGrad } from '../autograd/no-grad.js'

/** Which fan Kaiming init scales by; the snake_case spellings are PyTorch's. */
export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out'
/** The nonlinearities calculateGain knows (PyTorch's names, plus camelCase leakyRelu). */
export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu'

/** Options of kaimingUniform / kaimingNormal (He et al. 2015). */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (default 0). */
  a?: number
  /** Preserve the variance of the forward pass ('fanIn', default) or of the backward pass ('fanOut'). */
  mode?: FanMode
  /** Default 'leaky_relu' (with a = 0 this is ReLU's gain sqrt(2)), as PyTorch. */
  nonlinearity?: Nonlinearity
  generator?: Generator
}

/** Options of xavierUniform / xavierNormal (Glorot & Bengio 2010). */
export interface XavierOptions {
  /** Scale of the std (default 1); see calculateGain. */
  gain?: number
  generator?: Generator
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). @example calculateGain('relu') // sqrt(2) */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1
    case 'tanh':
      return 5 / 3
    case 'relu':
      return Math.SQRT2
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param ?? 0.01
      return Math.sqrt(2 / (1 + slope * slope))
    }
    case 'selu':
      return 3 / 4
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`)
  }
}

/**
 * Fan-in and fan-out of a weight: [out, in] for Linear, [out, in, kh, kw] for Conv2d
 * (fan = channels * receptive field size).
 * @example calculateFanInAndFanOut(zeros([256, 784])) // { fanIn: 784, fanOut: 256 }
 */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`calculateFanInAndFanOut: need a tensor with at least 2 dims, got shape ${formatShape(t.shape)}`)
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1)
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive }
}

function fill(t: Tensor, draw: () => number): Tensor {
  noGrad(() => {
    for (let i = 0; i < t.data.length; i++) t.data[i] = draw()
  })
  return t
}

/** Fill with U(a, b). @example uniform(w, -0.1, 0.1, gen) */
export function uniform(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator()): Tensor {
  if (!(a <= b)) throw new Error(`init.uniform: need a <= b, got a=${a} b=${b}`)
  return fill(t, () => a + (b - a) * generator.uniform())
}

/** Fill with N(mean, std^2). @example normal(w, 0, 0.02, gen) */
export function normal(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator()): Tensor {
  if (!(std >= 0)) throw new Error(`init.normal: std must be >= 0, got ${std}`)
  return fill(t, () => mean + std * generator.normal())
}

/** Fill with a constant. @example constant(b, 0.1) */
export function constant(t: Tensor, value: number): Tensor {
  noGrad(() => t.data.fill(value))
  return t
}
/** Fill with 0. @example zeros(bn.bias) */
export const zeros = (t: Tensor): Tensor => constant(t, 0)
/** Fill with 1. @example ones(bn.weight) */
export const ones = (t: Tensor): Tensor => constant(t, 1)

function kaimingStd(op: string, t: Tensor, options: KaimingOptions): number {
  const mode = options.mode ?? 'fanIn'
  const { fanIn, fanOut } = calculateFanInAndFanOut(t)
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : mode === 'fanOut' || mode === 'fan_out' ? fanOut : NaN
  if (Number.isNaN(fan)) throw new Error(`${op}: mode must be 'fanIn' or 'fanOut', got '${String(mode)}'`)
  if (fan === 0) throw new Error(`${op}: cannot initialise a tensor with zero ${mode} (shape ${formatShape(t.shape)})`)
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan)
}

/**
 * He uniform: U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan).
 * PyTorch's Linear/Conv default is `kaimingUniform(w, { a: Math.sqrt(5) })`, i.e. bound = 1/sqrt(fanIn).
 * @example kaimingUniform(w, { nonlinearity: 'relu', generator: gen })
 */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('init.kaimingUniform', t, options)
  return uniform(t, -bound, bound, options.generator)
}

/** He normal: N(0, (gain / sqrt(fan))^2). @example kaimingNormal(w, { mode: 'fanOut', nonlinearity: 'relu' }) */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd('init.kaimingNormal', t, options), options.generator)
}

function xavierStd(t: Tensor, gain: number): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t)
  return gain * Math.sqrt(2 / (fanIn + fanOut))
}

/** Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)). @example xavierUniform(w, { gain: 1 }) */
export function xavierUniform(t: Tensor, options: XavierOptions = {}): Tensor {
  const bound = Math.sqrt(3) * xavierStd(t, options.gain ?? 1)
  return uniform(t, -bound, bound, options.generator)
}

/** Glorot normal: N(0, gain^2 * 2 / (fanIn + fanOut)). @example xavierNormal(w) */
export function xavierNormal(t: Tensor, options: XavierOptions = {}): Tensor {
  return normal(t, 0, xavierStd(t, options.gain ?? 1), options.generator)
}

/**
 * PyTorch's default for Linear and Conv2d (reset_parameters): weight kaimingUniform with a = sqrt(5)
 * (bound 1/sqrt(fanIn)), then bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)); weight drawn first.
 * @example defaultLayerInit(this.weight, this.bias, generator)
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform(weight, { a: Math.sqrt(5), ...(generator ? { generator } : {}) })
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight)
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0
    uniform(bias, -bound, bound, generator)
  }
}
