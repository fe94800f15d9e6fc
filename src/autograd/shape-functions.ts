// Shape functions: views (reshape and friends share data), copies (permute, expand,
// cat, narrow, pad) and indexing (indexSelect, gather). Each checks its arguments and
// names itself in errors, then applies one op or composes a few.
import { Tensor } from '../tensor/tensor.js'
import { formatShape, normalizeDim, numel, shapesEqual, assertValidShape } from '../tensor/shape.js'
import { apply } from './op.js'
import { assertInt } from './checks.js'
import * as ops from './ops/index.js'

/** Same data, new shape; one dim may be -1 (inferred). @example reshape(x, [2, -1]) */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1)
  const inferred = shape.length - known.length
  if (inferred > 1) throw new Error(`reshape: only one dim can be -1, got ${formatShape(shape)}`)
  assertValidShape('reshape', known)
  const rest = numel(known)
  const full = shape.map((d) => (d === -1 ? (rest === 0 ? 0 : x.numel() / rest) : d))
  if (numel(full) !== x.numel() || full.some((d) => !Number.isInteger(d))) {
    throw new Error(`reshape: cannot view shape ${formatShape(x.shape)} (${x.numel()} elements) as ${formatShape(shape)}`)
  }
  if (shapesEqual(full, x.shape)) return x
  return apply(ops.reshape, [x], { shape: full })
}

/** Merge dims startDim..endDim into one. @example flatten(x, 1) // [N, C*H*W] */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1])
  const s = normalizeDim('flatten', startDim, x.ndim)
  const e = normalizeDim('flatten', endDim, x.ndim)
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`)
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)])
}

/** Insert a dim of size 1. @example unsqueeze(x, 0) */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1)
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)])
}

/** Drop one dim of size 1 (or all of them). @example squeeze(x, 1) */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1))
  const d = normalizeDim('squeeze', dim, x.ndim)
  if (x.shape[d] !== 1) return x
  return reshape(x, x.shape.filter((_, i) => i !== d))
}

/** Reorder dims. @example permute(x, [0, 2, 3, 1]) // NCHW -> NHWC */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const nd = dims.map((d) => normalizeDim('permute', d, x.ndim))
  if (nd.length !== x.ndim || new Set(nd).size !== nd.length) {
    throw new Error(`permute: dims ${JSON.stringify(dims)} must be a permutation of 0..${x.ndim - 1} for shape ${formatShape(x.shape)}`)
  }
  if (nd.every((d, i) => d === i)) return x
  return apply(ops.permute, [x], { dims: nd })
}

/** Swap two dims. @example transpose(w, 0, 1) */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim('transpose', dim0, x.ndim)
  const b = normalizeDim('transpose', dim1, x.ndim)
  const dims = x.shape.map((_, i) => (i === a ? b : i === b ? a : i))
  return permute(x, dims)
}

/** Broadcast to a larger shape (-1 keeps a dim); the copy's gradient sums back. @example expand(b, [4, 3]) */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const off = shape.length - x.ndim
  const full = shape.map((d, i) => (d === -1 && i >= off ? x.shape[i - off]! : d))
  const ok = off >= 0 && x.shape.every((d, i) => d === full[i + off] || d === 1)
  if (!ok) throw new Error(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)} (each dim must match or be 1)`)
  assertValidShape('expand', full)
  if (shapesEqual(full, x.shape)) return x
  return apply(ops.expand, [x], { shape: full })
}

/** Join along an existing dim. @example cat([a, b], 1) */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors')
  const first = tensors[0]!
  const d = normalizeDim('cat', dim, first.ndim)
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, j) => j !== d && s !== first.shape[j])) {
      throw new Error(`cat: tensor ${i} has shape ${formatShape(t.shape)}, expected ${formatShape(first.shape)} except in dim ${dim}`)
    }
  })
  if (tensors.length === 1) return first
  return apply(ops.cat, tensors, { dim: d })
}

/** Join along a new dim. @example stack([a, b], 0) */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors')
  const d = normalizeDim('stack', dim, tensors[0]!.ndim + 1)
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, tensors[0]!.shape)) {
      throw new Error(`stack: tensor ${i} has shape ${formatShape(t.shape)}, expected ${formatShape(tensors[0]!.shape)}`)
    }
  })
  return cat(tensors.map((t) => unsqueeze(t, d)), d)
}

/** Elements start..start+length-1 along dim. @example narrow(x, 1, 0, 2) */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.ndim)
  const size = x.shape[d]!
  const s = start < 0 ? start + size : start
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new Error(`narrow: start ${start} and length ${length} do not fit dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`)
  }
  if (s === 0 && length === size) return x
  return apply(ops.narrow, [x], { dim: d, start: s, length })
}

/** Slices at the given int32 positions along dim. @example indexSelect(emb, 0, ids) */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertInt('indexSelect', 'index', index)
  if (index.ndim > 1) throw new Error(`indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`)
  return apply(ops.indexSelect, [x, index], { dim: normalizeDim('indexSelect', dim, x.ndim) })
}

/** out[...i...] = x[...index[...i...]...] along dim; index has x's rank. @example gather(logp, 1, targets.unsqueeze(1)) */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertInt('gather', 'index', index)
  const d = normalizeDim('gather', dim, x.ndim)
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s > x.shape[i]!)) {
    throw new Error(`gather: index shape ${formatShape(index.shape)} does not fit input ${formatShape(x.shape)} (same rank, sizes at most the input's outside dim ${dim})`)
  }
  return apply(ops.gather, [x, index], { dim: d })
}

/**
 * Constant padding; `pads` are (left, right) pairs starting from the last dim, as in
 * torch.nn.functional.pad. @example pad(x, [1, 1, 1, 1]) // pad H and W by 1
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new Error(`pad: expected an even number of pads for at most ${x.ndim} dims, got ${JSON.stringify(pads)}`)
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`pad: pads must be non-negative integers, got ${JSON.stringify(pads)}`)
  const before = new Array<number>(x.ndim).fill(0)
  const after = new Array<number>(x.ndim).fill(0)
  for (let i = 0; i < pads.length / 2; i++) {
    before[x.ndim - 1 - i] = pads[2 * i]!
    after[x.ndim - 1 - i] = pads[2 * i + 1]!
  }
  if (pads.every((p) => p === 0)) return x
  return apply(ops.pad, [x], { before, after, value })
}

/**
 * Sum a (broadcast) gradient back to `shape`: over leading extra dims and over dims
 * where `shape` has 1. The engine calls this for every input, so ops never un-broadcast.
 * @example sumToShape(gradOut, [1, 4]) // [3, 4] -> [1, 4]
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g
  const off = g.ndim - shape.length
  if (off < 0 || shape.some((d, i) => d !== 1 && d !== g.shape[i + off])) {
    throw new Error(`sumToShape: cannot reduce shape ${formatShape(g.shape)} to ${formatShape(shape)}`)
  }
  const dims = g.shape.map((_, i) => i).filter((i) => i < off || (shape[i - off] === 1 && g.shape[i] !== 1))
  const summed = dims.length ? g.sum(dims, true) : g
  return reshape(summed, shape)
}
