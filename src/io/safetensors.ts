// The safetensors format (huggingface/safetensors), on plain typed arrays:
//   bytes [0, 8)        N, the header length, a little-endian u64
//   bytes [8, 8+N)      UTF-8 JSON object {"__metadata__": {str: str}, name: {dtype, shape,
//                       data_offsets: [begin, end]}}, starting with '{', padded with spaces
//   bytes [8+N, end)    the body: each tensor's little-endian, row-major bytes at [begin, end)
//                       relative to the body start; tensors cover the body with no holes.
// Reading treats the file as hostile: every length and offset is checked before use, the header is
// parsed by a bounded-depth parser that rejects duplicate keys, a file is read header first and then
// tensor by tensor at their offsets, and errors name the source, the tensor and the byte offsets.
import fs from 'node:fs'
import { writeFileAtomic } from './atomic.js'
import { SKIP, StrictJsonError, describeValue, parseStrictJson, preview, type JsonKind } from './strict-json.js'
import {
  DTYPE_INFO,
  arrayToBytes,
  assertLittleEndianHost,
  bytesToArray,
  isKnownDType,
  type DecodedData,
  type I64Mode,
  type SafetensorsDType,
  type TensorData,
} from './safetensors-dtype.js'

export type { DecodedData, SafetensorsDType, TensorData } from './safetensors-dtype.js'

/** One tensor to write: `data` is row-major and has `product(shape)` elements. */
export interface TensorEntry {
  dtype: SafetensorsDType
  shape: number[]
  data: TensorData
}

/**
 * One tensor read back. `dtype` is the dtype stored in the file; `data` is a fresh, aligned copy:
 * F16 and BF16 are widened to Float32Array (exactly), I64 becomes Int32Array (or BigInt64Array with
 * `{ i64: 'bigint' }`), BOOL and U8 are Uint8Array, I8/I16/I32/F32/F64 their own typed arrays.
 */
export interface DecodedEntry {
  dtype: SafetensorsDType
  shape: number[]
  data: DecodedData
}

/** Options of the safetensors readers. */
export interface DecodeOptions {
  /** Largest header accepted, in bytes (default 100,000,000, the reference library's bound). */
  maxHeaderBytes?: number
  /** 'int32' (default): I64 tensors become Int32Array, and a value outside int32 is an error. */
  i64?: I64Mode
  /** Decode only these tensors (the whole header is still checked); a name not in the file is an error. */
  names?: string[]
}

/**
 * A malformed file or argument; `source` is the file path (or '<buffer>'), `key` the tensor.
 * @example if (e instanceof SafetensorsError) console.error(e.source, e.key)
 */
export class SafetensorsError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly key?: string,
  ) {
    super(message)
    this.name = 'SafetensorsError'
  }
}

/**
 * The default header size limit (bytes), as the reference safetensors library: a corrupt length cannot make us allocate gigabytes.
 * @example decodeSafetensors(bytes, { maxHeaderBytes: MAX_HEADER_BYTES / 10 })
 */
export const MAX_HEADER_BYTES = 100_000_000
const METADATA_KEY = '__metadata__'

// NOTE: values in messages come from the file or the caller: describe them without calling their
// methods (a header value {"toString":1} made String(v) throw) and cut long ones short.
const fmt = (v: unknown): string => describeValue(v)
const quoted = (key: string): string => preview(key, 80)
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
// Own data properties, so a tensor named "__proto__" cannot touch a prototype.
const setOwn = <T>(o: Record<string, T>, k: string, v: T): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}
const utf8 = new TextEncoder()
// Rust's String ordering (UTF-8 bytes), so names sort as the reference writer sorts them.
const compareUtf8 = (a: string, b: string): number => {
  const x = utf8.encode(a)
  const y = utf8.encode(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i]
  return x.length - y.length
}

function product(shape: number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * Serialize tensors (and optional string metadata) to safetensors bytes. The layout is
 * deterministic: tensors ordered by descending dtype alignment, then by name, as the reference
 * writer does; metadata keys sorted; the header padded with spaces to a multiple of 8 bytes.
 * Writable dtypes: F32, F64, I32, I64 (from BigInt64Array or Int32Array), U8, BOOL.
 * @example const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } })
 */
