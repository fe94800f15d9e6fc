// Choosing the kernels for a run. 'auto' honours PRIORGRAD_BACKEND, else takes the registry's
// default (the WebAssembly SIMD kernels); any other name is passed to setBackend.
import { getBackendInfo, listBackends, setBackend } from '../tensor/backends/registry.js'
import { clip, UsageError } from './config.js'
import type { BackendInfo } from '../tensor/backends/backend.js'
import '../tensor/backends/index.js'

/**
 * Make `name` the active backend and describe it.
 * @example const info = await selectBackend('auto'); console.log(info.name)
 */
export async function selectBackend(name: string): Promise<BackendInfo & { reason: string }> {
  checkBackendName(name)
  if (name !== 'auto') {
    try {
      setBackend(name)
    } catch (err) {
      throw new Error(`--backend: ${(err as Error).message}`, { cause: err })
    }
  }
  return getBackendInfo()
}

/**
 * An unknown backend name is a usage error, found without creating any backend.
 * @example checkBackendName('wasm')
 */
export function checkBackendName(name: string): void {
  if (name !== 'auto' && !listBackends().includes(name)) {
    throw new UsageError(`--backend: expected auto or one of ${listBackends().join('|')}, got '${clip(name)}'`)
  }
}
