// Reading values safely, shared by the CLI flags, grid files and config.json: the error types,
// the one number parser (decimal, finite, no underflow, exact integers, a range), and message
// helpers that never print more than a bounded, non-recursive description of a value.

/** Thrown for a bad flag or value; the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A file priorgrad reads back (a run's config.json) is missing fields or is not JSON; the message names the file. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError'
}

const bad = (flag: string, expected: string, text: string): UsageError =>
  new UsageError(`--${flag}: expected ${expected}, got '${clip(text)}'`)

/** A value for an error message, never longer than `max` characters (a fuzzed value can be megabytes). */
export function clip(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`
}

/**
 * A short description of any value for an error message. It never calls the value's own
 * toString and never recurses, so a hostile or deeply nested JSON value cannot make the message
 * itself throw.
 * @example describe(null) // 'null'
 */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `a list of ${value.length}`
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `'${clip(value)}'`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}

/** The allowed values of a numeric option. */
export interface NumberRange {
  min: number
  max: number
  /** min itself is not allowed (e.g. a learning rate must be > 0). */
  minOpen?: boolean
  /** max itself is not allowed (e.g. momentum < 1). */
  maxOpen?: boolean
  integer?: boolean
}

// Plain decimal notation only: no hex (0x10), no sign '+', no spaces, no Infinity. Number()
// alone accepts all of those, and '' as 0.
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** The range in words, as the error messages and --help say it. @example rangeText({ min: 1, max: 10, integer: true }) // 'an integer from 1 to 10' */
export function rangeText(r: NumberRange): string {
  if (r.integer) return `an integer from ${r.min} to ${r.max}`
  return `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`
}

/**
 * The one number parser of the CLI and grid files: decimal text, finite, not an underflow to 0,
 * an exact (safe) integer where one is expected, and inside the option's range. Errors name the
 * option, the text and the range.
 * @example parseNumber('1e-3', 'lr', { min: 0, minOpen: true, max: 1000 }) // 0.001
 */
export function parseNumber(text: string, flag: string, r: NumberRange): number {
  const expected = rangeText(r)
  if (!DECIMAL.test(text)) throw bad(flag, expected.replace(/^an? /, 'a decimal '), text)
  let v = Number(text)
  if (!Number.isFinite(v)) throw bad(flag, `${expected} (the value overflows)`, text)
  // NOTE: '1e-400' is 0 in float64; for a rate or a strength that would silently turn the option off.
  if (v === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) throw bad(flag, `${expected} (the value underflows to 0)`, text)
  if (r.integer) {
    if (!Number.isInteger(v)) throw bad(flag, expected, text)
    if (!Number.isSafeInteger(v)) throw bad(flag, `${expected} (not exactly representable: it is not a safe integer)`, text)
  }
  if (Object.is(v, -0)) v = 0
  const low = r.minOpen ? v <= r.min : v < r.min
  const high = r.maxOpen ? v >= r.max : v > r.max
  if (low || high) throw bad(flag, expected, text)
  return v
}

/**
 * The nearest name in `names` to a mistyped `given` (edit distance at most 2, or a third of its
 * length for long names), or null. Case and '-'/'_' are ignored first, so --batchsize finds batch-size.
 * @example nearest('epoch', ['epochs', 'lr']) // 'epochs'
 */
export function nearest(given: string, names: readonly string[]): string | null {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  const g = norm(given)
  if (g.length > 64) return null
  let best: string | null = null
  let bestD = Infinity
  for (const n of names) {
    const d = editDistance(g, norm(n))
    if (d < bestD) [best, bestD] = [n, d]
  }
  return bestD <= Math.max(2, Math.floor(g.length / 3)) && bestD < g.length ? best : null
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}
