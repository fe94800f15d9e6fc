// Input checks shared by the ops, so every error names the op and what was wrong.
import type { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'

export function assertFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype === 'int32') {
      throw new Error(`${op}: expected a float tensor, got int32 of shape ${formatShape(t.shape)} (convert with .float())`)
    }
  }
}

export function assertInt(op: string, what: string, t: Tensor): void {
  if (t.dtype !== 'int32') throw new Error(`${op}: ${what} must be an int32 tensor, got ${t.dtype}`)
}

export function assertNdim(op: string, what: string, t: Tensor, ndim: number): void {
  if (t.ndim !== ndim) {
    throw new Error(`${op}: ${what} must have ${ndim} dims, got shape ${formatShape(t.shape)}`)
  }
}

export function assertPositiveInt(op: string, what: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${what} must be an integer >= ${min}, got ${v}`)
}
