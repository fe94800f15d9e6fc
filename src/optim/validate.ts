// Option checks shared by the optimizers and schedulers. Each error names the caller, the
// option, the value found and the range expected, e.g. "Adam: betas[0] must be in [0, 1), got 1".

export interface RangeSpec {
  min?: number
  /** Exclusive upper bound. */
  below?: number
  /** Exclusive lower bound. */
  above?: number
  integer?: boolean
}

/** Throw unless `value` is a finite number in the range; returns the value. */
export function checkNumber(where: string, name: string, value: unknown, spec: RangeSpec = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (spec.min === undefined || value >= spec.min) &&
    (spec.below === undefined || value < spec.below) &&
    (spec.above === undefined || value > spec.above) &&
    (spec.integer !== true || Number.isInteger(value))
  if (!ok) {
    const parts: string[] = []
    if (spec.integer === true) parts.push('an integer')
    if (spec.min !== undefined && spec.below !== undefined) parts.push(`in [${spec.min}, ${spec.below})`)
    else if (spec.min !== undefined) parts.push(`>= ${spec.min}`)
    else if (spec.below !== undefined) parts.push(`< ${spec.below}`)
    if (spec.above !== undefined) parts.push(`> ${spec.above}`)
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
    throw new Error(`${where}: ${name} must be a finite number${parts.length ? ' ' + parts.join(' and ') : ''}, got ${shown}`)
  }
  return value as number
}

/** Throw unless `value` is a boolean. */
export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${where}: ${name} must be a boolean, got ${String(value)}`)
  return value
}

/** Throw unless `value` is a pair of betas, each in [0, 1). */
export function checkBetas(where: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new Error(`${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(value)}`)
  }
  return [checkNumber(where, 'betas[0]', value[0], { min: 0, below: 1 }), checkNumber(where, 'betas[1]', value[1], { min: 0, below: 1 })]
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)