export function encodeSafetensors(tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): Uint8Array {
  assertLittleEndianHost('encodeSafetensors')
  const fail = (msg: string, key?: string): never => {
    throw new SafetensorsError(`encodeSafetensors: ${msg}`, '<buffer>', key)
  }
  if (!isPlainObject(tensors)) fail(`tensors must be an object of name -> entry, found ${fmt(tensors)}`)
  const prepared = Object.keys(tensors).map((name) => {
    if (name === '') fail('tensor name must not be empty', name)
    if (name === METADATA_KEY) fail(`tensor name "${METADATA_KEY}" is reserved for metadata`, name)
    if (!isPlainObject(tensors[name])) fail(`tensor "${name}": entry must be { dtype, shape, data }, found ${fmt(tensors[name])}`, name)
    const { dtype, shape, data } = tensors[name]
    if (!isKnownDType(dtype)) fail(`tensor "${name}": unknown dtype ${fmt(dtype)}`, name)
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${name}": shape must be a list of non-negative integers, found ${fmt(shape)}`, name)
    }
    const bytes = arrayToBytes(data, dtype)
    if (typeof bytes === 'string') return fail(`tensor "${name}": ${bytes}`, name)
    if (data.length !== product(shape)) {
      fail(`tensor "${name}": shape [${shape.join(',')}] has ${product(shape)} elements but data has ${data.length}`, name)
    }
    return { name, dtype, shape: [...shape], bytes }
  })
  prepared.sort((a, b) => DTYPE_INFO[b.dtype].rank - DTYPE_INFO[a.dtype].rank || compareUtf8(a.name, b.name))

  // Build the JSON text by hand: JSON.stringify of an object would move integer-like names first.
  const parts: string[] = []
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail(`metadata must be an object of strings, found ${fmt(metadata)}`)
    const keys = Object.keys(metadata).sort(compareUtf8)
    for (const k of keys) {
      const v: unknown = metadata[k]
      if (typeof v !== 'string') fail(`metadata "${k}": value must be a string, found ${typeof v} ${fmt(v)}`, METADATA_KEY)
    }
    const pairs = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`)
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`)
  }
  let offset = 0
  for (const t of prepared) {
    const end = offset + t.bytes.byteLength
    const info = `{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`
    parts.push(`${JSON.stringify(t.name)}:${info}`)
    offset = end
  }
  const json = utf8.encode(`{${parts.join(',')}}`)
  // NOTE: padding the header to 8 bytes makes the body start 8-aligned, so with the descending
  // alignment order every tensor is aligned in the file for zero-copy readers.
  const headerLength = Math.ceil(json.byteLength / 8) * 8

  const out = new Uint8Array(8 + headerLength + offset)
  const view = new DataView(out.buffer)
  view.setUint32(0, headerLength % 2 ** 32, true)
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength)
  let at = 8 + headerLength
  for (const t of prepared) {
    out.set(t.bytes, at)
    at += t.bytes.byteLength
  }
  return out
}

interface HeaderEntry {
  key: string
  dtype: SafetensorsDType
  shape: number[]
  begin: number
  end: number
}

/** The checked header: where the body starts, the entries in body order, and the metadata. */
interface Header {
  bodyStart: number
  entries: HeaderEntry[]
  metadata: Record<string, string>
}

type Fail = (msg: string, key?: string) => never

const U64_MAX = 2n ** 64n - 1n

/** The header length N from bytes 0-7, checked against the limit and the file size. */
function readHeaderLength(first8: Uint8Array, size: number, maxHeader: number, fail: Fail): number {
  if (size < 8) fail(`file is ${size} bytes, too short for the 8-byte header length at offset 0`)
  const view = new DataView(first8.buffer, first8.byteOffset, 8)
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32
  if (n > maxHeader) fail(`header length ${n} (bytes 0-7) exceeds the limit of ${maxHeader} bytes`)
  if (8 + n > size) {
    fail(`header length ${n} (bytes 0-7) runs past the end of the file: header would end at byte offset ${8 + n} but the file has ${size} bytes`)
  }
  return n
}

// The schema, checked while parsing (see strict-json's `enter`): a container where the format has
// a string or a number is refused at its first byte, so a 75 MB __metadata__ of 25M empty objects
// costs nothing. Primitives of the wrong type pass here and get a message with their value below.
// NOTE: sizes and offsets are u64 in the format: written as plain digits, as the reference reader
// (serde's u64) requires; JSON's 1e2, 100.0 and -0 would otherwise read as integers.
const U64_DIGITS = /(?:0|[1-9][0-9]*)(?![0-9.eE])/y
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
// Fields of an entry other than these three are read as the format's readers do (ignored), and
// are not even built (SKIP): a 30 MB unknown field of [0] items no longer costs 1.7 GB.
const ENTRY_FIELDS = new Set(['dtype', 'shape', 'data_offsets'])
// NOTE: numpy's limit; without one, a 30 MB shape of zeros took 0.5 GB and 5 s to check.
const MAX_DIMS = 64
/** The text of the JSON number starting at `offset` ('' when there is none). */
function numberAt(text: string, offset: number): string {
  JSON_NUMBER.lastIndex = offset
  return JSON_NUMBER.test(text) ? text.slice(offset, JSON_NUMBER.lastIndex) : ''
}

