// Options shared by the model-zoo factories.
import type { DType } from '../../tensor/dtype.js'
import type { Generator } from '../../tensor/generator.js'

/** Options shared by the model-zoo factories. */
export interface ModelOptions {
  /** Output classes (default 10). */
  numClasses?: number
  /** Input channels (default 1 for mlp and cnn2, 3 for the CIFAR networks). */
  inChannels?: number
  /** Input height = width (default 28 for mlp and cnn2, 32 for the CIFAR networks). */
  inputSize?: number
  /** The generator every layer's init draws from, in construction order (default: the global one). */
  generator?: Generator
  /** Parameter dtype (default 'float32'). */
  dtype?: DType
}

const MODEL_KEYS = ['numClasses', 'inChannels', 'inputSize', 'generator', 'dtype']

/**
 * Check a model's options (unknown keys, sizes that are not positive integers, a dtype that is not
 * a float) naming the model, then return the layer options ({generator, dtype}) to pass down.
 */
export function layerOptions(o: ModelOptions, model = 'model'): { generator?: Generator; dtype?: DType } {
  if (typeof o !== 'object' || o === null) throw new Error(`${model}: options must be an object like { numClasses: 10 }, got ${o === null ? 'null' : typeof o}`)
  for (const key of Object.keys(o)) {
    if (!MODEL_KEYS.includes(key)) throw new Error(`${model}: unknown option '${key}' (known: ${MODEL_KEYS.join(', ')})`)
  }
  for (const key of ['numClasses', 'inChannels', 'inputSize'] as const) {
    const v = o[key]
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      throw new Error(`${model}: ${key} must be an integer >= 1, got ${typeof v === 'number' ? v : typeof v}`)
    }
  }
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64') throw new Error(`${model}: dtype must be 'float32' or 'float64', got ${String(o.dtype)}`)
  return { ...(o.generator ? { generator: o.generator } : {}), ...(o.dtype ? { dtype: o.dtype } : {}) }
}
