// Which backend runs the heavy kernels. Chosen per process with setBackend(name) or the
// environment variable PRIORGRAD_BACKEND (read once, at the first kernel call), like
// MLX's DEVICE. Backends register a factory; an instance is made on first use.
import type { Backend, BackendInfo } from './backend.js'
import type { BackendStats } from './counters.js'
import { ReferenceBackend } from './reference.js'

/** Makes a backend instance; called once, on the backend's first use. */
export type Factory = () => Backend

const factories = new Map<string, Factory>()
const instances = new Map<string, Backend>()
let current: Backend | null = null
let defaultName = 'reference'
let chooseReason = 'default backend'

/**
 * Make a backend selectable by name. Later registrations under the same name replace earlier ones.
 * @example registerBackend('mine', () => new ReferenceBackend())
 */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory)
  const old = instances.get(name)
  if (old) {
    old.dispose()
    instances.delete(name)
    if (current === old) current = null
  }
}

/** Names that setBackend accepts. @example listBackends() // ['reference', 'wasm', 'gpujs'] */
export function listBackends(): string[] {
  return [...factories.keys()]
}

/** The backend used when neither setBackend nor PRIORGRAD_BACKEND chose one. */
export function setDefaultBackend(name: string, reason: string): void {
  defaultName = name
  chooseReason = reason
}

function instance(name: string): Backend {
  let b = instances.get(name)
  if (b) return b
  const f = factories.get(name)
  if (!f) throw new Error(`setBackend: unknown backend '${name}'; available: ${listBackends().join(', ')}`)
  b = f()
  instances.set(name, b)
  return b
}

/**
 * The shared instance of a registered backend (made on first use), or null when none is
 * registered under that name; it does not change the active backend.
 * @example registeredBackend('wasm')?.name
 */
export function registeredBackend(name: string): Backend | null {
  return factories.has(name) ? instance(name) : null
}

/**
 * Choose the backend for all later kernels.
 * @example setBackend('reference') // plain loops, float64-capable
 */
export function setBackend(name: string): Backend {
  current = instance(name)
  chooseReason = `setBackend('${name}')`
  return current
}

/** The active backend (chosen from PRIORGRAD_BACKEND or the default on first use). @example getBackend().name */
export function getBackend(): Backend {
  if (current) return current
  // (a page has no process: there the default or setBackend() decides)
  const env = typeof process !== 'undefined' ? process.env?.['PRIORGRAD_BACKEND'] : undefined
  if (env) {
    current = instance(env)
    chooseReason = `PRIORGRAD_BACKEND=${env}`
  } else {
    current = instance(defaultName)
  }
  return current
}

/** What runs the kernels, and why it was chosen. @example console.log(getBackendInfo().description) */
export function getBackendInfo(): BackendInfo & { reason: string } {
  const b = getBackend()
  return { ...b.info(), reason: chooseReason }
}

/**
 * Cumulative counters of the active backend (or of the one named): kernel calls, and the host
 * arrays copied into its memory and back. Take the difference of two calls to see what one
 * training step moves.
 * @example const before = backendStats(); step(); const after = backendStats(); after.uploads - before.uploads
 */
export function backendStats(name?: string): BackendStats {
  if (name !== undefined && !factories.has(name)) throw new Error(`backendStats: unknown backend '${name}'; available: ${listBackends().join(', ')}`)
  return (name === undefined ? getBackend() : instance(name)).counters()
}

/**
 * Dispose every instantiated backend (workers, kernels, textures). The next kernel call makes a new one.
 * @example afterAll(() => disposeBackends())
 */
export function disposeBackends(): void {
  for (const b of instances.values()) b.dispose()
  instances.clear()
  current = null
}

registerBackend('reference', () => new ReferenceBackend())