function headerSchema(text: string, path: readonly (string | number)[], kind: JsonKind, offset: number): string | typeof SKIP | undefined {
  const container = kind === 'object' || kind === 'array'
  const found = container ? `an ${kind}` : `a ${kind}`
  const [key, field, index] = path
  if (path.length === 0) return undefined
  if (path.length === 1) {
    if (key === METADATA_KEY) return kind === 'object' ? undefined : `must be an object of strings, found ${found}`
    return kind === 'array' ? `entry must be an object with dtype, shape and data_offsets, found ${found}` : undefined
  }
  if (key === METADATA_KEY) {
    // A metadata value: all are checked here, so the object needs no second pass after parsing.
    if (kind === 'string') return undefined
    const written = kind === 'number' ? `number ${numberAt(text, offset).slice(0, 24)}` : kind === 'boolean' ? `boolean ${text.startsWith('true', offset)}` : kind === 'null' ? 'null' : found
    return `value of ${quoted(String(field))} must be a string, found ${written}`
  }
  if (path.length === 2) {
    if (!ENTRY_FIELDS.has(field as string)) return SKIP
    return field === 'dtype' && container ? `dtype must be a string, found ${found}` : undefined
  }
  // An item of shape or data_offsets (deeper values never get here: their containers are refused).
  if (field === 'shape' && (index as number) >= MAX_DIMS) return `shape has more than ${MAX_DIMS} dimensions`
  if (field === 'data_offsets' && (index as number) >= 2) return 'data_offsets must be [begin, end], found a third item'
  if (container) return `${field} must be a list of non-negative integers, found ${found} at index ${index}`
  U64_DIGITS.lastIndex = offset
  if (kind === 'number' && !U64_DIGITS.test(text)) {
    // Only what would pass as an integer below needs this message; -1 or 1.5 get the one there.
    const written = numberAt(text, offset)
    const v = Number(written)
    if (Number.isSafeInteger(v) && v >= 0) return `${field} must be a list of non-negative integers in plain digits, found ${preview(written)} at index ${index}`
  }
  return undefined
}

/** Parse and check the header text against a body of `bodyLength` bytes starting at `bodyStart`. */
function checkHeader(headerBytes: Uint8Array, bodyStart: number, bodyLength: number, fail: Fail): Header {
  const n = headerBytes.byteLength
  if (n === 0 || headerBytes[0] !== 0x7b) {
    const found = n === 0 ? 'an empty header' : `byte 0x${headerBytes[0].toString(16).padStart(2, '0')}`
    fail(`header must be a JSON object starting with '{' at byte offset 8, found ${found}`)
  }
  let text = ''
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes)
  } catch {
    fail(`header (byte offsets 8 to ${8 + n}) is not valid UTF-8`)
  }
  let head: Record<string, unknown> = {}
  try {
    head = parseStrictJson(text, { enter: (path, kind, offset) => headerSchema(text, path, kind, offset) }) as Record<string, unknown>
  } catch (err) {
    if (!(err instanceof StrictJsonError)) throw err
    const key = typeof err.path[0] === 'string' ? err.path[0] : undefined
    const at = `at file byte offset ${8 + Buffer.byteLength(text.slice(0, err.offset), 'utf8')}`
    if (err.reason === 'rejected') fail(`${err.detail}, ${at}`, key)
    // NOTE: the format forbids duplicate keys; JSON.parse kept the last one, so a file could say
    // two things and readers would disagree on which one it meant.
    if (err.reason === 'duplicate') fail(`${err.detail} ${at}: the format forbids duplicate keys`, key)
    fail(`header (byte offsets 8 to ${8 + n}) is not valid JSON: ${err.message}`, key)
  }

  let metadata: Record<string, string> = {}
  const entries: HeaderEntry[] = []
  for (const key of Object.keys(head)) {
    const value = head[key]
    if (key === METADATA_KEY) {
      // An object of strings: the schema refused anything else while parsing.
      metadata = value as Record<string, string>
      continue
    }
    entries.push(checkEntry(key, value, bodyStart, bodyLength, fail))
  }

  // The entries must tile the body exactly: sorted by offset, each starts where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let covered = 0
  let prev: HeaderEntry | undefined
  for (const e of entries) {
    if (e.begin < covered) {
      fail(`data_offsets [${e.begin},${e.end}] overlap tensor ${quoted(prev!.key)} at [${prev!.begin},${prev!.end}]`, e.key)
    }
    if (e.begin > covered) {
      fail(`hole in the body: bytes [${covered},${e.begin}) (file byte offsets ${bodyStart + covered} to ${bodyStart + e.begin}) belong to no tensor`, e.key)
    }
    covered = e.end
    prev = e
  }
  if (covered !== bodyLength) {
    fail(`${bodyLength - covered} trailing bytes after the last tensor: tensors end at file byte offset ${bodyStart + covered} but the file has ${bodyStart + bodyLength} bytes`)
  }
  return { bodyStart, entries, metadata }
}

