// Optimizer base, after torch.optim.Optimizer: parameter groups with their own options,
// per-parameter state created on the first step, zeroGrad, and a JSON-safe state dict keyed
// by parameter index (the position of the parameter across all groups, in order).
// Steps loop over the raw typed arrays of `param.data`, so they build no graph and, once the
// state buffers exist, allocate nothing.
import type { Tensor } from '../tensor/tensor.js'
import { shapesEqual } from '../tensor/shape.js'
import { isPlainObject } from './validate.js'
import { getBackend } from '../tensor/backends/registry.js'
import { allocateHost } from '../tensor/dtype.js'
import { syncHost } from '../tensor/device-copy.js'
import { runUnary } from '../tensor/loops.js'
import { noGrad } from '../autograd/no-grad.js'
import { unkeep } from '../tensor/tidy.js'

/** A state buffer; it has the dtype of its parameter (float32 params keep float32 moments). */
export type FloatBuffer = Float32Array | Float64Array
/** Per-parameter state: scalars (step counts) and buffers with one value per parameter element. */
export type ParamState = Record<string, number | FloatBuffer | undefined>

/** A group of parameters sharing options; any option left out takes the optimizer's default. */
export type ParamGroup<O> = O & { params: Tensor[] }
/** A parameter group as passed to a constructor: every option may be left out. */
export type ParamGroupInput<O> = Partial<O> & { params: Tensor[] }

/** One saved group: its options and the indices of its parameters. */
export type SavedGroup = Record<string, unknown> & { params: number[] }

/**
 * What `stateDict()` returns and `loadStateDict()` accepts. Buffers are plain number arrays by
 * default (JSON.stringify keeps float64 exactly), or typed-array copies with `{ typedArrays: true }`.
 */
export interface OptimizerStateDict {
  state: Record<string, Record<string, number | number[] | FloatBuffer>>
  paramGroups: SavedGroup[]
}

/** Options of `Optimizer.step`. */
export interface StepOptions {
  /**
   * Check every gradient for NaN/Inf before updating anything, and throw naming the parameter
   * index and element. Off by default (one extra pass over the gradients); the experiment
   * runner turns it on, so a model is never left partly updated by a bad batch.
   */
  checkFinite?: boolean
}

/** Which state keys a subclass keeps, so stateDict/loadStateDict can save and check them: buffers (length = numel) and scalars. */
export interface StateSpec {
  arrays: readonly string[]
  scalars: readonly string[]
}

/**
 * Base of SGD, Adam and AdamW. Subclasses define option checks, the state they keep and the
 * per-parameter update; the base handles groups, gradient checks and state dicts.
 * @example const opt = new Adam([{ params: body.parameters() }, { params: head.parameters(), lr: 1e-2 }])
 */
export abstract class Optimizer<O extends { lr: number }, S extends ParamState = ParamState> {
  readonly paramGroups: Array<ParamGroup<O>> = []
  readonly defaults: O
  /** Per-parameter state; a parameter has none until its first step. */
  readonly state = new Map<Tensor, S>()
  /** The name used in error messages ('SGD', 'Adam', ...). */
  readonly name: string
  private readonly stateSpec: StateSpec

  protected constructor(name: string, stateSpec: StateSpec, params: Tensor[] | Array<ParamGroupInput<O>>, defaults: O) {
    this.name = name
    this.stateSpec = stateSpec
    this.defaults = defaults
    if (!Array.isArray(params) || params.length === 0) {
      throw new Error(`${name}: params must be a non-empty array of tensors or param groups`)
    }
    const groups = isPlainObject(params[0]) && 'params' in params[0]
      ? (params as Array<ParamGroupInput<O>>)
      : [{ params: params as Tensor[] } as ParamGroupInput<O>]
    for (const g of groups) this.addParamGroup(g)
  }

  /** Check a group's options; subclasses throw an error naming the option. */
  protected abstract validateOptions(options: O): void
  /** Update one parameter in place from its gradient; `state` is created by `initState`. */
  protected abstract update(param: Tensor, grad: ArrayLike<number>, state: S, group: ParamGroup<O>): void
  /** A fresh state object for a parameter (buffers may be created lazily by `update`). */
  protected abstract initState(param: Tensor, group: ParamGroup<O>): S
  /** An error message when a loaded state is inconsistent (e.g. a step count without moments). */
  protected checkState(_state: S): string | null {
    return null
  }

