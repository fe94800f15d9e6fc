// Containers: Sequential chains its children ('0', '1', ...); ModuleList only holds them.
import type { Tensor } from '../../tensor/tensor.js'
import { Module } from '../module.js'

function indexOf(op: string, i: number, length: number): number {
  const k = i < 0 ? i + length : i
  if (!Number.isInteger(i) || k < 0 || k >= length) throw new Error(`${op}: index ${i} out of range for ${length} modules`)
  return k
}

/** Throw unless `m` is a Module, naming the container and the position (an easy slip: passing a class, or a function). */
function checkModule(op: string, m: unknown, where: string): Module {
  if (m instanceof Module) return m
  const what = typeof m === 'function' ? `the function or class '${(m as { name?: string }).name ?? ''}' (did you forget new?)` : m === null ? 'null' : `a value of type ${typeof m === 'object' ? Object.prototype.toString.call(m).slice(8, -1) : typeof m}`
  throw new Error(`${op}: ${where} must be a Module, got ${what}`)
}

/**
 * Modules applied in order, each to the previous one's output. As PyTorch's nn.Sequential it takes
 * the modules as arguments (named '0', '1', ...) or, like its OrderedDict form, a Map or object of
 * named modules; an array of modules is accepted too.
 * @example const net = new Sequential(new Flatten(), new Linear(784, 10))
 */
export class Sequential extends Module implements Iterable<Module> {
  private readonly items: Module[] = []

  constructor(...modules: Module[] | [Module[]] | [Map<string, Module> | Record<string, Module>]) {
    super()
    const only = modules.length === 1 ? (modules[0] as unknown) : undefined
    if (Array.isArray(only)) {
      only.forEach((m, i) => this.append(checkModule('Sequential', m, `element ${i} of the array`)))
    } else if (only instanceof Map || (typeof only === 'object' && only !== null && !(only instanceof Module))) {
      const entries = only instanceof Map ? [...only.entries()] : Object.entries(only)
      for (const [name, m] of entries) {
        if (typeof name !== 'string' || name === '' || name.includes('.')) throw new Error(`Sequential: module names must be non-empty strings without '.', got '${String(name)}'`)
        this.items.push(this.registerModule(name, checkModule('Sequential', m, `module '${name}'`)))
      }
    } else {
      modules.forEach((m, i) => this.append(checkModule('Sequential', m, `argument ${i}`)))
    }
  }

  /** Add a module at the end (named by its position). @example seq.append(new ReLU()) */
  append(m: Module): this {
    this.items.push(this.registerModule(String(this.items.length), checkModule('Sequential.append', m, 'the argument')))
    return this
  }
  /** The i-th module (negative counts from the end). @example seq.at(0) */
  at(i: number): Module {
    return this.items[indexOf('Sequential.at', i, this.items.length)]!
  }
  /** Number of modules. @example seq.length */
  get length(): number {
    return this.items.length
  }
  /** The modules in order, so `for (const m of seq)` works. @example [...seq] */
  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]()
  }

  override forward(x: Tensor): Tensor {
    let out = x
    for (const m of this.items) out = m.forward(out)
    return out
  }
}

/**
 * A list of modules whose parameters are registered ('0', '1', ...); it has no forward.
 * @example const blocks = new ModuleList([new Linear(4, 4), new Linear(4, 4)]); blocks.at(1)
 */
export class ModuleList extends Module implements Iterable<Module> {
  private readonly items: Module[] = []

  constructor(modules: Iterable<Module> = []) {
    super()
    if (modules === null || typeof (modules as Partial<Iterable<Module>>)[Symbol.iterator] !== 'function') {
      throw new Error(`ModuleList: expected an array (or other iterable) of modules, got ${modules instanceof Module ? 'a single Module (wrap it in [ ])' : typeof modules}`)
    }
    for (const m of modules) this.push(m)
  }

  /** Append modules; returns the new length (like Array.push). @example list.push(new ReLU()) */
  push(...modules: Module[]): number {
    for (const m of modules) this.items.push(this.registerModule(String(this.items.length), checkModule('ModuleList', m, `module ${this.items.length}`)))
    return this.items.length
  }
  /** The i-th module (negative counts from the end). @example list.at(-1) */
  at(i: number): Module {
    return this.items[indexOf('ModuleList.at', i, this.items.length)]!
  }
  /** Number of modules. @example seq.length */
  get length(): number {
    return this.items.length
  }
  /** The modules in order, so `for (const m of seq)` works. @example [...seq] */
  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]()
  }
}