/** One tensor's entry: known dtype, a shape whose byte count fits u64 and matches its data_offsets inside the body. */
function checkEntry(key: string, value: unknown, bodyStart: number, bodyLength: number, fail: Fail): HeaderEntry {
  if (!isPlainObject(value)) fail(`entry must be an object with dtype, shape and data_offsets, found ${fmt(value)}`, key)
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
  if (!isKnownDType(dtype)) {
    fail(`unknown or unsupported dtype ${fmt(dtype)} (supported: ${Object.keys(DTYPE_INFO).join(', ')})`, key)
  }
  const d = dtype as SafetensorsDType
  if (!Array.isArray(shape) || !shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    fail(`shape must be a list of non-negative integers, found ${fmt(shape)} (each at most 2^53 - 1)`, key)
  }
  const isOffset = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isOffset) || offsets[0] > offsets[1]) {
    fail(`data_offsets must be [begin, end] with 0 <= begin <= end, found ${fmt(offsets)} (integers at most 2^53 - 1)`, key)
  }
  const [begin, end] = offsets as number[]
  const dims = shape as number[]
  // NOTE: u64 arithmetic in BigInt, checked after every factor as the reference reader's
  // checked_mul is: [2^52, 2^52, 0] overflows at the second dimension, although its product is 0.
  let numel = 1n
  for (let i = 0; i < dims.length; i++) {
    numel *= BigInt(dims[i])
    if (numel > U64_MAX) fail(`shape ${fmt(dims)} is too large: the product of dimensions 0..${i} overflows 64 bits`, key)
  }
  const expected = numel * BigInt(DTYPE_INFO[d].size)
  if (expected > U64_MAX) fail(`shape ${fmt(dims)} is too large: its byte count ${expected} (dtype ${d}) overflows 64 bits`, key)
  if (expected !== BigInt(end - begin)) {
    fail(`dtype ${d} shape ${fmt(dims)} needs ${expected} bytes but data_offsets [${begin},${end}] hold ${end - begin} bytes`, key)
  }
  if (end > bodyLength) {
    fail(`data_offsets [${begin},${end}] reach file byte offset ${bodyStart + end} but the file ends at byte offset ${bodyStart + bodyLength} (the body has ${bodyLength} bytes): offsets outside the body or truncated file`, key)
  }
  return { key, dtype: d, shape: dims, begin, end } // dims is the parser's own fresh array
}

/**
 * The one reader behind decodeSafetensors and loadSafetensors: `read(offset, length)` returns a
 * fresh, offset-0 copy of those bytes of the file (from memory or from disk), so the header is
 * checked before any tensor is read and only the tensors asked for are read.
 */
function readSafetensors(
  size: number,
  read: (offset: number, length: number) => Uint8Array,
  opts: DecodeOptions,
  fail: Fail,
): { tensors: Record<string, DecodedEntry>; metadata: Record<string, string> } {
  assertLittleEndianHost('readSafetensors')
  const maxHeader = opts.maxHeaderBytes ?? MAX_HEADER_BYTES
  const n = readHeaderLength(read(0, Math.min(size, 8)), size, maxHeader, fail)
  const { bodyStart, entries, metadata } = checkHeader(read(8, n), 8 + n, size - 8 - n, fail)

  let wanted = entries
  if (opts.names !== undefined) {
    const byKey = new Map(entries.map((e) => [e.key, e]))
    wanted = opts.names.map((k) => byKey.get(k) ?? fail(`no tensor named ${quoted(String(k))} (the file has ${entries.length} tensors)`, k))
  }
  const i64 = opts.i64 ?? 'int32'
  const tensors: Record<string, DecodedEntry> = {}
  for (const e of wanted) {
    let data: DecodedData
    try {
      data = bytesToArray(read(bodyStart + e.begin, e.end - e.begin), e.dtype, i64)
    } catch (err) {
      if (err instanceof SafetensorsError) throw err
      return fail((err as Error).message, e.key)
    }
    setOwn(tensors, e.key, { dtype: e.dtype, shape: e.shape, data })
  }
  return { tensors, metadata }
}

