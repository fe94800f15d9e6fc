// Module: the base of every layer and network, as torch.nn.Module. A module owns named
// parameters (leaf tensors with requiresGrad), buffers (state that is saved but not trained,
// e.g. BatchNorm's running statistics) and child modules, all kept in insertion order so
// dotted names and the state-dict order match PyTorch's (own parameters, own buffers, then
// each child recursively), which lets safetensors files move between the two.
import { Tensor } from '../tensor/tensor.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { inScope, keep, unkeep } from '../tensor/tidy.js'
import { getBackend } from '../tensor/backends/registry.js'

/** Parameters and buffers by dotted name, in PyTorch's order. */
export type StateDict = Map<string, Tensor>

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Fail on missing or unexpected keys (default true). Shape and dtype mismatches always fail. */
  strict?: boolean
}

/** The keys a non-strict loadStateDict skipped, as torch's load_state_dict reports them. */
export interface LoadStateDictResult {
  missingKeys: string[]
  unexpectedKeys: string[]
}

/**
 * Base class of layers and networks. Subclasses register their parts in the constructor
 * and define `forward`.
 * @example class Net extends Module { fc = this.registerModule('fc', new Linear(4, 2)); forward(x: Tensor) { return this.fc.forward(x) } }
 */
export class Module {
  /** Train mode (batch statistics, dropout on) or eval mode; set with train() / eval(). */
  training = true
  private readonly _parameters = new Map<string, Tensor | null>()
  private readonly _buffers = new Map<string, Tensor | null>()
  private readonly _modules = new Map<string, Module | null>()

  /** The computation; every subclass that is called defines it. */
  forward(..._args: Tensor[]): Tensor {
    throw new Error(`${this.constructor.name}.forward: this module does not define forward`)
  }

