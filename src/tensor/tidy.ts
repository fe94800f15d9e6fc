// tidy(): a scope in which tensors live in their backend's own memory, freed when it ends.
//
// Outside any scope a tensor's array is an ordinary host typed array that the garbage collector
// frees. Inside `tidy(fn)`, the arrays ops allocate come from the active backend when it has
// memory of its own (the wasm backend: blocks of its WebAssembly.Memory, so its kernels read and
// write them in place, with no copy in or out), and are given back when `fn` returns: a
// training step then allocates nothing new after the first one, and memory stays flat however
// many steps run, with no help from the garbage collector (whose finalizers never run inside a
// synchronous loop). On gpujs the arrays are the host's side of textures (../device-copy.ts): the
// scope frees its tensors' textures, and the uploads made in it, when it ends. The reference
// backend keeps tensors on the host; tidy() then changes nothing.
//
// What survives the scope: the tensors `fn` returns (a tensor, or an array or object of them),
// those passed to keep(), module parameters and buffers registered inside it, and the gradients
// backward() leaves on leaf tensors (optimizers' zeroGrad() gives those up). Each whose array is a
// block of the scope is moved to a host array as the scope ends, its texture on gpujs with it
// (weights that Module.to() put in the backend's memory for good stay there). Every other tensor created in the scope is released: using it afterwards is an error
// naming the op, never a silent read of memory that a later step has reused. (A raw `.data` array
// taken from a tensor inside the scope must not be kept past it either.)
import type { Tensor } from './tensor.js'
import { setResidentAllocator, type DType, type TypedArray } from './dtype.js'
import { getBackend } from './backends/registry.js'
import { closeUploadScope, dropDeviceCopy, moveDeviceCopy, openUploadScope } from './device-copy.js'
import type { Backend } from './backends/backend.js'

interface Scope {
  backend: Backend
  /** arrays allocated in the backend's memory while this scope was the innermost */
  resident: Set<TypedArray>
  /** the tensors made on each of those arrays (several share one after reshape or detach) */
  tensors: Map<TypedArray, Tensor[]>
  /** tensors that outlive the scope */
  kept: Set<Tensor>
}

const scopes: Scope[] = []
const innermost = (): Scope | undefined => scopes[scopes.length - 1]

function residentAllocate(dtype: DType, length: number, zero: boolean): TypedArray | null {
  const s = innermost()
  if (!s) return null
  const data = s.backend.allocResident(dtype, length, zero)
  if (data) s.resident.add(data)
  return data
}

/**
 * Run `fn` in a scope whose tensors live on the backend and are freed when it returns (see the
 * header of tidy.ts): what `fn` returns, keep()s, registers as a parameter or buffer, or leaves
 * as a leaf's gradient survives; any other tensor of the scope is released.
 * @example const loss = tidy(() => { opt.zeroGrad(); const l = F.crossEntropy(model.forward(x), y); l.backward(); opt.step(); return l.item() })
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new Error(`tidy: expected a function to run, got ${fn === null ? 'null' : typeof fn}`)
  const scope: Scope = { backend: getBackend(), resident: new Set(), tensors: new Map(), kept: new Set() }
  scopes.push(scope)
  setResidentAllocator(residentAllocate)
  openUploadScope()
  try {
    const result = fn()
    if (result instanceof Promise) throw new Error('tidy: fn returned a Promise; tidy scopes are synchronous (await outside them)')
    for (const t of tensorsIn(result)) scope.kept.add(t)
    return result
  } finally {
    closeUploadScope()
    scopes.pop()
    if (scopes.length === 0) setResidentAllocator(null)
    end(scope)
  }
}

/**
 * Let `t` outlive the innermost tidy() scope (it is moved to a host array when the scope ends);
 * returns `t`. Outside any scope it does nothing.
 * @example tidy(() => { keep(model.forward(x)); ... })
 */