  /**
   * Add a group of parameters with its own options.
   * @example opt.addParamGroup({ params: head.parameters(), lr: 1e-2 })
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = this.name
    if (!isPlainObject(group) || !Array.isArray(group.params)) throw new Error(`${where}: a param group needs a params array`)
    const seen = new Set(this.allParams())
    group.params.forEach((p, i) => {
      if (p === null || typeof p !== 'object' || typeof (p as Tensor).buffer !== 'function') {
        throw new Error(`${where}: param group ${this.paramGroups.length} entry ${i} is not a Tensor`)
      }
      if (p.dtype !== 'float32' && p.dtype !== 'float64') {
        throw new Error(`${where}: param group ${this.paramGroups.length} entry ${i} has dtype ${p.dtype}; only float tensors can be optimized`)
      }
      if (seen.has(p)) throw new Error(`${where}: param group ${this.paramGroups.length} entry ${i} appears in more than one place`)
      seen.add(p)
    })
    const full = { ...this.defaults, ...group, params: [...group.params] } as ParamGroup<O>
    this.validateOptions(full)
    this.paramGroups.push(full)
  }

  /** Every parameter, in index order. */
  protected allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params)
  }

  /**
   * Drop every gradient (grad = null). Inside the tidy() scope whose backward() made them, the
   * gradients are then released with the scope, and so is their memory on the backend (a GPU.js
   * texture would otherwise wait for the garbage collector): call it after step() in the scope.
   * @example opt.zeroGrad()
   */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad !== null) unkeep(p.grad)
        p.grad = null
      }
    }
  }

  // The gradients' finite entries counted on the backend, one number read back: true when all
  // are finite (on a GPU nothing else leaves the device). Otherwise false, and step() scans the
  // values on the host, where it can name the first bad entry.
  private gradientsAllFinite(): boolean {
    const grads = this.allParams().flatMap((p) => (p.grad === null ? [] : [p.grad]))
    if (grads.length === 0) return true
    const total = grads.reduce((n, g) => n + g.numel(), 0)
    // NOTE: float32 counts are exact below 2^24 entries; past that, check on the host.
    if (total >= 2 ** 24) return false
    return noGrad(() => grads.map((g) => runUnary('isfinite', g).sum()).reduce((a, b) => a.add(b)).item()) === total
  }

  /**
   * Update every parameter that has a gradient, in place. Parameters with `grad === null` are skipped.
   * All gradients are checked (shape, and with `checkFinite` their values) before any update.
   * @example loss.backward(); opt.step(); opt.zeroGrad()
   */
  step(options: StepOptions = {}): void {
    const checkValues = options.checkFinite === true && !this.gradientsAllFinite()
    let index = 0
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = p.grad
        if (grad !== null) {
          if (grad.numel() !== p.numel() || !shapesEqual(grad.shape, p.shape)) {
            throw new Error(`${this.name}.step: param ${index} has shape [${p.shape.join(',')}] but its grad has shape [${grad.shape.join(',')}]; nothing was updated`)
          }
          if (checkValues) {
            const d = grad.data
            for (let i = 0; i < d.length; i++) {
              if (!Number.isFinite(d[i]!)) {
                throw new Error(`${this.name}.step: the grad of param ${index} (shape [${p.shape.join(',')}]) is ${d[i]} at element ${i}; nothing was updated`)
              }
            }
          }
        }
        index++
      }
    }
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue
        let s = this.state.get(p)
        if (s === undefined) {
          s = this.initState(p, g)
          this.state.set(p, s)
        }
        this.update(p, p.grad.buffer(`${this.name}.step`), s, g)
      }
    }
  }

  /**
   * A snapshot of the options and state (copies, keyed by parameter index as in PyTorch).
   * @example fs.writeFileSync('opt.json', JSON.stringify(opt.stateDict()))
   */
  stateDict(options: { typedArrays?: boolean } = {}): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {}
    const paramGroups: SavedGroup[] = []
    let index = 0
    for (const g of this.paramGroups) {
      const { params, ...opts } = g
      const saved: SavedGroup = { ...structuredClone(opts), params: [] }
      for (const p of params) {
        const s = this.state.get(p)
        if (s !== undefined) {
          const entry: Record<string, number | number[] | FloatBuffer> = {}
          for (const [k, v] of Object.entries(s)) {
            if (v === undefined) continue
            // a moment the backend updated on a device is read back first (device-copy.ts)
            if (typeof v !== 'number') syncHost(v, false)
            entry[k] = typeof v === 'number' ? v : options.typedArrays === true ? v.slice() : Array.from(v)
          }
          state[String(index)] = entry
        }
        saved.params.push(index++)
      }
      paramGroups.push(saved)
    }
    return { state, paramGroups }
  }

  /**
   * Restore options and state saved by `stateDict()`. Everything is validated first (group
   * count and sizes, option values, state keys and buffer lengths); on error nothing changes.
   * @example opt.loadStateDict(JSON.parse(fs.readFileSync('opt.json', 'utf8')))
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { groups, state } = this.prepareStateDict(sd)
    this.paramGroups.forEach((g, i) => Object.assign(g, groups[i]))
    this.state.clear()
    for (const [p, s] of state) this.state.set(p, s)
  }

  /**
   * Validate a state dict without loading it; throws the error `loadStateDict` would throw.
   * @example opt.validateStateDict(saved) // before touching the model
   */
  validateStateDict(sd: OptimizerStateDict): void {
    this.prepareStateDict(sd)
  }

  private prepareStateDict(sd: OptimizerStateDict): { groups: O[]; state: Map<Tensor, S> } {
    const where = `${this.name}.loadStateDict`
    if (!isPlainObject(sd) || !Array.isArray(sd.paramGroups) || !isPlainObject(sd.state)) {
      throw new Error(`${where}: expected {state, paramGroups}, got ${JSON.stringify(sd)?.slice(0, 200)}`)
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${where}: the state dict has ${sd.paramGroups.length} param groups, this optimizer has ${this.paramGroups.length}`)
    }
    const byIndex = new Map<number, Tensor>()
    const groups: O[] = []
    sd.paramGroups.forEach((saved, gi) => {
      const current = this.paramGroups[gi]!
      if (!isPlainObject(saved) || !Array.isArray(saved.params)) throw new Error(`${where}: param group ${gi} has no params array`)
      if (saved.params.length !== current.params.length) {
        throw new Error(`${where}: param group ${gi} has ${saved.params.length} params in the state dict, ${current.params.length} in this optimizer`)
      }
      saved.params.forEach((id, k) => {
        if (!Number.isInteger(id) || byIndex.has(id)) throw new Error(`${where}: param group ${gi} lists param id ${JSON.stringify(id)} (not an integer, or repeated)`)
        byIndex.set(id, current.params[k]!)
      })
      const { params: _ids, ...opts } = saved
      for (const key of Object.keys(opts)) {
        if (!(key in this.defaults)) throw new Error(`${where}: param group ${gi} has unknown option "${key}" (${this.name} options: ${Object.keys(this.defaults).join(', ')})`)
      }
      const merged = { ...current, ...structuredClone(opts) } as ParamGroup<O>
      this.validateOptions(merged)
      const { params: _p, ...clean } = merged
      groups.push(clean as unknown as O)
    })
    const state = new Map<Tensor, S>()
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key))
      if (p === undefined || String(Number(key)) !== key) throw new Error(`${where}: state for param "${key}", which no param group lists`)
      if (!isPlainObject(entry)) throw new Error(`${where}: state of param ${key} must be an object`)
      const s = {} as ParamState
      for (const [name, value] of Object.entries(entry)) {
        if (this.stateSpec.scalars.includes(name)) {
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}: state of param ${key}: "${name}" must be a finite number, got ${String(value)}`)
          s[name] = value
        } else if (this.stateSpec.arrays.includes(name)) {
          s[name] = copyBuffer(where, key, name, value, p)
        } else {
          throw new Error(`${where}: state of param ${key} has unknown key "${name}" (${this.name} keeps ${[...this.stateSpec.scalars, ...this.stateSpec.arrays].join(', ')})`)
        }
      }
      const problem = this.checkState(s as S)
      if (problem !== null) throw new Error(`${where}: state of param ${key}: ${problem}`)
      state.set(p, s as S)
    }
    return { groups, state }
  }
}

