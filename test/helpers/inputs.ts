// Seeded float64 inputs for gradient checks, shaped to avoid the points where a
// derivative is undefined (|x| near 0 for abs/relu) or where log/sqrt are undefined.
import { Generator, Tensor, tensor, type DType } from '../../src/index.js'

export type Kind = 'normal' | 'positive' | 'awayFromZero'

export function makeRng(seed = 0): Generator {
  return new Generator(seed)
}

export function input(shape: number[], rng: Generator, kind: Kind = 'normal', requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1)
  const data = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const v = rng.normal()
    data[i] = kind === 'positive' ? 0.5 + 1.5 * rng.uniform() : kind === 'awayFromZero' ? v + Math.sign(v || 1) * 0.1 : v
  }
  const t = new Tensor(data, shape)
  if (requiresGrad) t.requiresGrad = true
  return t
}

export function ints(values: number[], shape: number[] = [values.length]): Tensor {
  return tensor(values, { dtype: 'int32' as DType, shape })
}
