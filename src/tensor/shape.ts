// Shape arithmetic: sizes, row-major strides, NumPy/PyTorch broadcasting, dim checks.

/** Sizes of the dims, outermost first, e.g. [batch, channels, height, width]. */
export type Shape = readonly number[]

export function numel(shape: Shape): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides: the last dim is contiguous. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]!
  }
  return s
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/** The broadcast of two shapes (align right; a dim of 1 stretches), or an error naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1
    const db = b[b.length - n + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast: ` +
          `dim ${i - n} has sizes ${da} and ${db} (each must match or be 1)`,
      )
    }
    out[i] = da === 1 ? db : da
  }
  return out
}

/** Strides to read an input of `shape` as if it had `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape)
  const off = outShape.length - shape.length
  return outShape.map((d, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]!))
}

/**
 * How an elementwise op walks its output and reads each input: the output shape and, per input,
 * the step in elements along each dim (0 where the input is broadcast). Dims are merged where
 * every input runs on contiguously across them, so equal shapes are one dim, a bias over NCHW
 * is [N, C, H*W], and a backend's loops stay short and flat.
 */
export interface Broadcast {
  /** the (merged) output shape; at least one dim */
  shape: number[]
  /** per input, in the order given to broadcastGeometry: its step along each dim of `shape` */
  strides: number[][]
}

/** The broadcast of any number of shapes, or an error naming the op. @example broadcastAll('where', [[3, 1], [4], []]) // [3, 4] */
export function broadcastAll(op: string, shapes: readonly Shape[]): number[] {
  return shapes.reduce<number[]>((acc, s) => broadcastShapes(op, acc, s), [])
}

/**
 * The broadcast of `shapes` (an error naming the op when they do not broadcast), as a Broadcast;
 * a caller that already has their broadcast shape (the output's) passes it as `full`.
 * @example broadcastGeometry('add', [[32, 64, 14, 14], [64, 1, 1]]) // shape [32, 64, 196], strides [[12544, 196, 1], [0, 1, 0]]
 */
export function broadcastGeometry(op: string, shapes: readonly Shape[], full: Shape = broadcastAll(op, shapes)): Broadcast {
  const fullStrides = shapes.map((s) => broadcastStrides(s, full))
  const shape: number[] = []
  const strides: number[][] = shapes.map(() => [])
  for (let d = 0; d < full.length; d++) {
    const size = full[d]!
    if (size === 1) continue // a dim of 1 moves nothing
    const last = shape.length - 1
    // Merge into the previous dim when each input's step across the boundary is that of one long dim.
    if (last >= 0 && size > 0 && shape[last]! > 0 && fullStrides.every((st, k) => strides[k]![last] === st[d]! * size)) {
      shape[last] = shape[last]! * size
      fullStrides.forEach((st, k) => (strides[k]![last] = st[d]!))
    } else {
      shape.push(size)
      fullStrides.forEach((st, k) => strides[k]!.push(st[d]!))
    }
  }
  if (shape.length === 0) return { shape: [1], strides: shapes.map(() => [0]) }
  return { shape, strides }
}

/**
 * Visit the runs of a Broadcast's output along its last dim in row-major order, with each input's
 * offset at the run's start (an odometer over the outer dims; a stride of 0 re-reads a broadcast input).
 */
export function forEachRun(g: Broadcast, visit: (o: number, offsets: number[]) => void): void {
  const { shape, strides } = g
  const nd = shape.length
  const n = shape[nd - 1]!
  const runs = n === 0 ? 0 : numel(shape) / n
  const idx = new Array<number>(nd).fill(0)
  const offs = strides.map(() => 0)
  for (let r = 0; r < runs; r++) {
    visit(r * n, offs)
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++
      for (let k = 0; k < strides.length; k++) offs[k]! += strides[k]![d]!
      if (idx[d]! < shape[d]!) break
      for (let k = 0; k < strides.length; k++) offs[k]! -= strides[k]![d]! * shape[d]!
      idx[d] = 0
    }
  }
}

/** Resolve a possibly negative dim against ndim, or throw naming the op. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  const d = dim < 0 ? dim + ndim : dim
  if (!Number.isInteger(dim) || d < 0 || d >= Math.max(ndim, 1)) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor with ${ndim} dims (expected ${-Math.max(ndim, 1)}..${Math.max(ndim, 1) - 1})`)
  }
  return d
}

/** Resolve a dim list (or all dims when undefined), sorted and without repeats. */
export function normalizeDims(op: string, dims: number | number[] | undefined, ndim: number): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i)
  const list = (Array.isArray(dims) ? dims : [dims]).map((d) => normalizeDim(op, d, ndim))
  const set = [...new Set(list)].sort((x, y) => x - y)
  if (set.length !== list.length) throw new Error(`${op}: dims ${JSON.stringify(dims)} repeat a dim`)
  return set
}

export function assertValidShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${formatShape(shape)}: sizes must be non-negative integers`)
  }
}
