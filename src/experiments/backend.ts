// Choosing the kernels for a run. 'auto' honours PRIORGRAD_BACKEND, else takes the registry's
// default (the WebAssembly SIMD kernels); any other name is passed to setBackend.
import { getBackendInfo, setBackend } from '../tensor/backends/registry.js'
import type { BackendInfo } from '../tensor/backends/backend.js'
import '../tensor/backends/index.js'

/**
 * Make `name` the active backend and describe it.
 * @example const info = await selectBackend('auto'); console.log(info.name)
 */
export async function selectBackend(name: string): Promise<BackendInfo & { reason: string }> {
  if (name !== 'auto') {
    try {
      setBackend(name)
    } catch (err) {
      throw new Error(`--backend: ${(err as Error).message}`, { cause: err })
    }
  }
  return getBackendInfo()
}