  /**
   * Register a trainable tensor under `name` (null keeps the slot, e.g. a disabled bias).
   * Sets requiresGrad and returns the tensor, so `this.weight = this.registerParameter('weight', w)`.
   * @example this.bias = this.registerParameter('bias', zeros([out]))
   */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    this.checkName('registerParameter', name)
    if (t !== null) {
      if (!t.isLeaf) throw new Error(`registerParameter: '${name}' must be a leaf tensor (detach it first)`)
      t.requiresGrad = true
    }
    this._parameters.set(name, keep(t)) // a model built inside tidy() keeps its weights
    return t
  }

  /** Register a saved, untrained tensor (running statistics). @example this.registerBuffer('running_mean', zeros([c])) */
  registerBuffer<T extends Tensor | null>(name: string, t: T): T {
    this.checkName('registerBuffer', name)
    this._buffers.set(name, keep(t))
    return t
  }

  /** Register a child module; its parameters get the prefix `name.`. @example this.fc1 = this.registerModule('fc1', new Linear(784, 256)) */
  registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName('registerModule', name)
    this._modules.set(name, m)
    return m
  }

  private checkName(op: string, name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`${op}: name must be non-empty and contain no '.', got '${name}'`)
    const taken = [this._parameters, this._buffers, this._modules].some((m) => m.has(name))
    if (taken) throw new Error(`${op}: '${name}' is already registered in ${this.constructor.name}`)
  }

  /**
   * Move the parameters and buffers into the active backend's own memory, as PyTorch's
   * `model.to(device)`: on `wasm` they then live in its WebAssembly memory, where the kernels and
   * the optimizer (whose state follows them there) use them in place, with no copies. On backends
   * that keep tensors on the host nothing changes. The tensors, values and dtypes stay the same;
   * `backend`, if given, must name the active backend. Returns the module.
   * @example setBackend('wasm'); model.to('wasm')
   */
  to(backend?: string): this {
    const b = getBackend()
    if (backend !== undefined && backend !== b.name) {
      throw new Error(`${this.constructor.name}.to: '${backend}' is not the active backend ('${b.name}'); call setBackend('${backend}') first: tensors live in the memory of the backend that computes`)
    }
    for (const t of [...this.parameters(), ...this.buffers()]) {
      // already there for good (a scope's block would go back when the scope ends)
      const current = t.buffer(`${this.constructor.name}.to`)
      if (b.holds(current) && !inScope(current)) continue
      const data = b.allocPersistent(t.dtype, t.numel())
      if (data === null) continue
      data.set(t.data)
      t.moveStorage(data)
    }
    return this
  }

  /** Set train mode on this module and all descendants. @example model.train() */
  train(mode = true): this {
    this.training = mode
    for (const child of this.children()) child.train(mode)
    return this
  }

  /** Eval mode (running statistics, no dropout). @example model.eval() */
  eval(): this {
    return this.train(false)
  }

  /** Direct children with their names. @example for (const [name, m] of model.namedChildren()) ... */
  namedChildren(): [string, Module][] {
    return [...this._modules].filter((e): e is [string, Module] => e[1] !== null)
  }
  /** Direct children. @example model.children().length */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m)
  }

  /** This module ('') and every descendant, pre-order, each once. @example model.namedModules().map(([n]) => n) */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = []
    const seen = new Set<Module>()
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return
      seen.add(m)
      out.push([name, m])
      for (const [childName, child] of m.namedChildren()) visit(child, name ? `${name}.${childName}` : childName)
    }
    visit(this, prefix)
    return out
  }
  /** This module and every descendant, pre-order. @example model.modules().filter((m) => m instanceof BatchNorm2d) */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m)
  }

  /** Parameters with dotted names (`layer1.0.conv1.weight`), shared ones listed once. @example model.namedParameters() */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.namedTensors(prefix, (m) => m._parameters)
  }
  /** @example new Adam(model.parameters()) */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t)
  }
  /** Buffers with dotted names (`bn1.running_mean`). @example model.namedBuffers() */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return this.namedTensors(prefix, (m) => m._buffers)
  }
  /** @example model.buffers().length */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t)
  }

  private namedTensors(prefix: string, pick: (m: Module) => Map<string, Tensor | null>): [string, Tensor][] {
    const out: [string, Tensor][] = []
    const seen = new Set<Tensor>()
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [name, t] of pick(m)) {
        if (t === null || seen.has(t)) continue
        seen.add(t)
        out.push([modName ? `${modName}.${name}` : name, t])
      }
    }
    return out
  }

  /** Total number of trainable elements. @example resnet18().numParameters() // 11173962 */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel(), 0)
  }

  /** Drop every parameter's gradient (grad = null), as the optimizers' zeroGrad(). @example model.zeroGrad() */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      if (p.grad !== null) unkeep(p.grad)
      p.grad = null
    }
  }

  /** Call fn on every descendant (children first, as PyTorch), then on this. @example model.apply((m) => { if (m instanceof Linear) init.zeros(m.bias!) }) */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn)
    fn(this)
    return this
  }

  // The live tensors in PyTorch's state_dict order: own parameters, own buffers, then children.
  private stateEntries(prefix: string, out: [string, Tensor][]): [string, Tensor][] {
    for (const [name, t] of this._parameters) if (t) out.push([prefix + name, t])
    for (const [name, t] of this._buffers) if (t) out.push([prefix + name, t])
    for (const [name, child] of this._modules) if (child) child.stateEntries(`${prefix}${name}.`, out)
    return out
  }

  /**
   * Parameters and buffers by dotted name, as detached tensors sharing the module's storage
   * (copy them before the next optimizer step if you need a snapshot).
   * @example const sd = model.stateDict(); sd.get('fc1.weight')
   */
  stateDict(): StateDict {
    return new Map(this.stateEntries('', []).map(([k, t]) => [k, t.detach()]))
  }

  /**
   * Copy tensors into this module's parameters and buffers in place. Everything is validated
   * first (keys when strict, then shape and dtype of every matching key); on any error nothing is
   * copied and the error lists every problem.
   * @example model.loadStateDict(sd) // { missingKeys: [], unexpectedKeys: [] }
   */
  loadStateDict(sd: StateDict | Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true
    const source = sd instanceof Map ? sd : new Map(Object.entries(sd))
    const own = this.stateEntries('', [])
    const ownKeys = new Set(own.map(([k]) => k))
    const missingKeys = own.map(([k]) => k).filter((k) => !source.has(k))
    const unexpectedKeys = [...source.keys()].filter((k) => !ownKeys.has(k))
    const errors: string[] = []
    if (strict && missingKeys.length > 0) errors.push(`missing keys: ${missingKeys.join(', ')}`)
    if (strict && unexpectedKeys.length > 0) errors.push(`unexpected keys: ${unexpectedKeys.join(', ')}`)
    const copies: [Tensor, Tensor][] = []
    for (const [key, target] of own) {
      const src = source.get(key)
      if (src === undefined) continue
      if (!(src instanceof Tensor)) {
        errors.push(`${key}: expected a Tensor, found ${typeof src}`)
      } else if (!shapesEqual(src.shape, target.shape)) {
        errors.push(`size mismatch for ${key}: expected shape ${formatShape(target.shape)}, found ${formatShape(src.shape)}`)
      } else if (src.dtype !== target.dtype) {
        errors.push(`dtype mismatch for ${key}: expected ${target.dtype}, found ${src.dtype}`)
      } else {
        copies.push([target, src])
      }
    }
    if (errors.length > 0) {
      throw new Error(`loadStateDict: cannot load into ${this.constructor.name} (nothing was changed):\n  ${errors.join('\n  ')}`)
    }
    for (const [target, src] of copies) if (target.data !== src.data) target.data.set(src.data)
    return { missingKeys, unexpectedKeys }
  }

  /** The part inside the parentheses of this module's repr, e.g. `inFeatures=4, outFeatures=2, bias=true`. */
  extraRepr(): string {
    return ''
  }

  /** A PyTorch-like multi-line description. @example console.log(String(model)) */
  toString(): string {
    const children = this.namedChildren()
    const name = this.constructor.name
    const extra = this.extraRepr()
    if (children.length === 0) return `${name}(${extra})`
    const lines = extra ? [extra] : []
    for (const [childName, child] of children) lines.push(`(${childName}): ${String(child).split('\n').join('\n  ')}`)
    return `${name}(\n  ${lines.join('\n  ')}\n)`
  }
}

/** Throw unless x has `ndim` dims (one of them when an array), naming the module and the shape. */
export function expectNdim(op: string, x: Tensor, ndim: number | number[]): void {
  const allowed = Array.isArray(ndim) ? ndim : [ndim]
  if (!allowed.includes(x.ndim)) {
    throw new Error(`${op}: expected a ${allowed.join(' or ')}-D input, got shape ${formatShape(x.shape)}`)
  }
}

/**
 * Throw unless `value` (a size, or a pair of sizes) holds integers >= `min`, naming the layer and
 * the argument; used by layer constructors, where a bad size would otherwise surface much later
 * as a shape error in an op the user never called.
 */
export function expectSizes(op: string, name: string, value: unknown, min: number): void {
  const values = Array.isArray(value) && value.length === 2 ? value : [value]
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      const got = typeof v === 'number' ? String(v) : typeof v === 'string' ? `'${v}'` : Array.isArray(value) ? `an array of length ${value.length}` : typeof v
      throw new Error(`${op}: ${name} must be an integer >= ${min}${Array.isArray(value) ? ' in each entry' : ''}, got ${got}`)
    }
  }
}