export function keep<T extends Tensor | null>(t: T): T {
  if (t === null) return t
  if (!isTensor(t)) throw new Error(`keep: expected a Tensor (or null), got ${Array.isArray(t) ? 'an array' : typeof t}`)
  innermost()?.kept.add(t)
  return t
}

/**
 * Undo what keeps `t` past the open tidy() scopes (optimizers' zeroGrad() drops the gradients
 * backward() kept): it is released with its scope like any other tensor of it. Outside any
 * scope it does nothing. @internal
 */
export function unkeep(t: Tensor): void {
  for (const s of scopes) s.kept.delete(t)
}

/**
 * Called by the Tensor constructor: a tensor on an array of an open scope belongs to that scope
 * (a tensor made in an inner scope on an outer scope's array, e.g. by reshape, is released with
 * the outer one). @internal
 */
export function adoptTensor(t: Tensor, data: TypedArray): void {
  const s = scopeOf(data)
  if (s === undefined) {
    hostTensors.set(data, (hostTensors.get(data) ?? 0) + 1)
    return
  }
  const list = s.tensors.get(data)
  if (list) list.push(t)
  else s.tensors.set(data, [t])
}

// Outside the scopes: how many tensors were made on each array and not disposed (those the
// garbage collector took still count, so an array is never freed early).
const hostTensors = new WeakMap<TypedArray, number>()

const scopeOf = (data: TypedArray): Scope | undefined => {
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.resident.has(data)) return scopes[i]
  return undefined
}

/**
 * Release `t` now (Tensor.dispose): using it afterwards is an error naming the op. When its array
 * is a block of an open scope and every tensor on that array is released, the block goes back
 * to the backend at once, for the rest of the scope to reuse. Outside a scope, once every tensor
 * made on the array is disposed, its device copy (a GPU.js texture) is freed at once; the host
 * array itself (or weights moved with Module.to()) goes when the garbage collector takes it.
 * @internal
 */
export function disposeTensor(t: Tensor): void {
  if (t.isReleased) return
  t.release()
  const data = t.storage()
  const s = scopeOf(data)
  if (s === undefined) {
    const left = (hostTensors.get(data) ?? 1) - 1
    hostTensors.set(data, left)
    if (left === 0) dropDeviceCopy(data)
    return
  }
  if (!s.tensors.get(data)!.every((u) => u.isReleased)) return
  s.resident.delete(data)
  s.tensors.delete(data)
  s.backend.freeResident(data)
}

/** Whether `data` is an array of an open scope, to be given back when it ends. @internal */
export function inScope(data: TypedArray): boolean {
  return scopes.some((s) => s.resident.has(data))
}

// The scope's end: kept tensors to host copies (one per shared array), every other tensor of
// the scope released, every array given back to the backend.
function end(scope: Scope): void {
  const moved = new Map<TypedArray, TypedArray>()
  for (const t of scope.kept) {
    const data = t.storage()
    if (t.isReleased || !scope.resident.has(data)) continue
    let host = moved.get(data)
    if (!host) {
      host = data.slice() // an ordinary (host) array of the same type
      moveDeviceCopy(data, host) // values on a device (GPU.js) stay there, now the host array's
      moved.set(data, host)
    }
    t.moveStorage(host)
  }
  for (const [data, list] of scope.tensors) for (const t of list) if (t.storage() === data) t.release()
  for (const data of scope.resident) scope.backend.freeResident(data)
}

// The tensors in a returned value: a tensor, or an array or plain object of them (one level).
// Duck-typed: tensor.ts imports this module, so it cannot import the Tensor class back.
const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && typeof (v as Tensor).moveStorage === 'function'

function tensorsIn(value: unknown): Tensor[] {
  if (isTensor(value)) return [value]
  if (Array.isArray(value)) return value.filter(isTensor)
  if (typeof value === 'object' && value !== null) return Object.values(value).filter(isTensor)
  return []
}
