// Reverse-mode autodiff over the recorded graph.
// backward: order the nodes topologically (an explicit stack, no recursion: a chain of
// 100,000 ops must not overflow the JS call stack), then walk them from the output back,
// calling each op's backward and summing gradients per tensor in a Map.
// The one place where broadcast gradients are reduced is sumToShape, called here.
import { Tensor } from '../tensor/tensor.js'
import { allocate } from '../tensor/dtype.js'
import { broadcastGeometry, formatShape, shapesEqual } from '../tensor/shape.js'
import { getBackend } from '../tensor/backends/registry.js'
import { noGrad } from './no-grad.js'
import { keep } from '../tensor/tidy.js'
import { sumToShape } from './functional.js'
import { freshGradient, isFreshGradient, releaseGradient } from './fresh.js'

/** Options of `Tensor.backward`. */
export interface BackwardOptions {
  /** Keep saved buffers so backward can run through this graph again. */
  retainGraph?: boolean
}

/**
 * Sort out backward's two call forms, PyTorch's `backward(gradient, retain_graph=...)` in
 * camelCase: `backward()`, `backward(grad)`, `backward(grad, { retainGraph })` and
 * `backward({ retainGraph })`. Anything else is an error that names what was given.
 */
function backwardArguments(
  root: Tensor,
  gradOrOptions: Tensor | BackwardOptions | undefined,
  maybeOptions: BackwardOptions | undefined,
): { grad: Tensor | undefined; options: BackwardOptions } {
  const expected = `a Tensor of shape ${formatShape(root.shape)} (or nothing, for a one-element output)`
  let grad: Tensor | undefined
  let options: unknown = maybeOptions ?? {}
  if (gradOrOptions instanceof Tensor) grad = gradOrOptions
  else if (isPlainObject(gradOrOptions)) {
    if (maybeOptions !== undefined) throw new Error(`backward: the gradient must be ${expected}, got an object and options`)
    options = gradOrOptions
  } else if (gradOrOptions !== undefined) {
    throw new Error(`backward: the gradient must be ${expected}, got ${describeValue(gradOrOptions)}`)
  }
  if (!isPlainObject(options)) throw new Error(`backward: options must be an object like { retainGraph: true }, got ${describeValue(options)}`)
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'retainGraph') throw new Error(`backward: unknown option '${key}' (known: retainGraph)`)
    if (value !== undefined && typeof value !== 'boolean') throw new Error(`backward: retainGraph must be true or false, got ${describeValue(value)}`)
  }
  return { grad, options: options as BackwardOptions }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** A short description of a value for an error message (never calls the value's own toString). */
function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array of length ${v.length}`
  if (typeof v === 'object') return `a ${Object.prototype.toString.call(v).slice(8, -1)}`
  if (typeof v === 'string') return `the string '${v.length > 40 ? v.slice(0, 40) + '...' : v}'`
  return `${typeof v} ${String(v)}`
}

/** Tensors reachable from `root` through recorded nodes, inputs before outputs. */
export function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = []
  const visited = new Set<Tensor>()
  // Each stack entry is a tensor and whether its inputs have already been pushed.
  const stack: [Tensor, boolean][] = [[root, false]]
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!
    if (expanded) {
      order.push(t)
      continue
    }
    if (visited.has(t)) continue
    visited.add(t)
    stack.push([t, true])
    const node = t.node
    if (!node) continue
    if (node.freed) {
      throw new Error(
        `backward: the graph through '${node.opName}' was already freed by an earlier backward; ` +
          `call the first one as backward({ retainGraph: true }) to run backward twice`,
      )
    }
    for (const input of node.inputs) if (input.requiresGrad && !visited.has(input)) stack.push([input, false])
  }
  return order
}

/** Backpropagate from `root`, accumulating `.grad` on the leaves that require grad (see Tensor.backward). */
export function backward(root: Tensor, gradOrOptions?: Tensor | BackwardOptions, maybeOptions?: BackwardOptions): void {
  const { grad: given, options } = backwardArguments(root, gradOrOptions, maybeOptions)
  let grad = given
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require grad (no input of its graph has requiresGrad=true)')
  }
  if (grad === undefined) {
    if (root.numel() !== 1) {
      throw new Error(
        `backward: a gradient can be created implicitly only for a one-element output, ` +
          `this one has shape ${formatShape(root.shape)}; pass backward(gradOut) with that shape`,
      )
    }
    // d root / d root = 1, allocated like any tensor (in the backend's memory inside tidy())
    const one = allocate(root.dtype, 1)
    one[0] = 1
    grad = new Tensor(one, root.shape)
  } else if (!shapesEqual(grad.shape, root.shape)) {
    throw new Error(`backward: gradient shape ${formatShape(grad.shape)} does not match output shape ${formatShape(root.shape)}`)
  } else if (grad.dtype !== root.dtype) {
    throw new Error(`backward: gradient dtype ${grad.dtype} does not match output dtype ${root.dtype}`)
  }
  const order = topologicalOrder(root)
  const grads = new Map<Tensor, Tensor>([[root, grad]])
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!
      const g = grads.get(t)
      if (!g) continue
      grads.delete(t)
      const node = t.node
      if (!node) {
        accumulateLeaf(t, g)
        continue
      }
      const inputGrads = node.op.backward(node.ctx, g, node.attrs)
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k]
        if (!input.requiresGrad || !gi) return
        const reduced = reduceToInput(node.opName, k, gi, input)
        const prev = grads.get(input)
        grads.set(input, prev ? accumulate(prev, reduced) : reduced)
      })
      if (!options.retainGraph) {
        // The graph's structure stays (toDot still works); the saved buffers go.
        node.ctx.saved = []
        node.freed = true
      }
    }
  })
}

// A gradient may have the broadcast (output) shape; sum it back to the input's shape.
function reduceToInput(op: string, k: number, g: Tensor, input: Tensor): Tensor {
  if (shapesEqual(g.shape, input.shape)) return g.dtype === input.dtype ? g : g.to(input.dtype)
  try {
    const r = sumToShape(g, input.shape)
    return r.dtype === input.dtype ? r : r.to(input.dtype)
  } catch {
    throw new Error(
      `backward of '${op}': gradient for input ${k} has shape ${formatShape(g.shape)}, ` +
        `which does not reduce to the input's shape ${formatShape(input.shape)}`,
    )
  }
}

