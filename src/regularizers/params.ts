// Which tensors a regularizer acts on. By default the weights of Linear and Conv2d layers:
// not biases (a bias shifts a unit, it does not scale an input) and not BatchNorm's affine
// parameters (they set the scale a BatchNorm layer outputs, so shrinking them fights the
// normalisation). A filter chooses any other set, and a plain list of named tensors is taken
// as given, so a regularizer also works without a Module.
import { Tensor } from '../tensor/tensor.js'
import { Module } from '../nn/module.js'
import { Linear } from '../nn/layers/linear.js'
import { Conv2d } from '../nn/layers/conv.js'

/** A tensor with its dotted name, e.g. `['layer1.0.conv1.weight', w]`. */
export type NamedParam = [string, Tensor]

/** Where a regularizer finds its tensors: a model, or named tensors chosen by the caller. */
export type ParamSource = Module | Iterable<NamedParam>

/**
 * Chooses the regularized tensors: `name` is the dotted parameter name, `module` the module that
 * owns the parameter (undefined when the source is a list of named tensors).
 */
export type ParamFilter = (name: string, param: Tensor, module: Module | undefined) => boolean

/**
 * The default selection: the `weight` of every Linear and Conv2d layer, in registration order.
 * @example defaultRegularized(cnn2()).map(([n]) => n) // ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']
 */
export function defaultRegularized(model: Module): NamedParam[] {
  return selectParams(model, (name, _param, module) => (module instanceof Linear || module instanceof Conv2d) && localName(name) === 'weight')
}

/**
 * The named tensors of `source` that `filter` accepts. Without a filter: `defaultRegularized` for a
 * Module, every entry for a list of named tensors.
 * @example selectParams(model, (name) => name.endsWith('.weight'))
 */
export function selectParams(source: ParamSource, filter?: ParamFilter): NamedParam[] {
  if (source instanceof Module) {
    if (!filter) return defaultRegularized(source)
    const owners = new Map(source.namedModules())
    return source.namedParameters().filter(([name, t]) => filter(name, t, owners.get(ownerName(name))))
  }
  const out: NamedParam[] = []
  const seen = new Set<string>()
  for (const entry of source) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !(entry[1] instanceof Tensor)) {
      throw new Error(`selectParams: expected a Module or an iterable of [name, Tensor] pairs, got an entry ${describe(entry)}`)
    }
    if (seen.has(entry[0])) throw new Error(`selectParams: the parameter name '${entry[0]}' appears twice; names must be unique`)
    seen.add(entry[0])
    if (!filter || filter(entry[0], entry[1], undefined)) out.push([entry[0], entry[1]])
  }
  return out
}

const ownerName = (name: string): string => name.slice(0, Math.max(0, name.lastIndexOf('.')))
const localName = (name: string): string => name.slice(name.lastIndexOf('.') + 1)

function describe(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x instanceof Tensor ? 'Tensor' : typeof x)).join(', ')}]`
  return typeof v
}
