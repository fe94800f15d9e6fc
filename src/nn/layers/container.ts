// Containers: Sequential chains its children ('0', '1', ...); ModuleList only holds them.
import type { Tensor } from '../../tensor/tensor.js'
import { Module } from '../module.js'

function indexOf(op: string, i: number, length: number): number {
  const k = i < 0 ? i + length : i
  if (!Number.isInteger(i) || k < 0 || k >= length) throw new Error(`${op}: index ${i} out of range for ${length} modules`)
  return k
}

/**
 * Modules applied in order, each to the previous one's output.
 * @example const net = new Sequential(new Flatten(), new Linear(784, 10))
 */
export class Sequential extends Module implements Iterable<Module> {
  private readonly items: Module[] = []

  constructor(...modules: Module[]) {
    super()
    for (const m of modules) this.append(m)
  }

  /** Add a module at the end (named by its position). @example seq.append(new ReLU()) */
  append(m: Module): this {
    this.items.push(this.registerModule(String(this.items.length), m))
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
    for (const m of modules) this.push(m)
  }

  /** Append modules; returns the new length (like Array.push). @example list.push(new ReLU()) */
  push(...modules: Module[]): number {
    for (const m of modules) this.items.push(this.registerModule(String(this.items.length), m))
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