// prev + g for one tensor's gradient contributions (the value of prev.add(g), one rounding to the
// dtype): into prev when the engine or the op that made it holds the only reference, else into a
// new tensor, which is then the engine's own. The same for every op, on the backend.
function accumulate(prev: Tensor, g: Tensor): Tensor {
  if (!isFreshGradient(prev)) return freshGradient(prev.add(g))
  // prev += g in place: the backend's add with prev as its own output (an elementwise add reads
  // each entry before it writes it, so the aliasing is safe; both have the input's shape and dtype).
  getBackend().binary('add', prev.buffer('accumulate'), g.buffer('accumulate'), prev.buffer('accumulate'), broadcastGeometry('accumulate', [prev.shape, g.shape]))
  return prev
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (!t.requiresGrad) return
  // NOTE: the leaf's grad gets its own storage, so later in-place updates never alias: a copy,
  // unless nobody else holds g (see ./fresh.ts).
  const own = isFreshGradient(g) ? g : g.clone()
  releaseGradient(own)
  // A leaf's gradient outlives a tidy() scope that backward() runs in.
  t.grad = keep(t.grad ? t.grad.add(own) : own)
}

/**
 * The graph behind `root` as Graphviz DOT text: ops as boxes, tensors as ellipses
 * labelled with their shape (and `name` when set), for teaching.
 * @example console.log(toDot(loss)) // paste into `dot -Tsvg`
 */
export function toDot(root: Tensor, names: Map<Tensor, string> = new Map()): string {
  if (!(root instanceof Tensor)) throw new Error(`toDot: expected the Tensor whose graph to draw, got ${root === null ? 'null' : typeof root}`)
  const ids = new Map<Tensor, string>()
  const id = (t: Tensor): string => {
    let s = ids.get(t)
    if (!s) ids.set(t, (s = `t${ids.size}`))
    return s
  }
  const lines = ['digraph priorgrad {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];']
  const seen = new Set<Tensor>()
  const stack = [root]
  while (stack.length) {
    const t = stack.pop()!
    if (seen.has(t)) continue
    seen.add(t)
    const label = `${names.get(t) ?? (t.node ? '' : 'leaf ')}${formatShape(t.shape)}${t.requiresGrad && !t.node ? ' grad' : ''}`
    lines.push(`  ${id(t)} [shape=ellipse, label="${label.replace(/"/g, '\\"')}"];`)
    if (!t.node) continue
    const opId = `${id(t)}_op`
    lines.push(`  ${opId} [shape=box, style=filled, fillcolor="#e8eef7", label="${t.node.opName}"];`)
    lines.push(`  ${opId} -> ${id(t)};`)
    for (const input of t.node.inputs) {
      lines.push(`  ${id(input)} -> ${opId};`)
      stack.push(input)
    }
  }
  lines.push('}')
  return lines.join('\n') + '\n'
}