/** Copy a saved buffer (number array or typed array) into a new buffer of the param's dtype. */
function copyBuffer(where: string, key: string, name: string, value: unknown, p: Tensor): FloatBuffer {
  const isArrayLike = Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array
  if (!isArrayLike) throw new Error(`${where}: state of param ${key}: "${name}" must be an array of numbers, got ${typeof value}`)
  const src = value as ArrayLike<unknown>
  if (src.length !== p.numel()) {
    throw new Error(`${where}: state of param ${key}: "${name}" has ${src.length} values, the param has shape [${p.shape.join(',')}] (${p.numel()} values)`)
  }
  const out = p.dtype === 'float32' ? new Float32Array(src.length) : new Float64Array(src.length)
  for (let i = 0; i < src.length; i++) {
    const v = src[i]
    if (typeof v !== 'number') throw new Error(`${where}: state of param ${key}: "${name}"[${i}] is not a number`)
    out[i] = v
  }
  return out
}

/** A zero buffer with the param's dtype, in the backend's memory when the param lives there. */
export function zerosFor(p: Tensor): FloatBuffer {
  // State follows its parameter: in the backend's memory when the parameter lives there (Module.to).
  const b = getBackend()
  const resident = b.holds(p.buffer('optimizer state')) ? (b.allocPersistent(p.dtype, p.numel()) as FloatBuffer | null) : null
  return resident ?? (allocateHost(p.dtype, p.numel()) as FloatBuffer)
}
