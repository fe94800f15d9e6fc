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
