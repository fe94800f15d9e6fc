// A small strict JSON parser for headers read from untrusted files (RFC 8259 grammar), written
// out because JSON.parse cannot be made safe for them:
// - depth is bounded (default 64): JSON.parse recurses on the input's nesting, so a few KB of '['
//   overflow the stack, and 40M levels grow the process by gigabytes before failing;
// - duplicate keys are an error naming the key and where it is (JSON.parse keeps the last one);
// - `enter` sees every value's path and kind before the value is read, so a caller that knows the
//   schema rejects a wrong type at its first byte instead of building 25M objects and then an error;
// - keys become own data properties: a key named "__proto__" is data, it never sets a prototype.
// Memory is the values kept (none for a SKIPped value) plus a path stack bounded by the depth.

/** The kind of a JSON value, as seen by the `enter` hook before the value is read. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null'

/** A parsed JSON value; object keys are own data properties ("__proto__" included). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Where a value sits: object keys and array indices from the root. */
export type JsonPath = (string | number)[]

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted (default 64). */
  maxDepth?: number
  /**
   * Called before each value is read, with its path (valid only during the call), its kind and
   * the offset of its first character; return a message to reject the value there, SKIP to check
   * its grammar and depth only (it reads as null; nothing inside it is built), or undefined.
   */
  enter?: (path: readonly (string | number)[], kind: JsonKind, offset: number) => string | typeof SKIP | undefined
}

/**
 * Returned by `enter` for a value the caller does not need (an unknown field): it is checked but
 * not built, so its size costs no memory.
 */
export const SKIP: unique symbol = Symbol('skip')

/** Why a text was refused: bad grammar, too deep, a repeated key, or refused by `enter`. */
export type StrictJsonReason = 'syntax' | 'depth' | 'duplicate' | 'rejected'

/**
 * Malformed or rejected JSON: `offset` is the character index in the text, `path` the place of the
 * value at fault (for a duplicate key, the path of the repeated key itself).
 */
export class StrictJsonError extends Error {
  constructor(
    /** What is wrong, without the location (the message adds offset and path). */
    readonly detail: string,
    readonly offset: number,
    readonly path: JsonPath,
    readonly reason: StrictJsonReason,
  ) {
    super(`${detail} at offset ${offset} (${formatPath(path)})`)
    this.name = 'StrictJsonError'
  }
}

/**
 * A short, safe description of a string for an error message: JSON-quoted and cut to `max`
 * characters, so a 50 MB key cannot make a 50 MB message.
 * @example preview('x'.repeat(100), 5) // '"xxxxx"… (100 characters)'
 */
