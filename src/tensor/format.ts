// A PyTorch-like printout: aligned columns, 4 decimals (or scientific notation when the
// magnitudes call for it), large tensors summarised with '...' (3 edge items per dim).
import type { Tensor } from './tensor.js'
import { numel } from './shape.js'

const EDGE = 3
const SUMMARIZE_ABOVE = 1000

export function formatTensor(t: Tensor): string {
  const summarize = t.numel() > SUMMARIZE_ABOVE
  const fmt = numberFormatter(t)
  const prefix = 'tensor('
  const body = t.ndim === 0 ? fmt(t.hostData('toString')[0]!) : formatDim(t, fmt, 0, 0, prefix.length + 1, summarize)
  const extras: string[] = []
  if (t.dtype !== 'float32') extras.push(`dtype=${t.dtype}`)
  if (t.node) extras.push(`gradFn=<${t.node.opName}>`)
  else if (t.requiresGrad) extras.push('requiresGrad=true')
  if (summarize) extras.unshift(`shape=[${t.shape.join(', ')}]`)
  return `${prefix}${body}${extras.length ? ', ' + extras.join(', ') : ''})`
}

function formatDim(t: Tensor, fmt: (v: number) => string, dim: number, offset: number, indent: number, summarize: boolean): string {
  const size = t.shape[dim]!
  const step = numel(t.shape.slice(dim + 1))
  const idx = summarize && size > 2 * EDGE ? [...range(0, EDGE), -1, ...range(size - EDGE, size)] : range(0, size)
  if (dim === t.ndim - 1) {
    return '[' + idx.map((i) => (i < 0 ? '...' : fmt(t.hostData('toString')[offset + i]!))).join(', ') + ']'
  }
  const sep = ',' + '\n'.repeat(t.ndim - dim - 1) + ' '.repeat(indent)
  const parts = idx.map((i) => (i < 0 ? '...' : formatDim(t, fmt, dim + 1, offset + i * step, indent + 1, summarize)))
  return '[' + parts.join(sep) + ']'
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i)
}

function numberFormatter(t: Tensor): (v: number) => string {
  const finite = Array.from(t.hostData('toString')).filter(Number.isFinite)
  if (t.dtype === 'int32') {
    const w = Math.max(1, ...Array.from(t.hostData('toString'), (v) => String(v).length))
    return (v) => String(v).padStart(w)
  }
  const allInt = finite.every(Number.isInteger)
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  const minAbs = finite.reduce((m, v) => (v !== 0 ? Math.min(m, Math.abs(v)) : m), Infinity)
  const sci = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity) || (maxAbs / minAbs > 1e3 && !allInt && maxAbs > 1e3)
  const raw = (v: number): string => {
    if (Number.isNaN(v)) return 'nan'
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf'
    if (sci) return v.toExponential(4)
    if (allInt) return `${v}.`
    return v.toFixed(4)
  }
  const width = Math.max(1, ...Array.from(t.hostData('toString'), (v) => raw(v).length))
  return (v) => raw(v).padStart(width)
}
