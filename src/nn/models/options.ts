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

/** The layer options ({generator, dtype}) to pass down, without undefined keys. */
export function layerOptions(o: ModelOptions): { generator?: Generator; dtype?: DType } {
  return { ...(o.generator ? { generator: o.generator } : {}), ...(o.dtype ? { dtype: o.dtype } : {}) }
}
