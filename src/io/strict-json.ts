// A small strict JSON parser for headers read from untrusted files (RFC 8259 grammar), written
// out because JSON.parse cannot be made safe for them:
// - depth is bounded (default 64): JSON.parse recurses on the input's nesting, so a few KB of '['
//   overflow the stack, and 40M levels grow the process by gigabytes before failing;
// - duplicate keys are an error naming the key and where it is (JSON.parse keeps the last one);
// - `enter` sees every value's path and kind before the value is read, so a caller that knows the
//   schema rejects a wrong type at its first byte instead of building 25M objects and then an error;
// - objects have no prototype, so a key named "__proto__" or "toString" is plain data.
// Memory is the values themselves plus a path stack bounded by the depth.

/** The kind of a JSON value, as seen by the `enter` hook before the value is read. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null'

/** A parsed JSON value; objects are prototype-less records. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Where a value sits: object keys and array indices from the root. */
export type JsonPath = (string | number)[]

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Deepest nesting of arrays and objects accepted (default 64). */
  maxDepth?: number
  /**
   * Called before each value is read, with its path (valid only during the call), its kind and
   * the offset of its first character; return a message to reject the value there, or undefined.
   */
  enter?: (path: readonly (string | number)[], kind: JsonKind, offset: number) => string | undefined
}

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
  return '$' + path.map((p) => `[${typeof p === 'number' ? p : preview(p, 40)}]`).join('')
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y // a run of string characters that need no decoding
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
const describeChar = (c: string | undefined): string => (c === undefined ? 'the end of the text' : JSON.stringify(c))

/**
 * Parse `text` as one JSON value with bounded depth, no duplicate keys, and an optional
 * per-value check. Throws StrictJsonError naming the offset and the path.
 * @example parseStrictJson('{"a":[1,2]}') // { a: [1, 2] } (with a null prototype)
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

  function readString(): string {
    expect('"')
    let out = ''
    for (;;) {
      PLAIN_CHARS.lastIndex = at
      PLAIN_CHARS.test(text)
      out += text.slice(at, PLAIN_CHARS.lastIndex)
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
        out += String.fromCharCode(parseInt(hex, 16))
        at += 6
      } else {
        const decoded = e === undefined ? undefined : ESCAPES[e]
        if (decoded === undefined) fail(`bad escape \\${e ?? ''}`)
        out += decoded
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
  function readValue(depth: number): JsonValue {
    skipSpace()
    const kind = kindAt()
    const rejected = opts.enter?.(path, kind, at)
    if (rejected !== undefined) fail(rejected, 'rejected')
    if ((kind === 'object' || kind === 'array') && depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`, 'depth')
    let value: JsonValue
    if (kind === 'object') value = readObject(depth + 1)
    else if (kind === 'array') value = readArray(depth + 1)
    else if (kind === 'string') value = readString()
    else if (kind === 'number') {
      NUMBER.lastIndex = at
      if (!NUMBER.test(text)) fail('malformed number')
      value = Number(text.slice(at, NUMBER.lastIndex))
      at = NUMBER.lastIndex
    } else {
      const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, at))
      if (word === undefined) fail(`unknown literal starting with ${describeChar(text[at])}`)
      at += word!.length
      value = word === 'null' ? null : word === 'true'
    }
    return value
  }

  function readObject(depth: number): { [key: string]: JsonValue } {
    const obj: { [key: string]: JsonValue } = Object.create(null)
    expect('{')
    skipSpace()
    if (text[at] === '}') {
      at++
      return obj
    }
    for (;;) {
      skipSpace()
      const keyAt = at
      const key = readString()
      path.push(key)
      if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key ${preview(key)}`, 'duplicate', keyAt)
      skipSpace()
      expect(':')
      obj[key] = readValue(depth)
      path.pop()
      skipSpace()
      if (text[at] === '}') {
        at++
        return obj
      }
      expect(',')
    }
  }

  function readArray(depth: number): JsonValue[] {
    const arr: JsonValue[] = []
    expect('[')
    skipSpace()
    if (text[at] === ']') {
      at++
      return arr
    }
    for (;;) {
      path.push(arr.length)
      arr.push(readValue(depth))
      path.pop()
      skipSpace()
      if (text[at] === ']') {
        at++
        return arr
      }
      expect(',')
    }
  }

  const value = readValue(0)
  skipSpace()
  if (at < text.length) fail(`unexpected ${describeChar(text[at])} after the JSON value`)
  return value
}