/** The `fail` of one reader call: the function and source first, then the tensor or metadata. */
function failIn(fn: string, source: string): Fail {
  return (msg, key) => {
    const where = key === undefined ? '' : key === METADATA_KEY ? `${METADATA_KEY}: ` : `tensor ${quoted(key)}: `
    throw new SafetensorsError(`${fn}(${source}): ${where}${msg}`, source, key)
  }
}

/**
 * Parse safetensors bytes. `source` (a file path) is named in every error. See `DecodedEntry` for
 * the array type each dtype becomes; returned arrays never alias `bytes`.
 * @example const { tensors, metadata } = decodeSafetensors(fs.readFileSync('model.safetensors'), 'model.safetensors')
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = '<buffer>',
  opts: DecodeOptions = {},
): { tensors: Record<string, DecodedEntry>; metadata: Record<string, string> } {
  const fail = failIn('decodeSafetensors', source)
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, found ${Object.prototype.toString.call(bytes)}`)
  // Copy into a fresh buffer: the source may be a Buffer at any byteOffset, and typed-array
  // views need offsets aligned to the item size.
  const read = (offset: number, length: number): Uint8Array => {
    const out = allocate(length, fail)
    out.set(bytes.subarray(offset, offset + length))
    return out
  }
  return readSafetensors(bytes.byteLength, read, opts, fail)
}

/**
 * Atomically write tensors to a .safetensors file (temp file + fsync + rename).
 * @example saveSafetensors('ckpt/model.safetensors', { w: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } })
 */
export function saveSafetensors(path: string, tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata))
}

/** A zeroed buffer of `length` bytes, or a named error when the engine cannot allocate one. */
function allocate(length: number, fail: Fail): Uint8Array {
  try {
    return new Uint8Array(length)
  } catch (err) {
    return fail(`cannot allocate ${length} bytes for a tensor: ${(err as Error).message}`)
  }
}

/**
 * Read and validate a .safetensors file; errors name `path`. The header is read and checked
 * first, then each tensor at its offset: a file costs the memory of its tensors, not its size,
 * and files over 2 GiB load when their tensors fit (see `DecodeOptions.names` to read a few).
 * @example const { tensors } = loadSafetensors('ckpt/model.safetensors')
 */
export function loadSafetensors(path: string, opts: DecodeOptions = {}): ReturnType<typeof decodeSafetensors> {
  const fail = failIn('loadSafetensors', path)
  let fd: number
  try {
    // NOTE: only regular files: opening a FIFO blocks until a writer comes, /dev/zero never ends.
    const kind = fs.statSync(path)
    if (kind.isDirectory()) return fail('is a directory, not a safetensors file')
    if (!kind.isFile()) return fail('is not a regular file (a device, FIFO or socket?)')
    fd = fs.openSync(path, 'r')
  } catch (err) {
    if (err instanceof SafetensorsError) throw err
    const e = err as NodeJS.ErrnoException
    return fail(e.code === 'EISDIR' ? 'is a directory, not a safetensors file' : `cannot open the file: ${e.message}`)
  }
  try {
    const stat = fs.fstatSync(fd)
    if (!stat.isFile()) fail('is not a regular file')
    const read = (offset: number, length: number): Uint8Array => {
      const out = allocate(length, fail)
      for (let done = 0; done < length; ) {
        let got = 0
        try {
          // At most 1 GiB per call: one read of 2 GiB or more is out of range for Node.
          got = fs.readSync(fd, out, done, Math.min(length - done, 2 ** 30), offset + done)
        } catch (err) {
          fail(`cannot read bytes ${offset + done} to ${offset + length}: ${(err as Error).message}`)
        }
        if (got === 0) fail(`the file ended at byte offset ${offset + done} while reading bytes ${offset} to ${offset + length} (was it truncated while being read?)`)
        done += got
      }
      return out
    }
    return readSafetensors(stat.size, read, opts, fail)
  } finally {
    fs.closeSync(fd)
  }
}