export function preview(s: string, max = 60): string {
  return s.length <= max ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, max))}… (${s.length} characters)`
}

/**
 * A short description of any value for an error message that never calls the value's own methods
 * (a parsed `{"toString":1}` has no callable toString; a caller's object may have a hostile one):
 * strings previewed, other primitives printed, arrays by their first items, objects by their keys.
 * @example describeValue([1, 'a', {}]) // '[1,"a",{…}]'
 */
export function describeValue(v: unknown, max = 60): string {
  if (typeof v === 'string') return preview(v, max)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) return String(v)
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x: unknown) => (x !== null && typeof x === 'object' ? (Array.isArray(x) ? '[…]' : '{…}') : describeValue(x, 20)))
    return `[${items.join(',')}${v.length > 8 ? `,… (${v.length} items)` : ''}]`
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v)
    if (keys.length === 0) return 'an empty object'
    return `an object with keys ${keys.slice(0, 4).map((k) => preview(k, 20)).join(', ')}${keys.length > 4 ? `, … (${keys.length} keys)` : ''}`
  }
  return `a ${typeof v}`
}

/** `$`, then `["key"]` or `[3]` per step, keys previewed. */
export function formatPath(path: readonly (string | number)[]): string {
  const step = (p: string | number): string => `[${typeof p === 'number' ? p : preview(p, 40)}]`
  // A path 64 levels deep would make a long message: its two ends say where it is.
  if (path.length > 8) return `$${path.slice(0, 4).map(step).join('')}…${path.slice(-2).map(step).join('')} (${path.length} levels)`
  return '$' + path.map(step).join('')
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y // a run of string characters that need no decoding
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
const describeChar = (c: string | undefined): string => (c === undefined ? 'the end of the text' : JSON.stringify(c))

/**
 * Parse `text` as one JSON value with bounded depth, no duplicate keys, and an optional
 * per-value check. Throws StrictJsonError naming the offset and the path.
 * @example parseStrictJson('{"a":[1,2]}') // { a: [1, 2] }
 */
export function parseStrictJson(text: string, opts: StrictJsonOptions = {}): JsonValue {
  const maxDepth = opts.maxDepth ?? 64
  const path: JsonPath = []
  let at = 0

  const fail = (msg: string, reason: StrictJsonReason = 'syntax', offset = at): never => {
    throw new StrictJsonError(msg, offset, [...path], reason)
  }
  const skipSpace = (): void => {
    for (let c = text.charCodeAt(at); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++at));
  }
  const expect = (c: string): void => {
    if (text[at] !== c) fail(`expected ${JSON.stringify(c)}, found ${describeChar(text[at])}`)
    at++
  }

  // `keep` false: the value is checked (grammar, depth) but nothing is built, see SKIP.
  function readString(keep: boolean): string {
    expect('"')
    let out = ''
    for (;;) {
      PLAIN_CHARS.lastIndex = at
      PLAIN_CHARS.test(text)
      if (keep) out += text.slice(at, PLAIN_CHARS.lastIndex)
      at = PLAIN_CHARS.lastIndex
      const c = text[at]
      if (c === '"') {
        at++
        return out
      }
      if (c !== '\\') fail(c === undefined ? 'unterminated string' : `control character 0x${c.charCodeAt(0).toString(16)} in a string`)
      const e = text[at + 1]
      if (e === 'u') {
        const hex = text.slice(at + 2, at + 6)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail(`bad \\u escape ${preview(hex)}`)
        if (keep) out += String.fromCharCode(parseInt(hex, 16))
        at += 6
      } else {
        const decoded = e === undefined ? undefined : ESCAPES[e]
        if (decoded === undefined) fail(`bad escape \\${e ?? ''}`)
        if (keep) out += decoded
        at += 2
      }
    }
  }

  function kindAt(): JsonKind {
    const c = text[at]
    if (c === '{') return 'object'
    if (c === '[') return 'array'
    if (c === '"') return 'string'
    if (c === 't' || c === 'f') return 'boolean'
    if (c === 'n') return 'null'
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return 'number'
    return fail(`expected a value, found ${describeChar(c)}`)
  }

  // NOTE: recursion depth is bounded by maxDepth, checked before each nested container is entered.
  function readValue(depth: number, keep: boolean): JsonValue {
    skipSpace()
    const kind = kindAt()
    if (keep) {
      const verdict = opts.enter?.(path, kind, at)
      if (verdict === SKIP) keep = false
      else if (verdict !== undefined) fail(verdict, 'rejected')
    }
    if ((kind === 'object' || kind === 'array') && depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`, 'depth')
    if (kind === 'object') return readObject(depth + 1, keep)
    if (kind === 'array') return readArray(depth + 1, keep)
    if (kind === 'string') {
      const s = readString(keep)
      return keep ? s : null
    }
    if (kind === 'number') {
      NUMBER.lastIndex = at
      if (!NUMBER.test(text)) fail('malformed number')
      const value = keep ? Number(text.slice(at, NUMBER.lastIndex)) : null
      at = NUMBER.lastIndex
      return value
    }
    const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, at))
    if (word === undefined) return fail(`unknown literal starting with ${describeChar(text[at])}`)
    at += word.length
    return word === 'null' || !keep ? null : word === 'true'
  }

  function readObject(depth: number, keep: boolean): { [key: string]: JsonValue } | null {
    const obj: { [key: string]: JsonValue } | null = keep ? {} : null
    expect('{')
    skipSpace()
    if (text[at] === '}') {
      at++
      return obj
    }
    for (;;) {
      skipSpace()
      const keyAt = at
      const key = readString(keep)
      path.push(key)
      // Inside a skipped value nothing is kept, so repeated keys there go unnoticed, as with
      // serde's IgnoredAny: the caller said it does not read that value.
      if (obj !== null && Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key ${preview(key)}`, 'duplicate', keyAt)
      skipSpace()
      expect(':')
      const value = readValue(depth, keep)
      // NOTE: own data properties only: "__proto__" is defined, never assigned (assigning it would
      // set the prototype). Plain objects, not prototype-less ones: V8 keeps those as hash tables,
      // twice the memory for a small tensor entry.
      if (obj !== null && key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
      else if (obj !== null) obj[key] = value
      path.pop()
      skipSpace()
      if (text[at] === '}') {
        at++
        return obj
      }
      expect(',')
    }
  }

  // Items are collected on one shared stack and copied out at the ']': an array grown by push
  // keeps room for 17 items, 8x the memory of a 2-item shape or data_offsets.
  const items: JsonValue[] = []
  function readArray(depth: number, keep: boolean): JsonValue[] | null {
    const base = items.length
    expect('[')
    skipSpace()
    if (text[at] !== ']') {
      for (let i = 0; ; i++) {
        path.push(i)
        const value = readValue(depth, keep)
        if (keep) items.push(value)
        path.pop()
        skipSpace()
        if (text[at] === ']') break
        expect(',')
      }
    }
    at++
    if (!keep) return null
    const arr = items.slice(base)
    items.length = base
    return arr
  }

  const value = readValue(0, true)
  skipSpace()
  if (at < text.length) fail(`unexpected ${describeChar(text[at])} after the JSON value`)
  return value
}
