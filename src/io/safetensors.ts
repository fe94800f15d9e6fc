// The safetensors format (huggingface/safetensors), on plain typed arrays:
//   bytes [0, 8)        N, the header length, a little-endian u64
//   bytes [8, 8+N)      UTF-8 JSON object {"__metadata__": {str: str}, name: {dtype, shape,
//                       data_offsets: [begin, end]}}, starting with '{', padded with spaces
//   bytes [8+N, end)    the body: each tensor's little-endian, row-major bytes at [begin, end)
//                       relative to the body start; tensors cover the body with no holes.
// Reading treats the file as hostile: every length and offset is checked before use, the header is
// only ever JSON.parse'd, and errors name the source, the tensor and the byte offsets involved.
import fs from 'node:fs'
import { writeFileAtomic } from './atomic.js'
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

const fmt = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.join(',')}]` : String(v)
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
  assertLittleEndianHost('decodeSafetensors')
  const fail = (msg: string, key?: string): never => {
    const where = key === undefined ? '' : key === METADATA_KEY ? `${METADATA_KEY}: ` : `tensor "${key}": `
    throw new SafetensorsError(`decodeSafetensors(${source}): ${where}${msg}`, source, key)
  }
  const maxHeader = opts.maxHeaderBytes ?? MAX_HEADER_BYTES
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, found ${Object.prototype.toString.call(bytes)}`)
  const size = bytes.byteLength
  if (size < 8) fail(`file is ${size} bytes, too short for the 8-byte header length at offset 0`)

  const view = new DataView(bytes.buffer, bytes.byteOffset, size)
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32
  if (n > maxHeader) fail(`header length ${n} (bytes 0-7) exceeds the limit of ${maxHeader} bytes`)
  if (8 + n > size) {
    fail(`header length ${n} (bytes 0-7) runs past the end of the file: header would end at byte offset ${8 + n} but the file has ${size} bytes`)
  }
  if (n === 0 || bytes[8] !== 0x7b) {
    const found = n === 0 ? 'an empty header' : `byte 0x${bytes[8].toString(16).padStart(2, '0')}`
    fail(`header must be a JSON object starting with '{' at byte offset 8, found ${found}`)
  }
  let text = ''
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n))
  } catch {
    fail(`header (byte offsets 8 to ${8 + n}) is not valid UTF-8`)
  }
  let header: unknown
  try {
    header = JSON.parse(text)
  } catch (err) {
    fail(`header (byte offsets 8 to ${8 + n}) is not valid JSON: ${(err as Error).message}`)
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, found ${fmt(header)}`)
  const head = header as Record<string, unknown>

  const metadata: Record<string, string> = {}
  const bodyStart = 8 + n
  const bodyLength = size - bodyStart
  const entries: HeaderEntry[] = []
  for (const key of Object.keys(head)) {
    const value = head[key]
    if (key === METADATA_KEY) {
      if (!isPlainObject(value)) fail(`must be an object of strings, found ${fmt(value)}`, METADATA_KEY)
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`value of "${k}" must be a string, found ${typeof v} ${fmt(v)}`, METADATA_KEY)
        setOwn(metadata, k, v as string)
      }
      continue
    }
    if (!isPlainObject(value)) fail(`entry must be an object with dtype, shape and data_offsets, found ${fmt(value)}`, key)
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
    if (!isKnownDType(dtype)) {
      fail(`unknown or unsupported dtype ${fmt(dtype)} (supported: ${Object.keys(DTYPE_INFO).join(', ')})`, key)
    }
    const d = dtype as SafetensorsDType
    if (!Array.isArray(shape) || !shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      fail(`shape must be a list of non-negative integers, found ${fmt(shape)}`, key)
    }
    const isOffset = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isOffset) || offsets[0] > offsets[1]) {
      fail(`data_offsets must be [begin, end] with 0 <= begin <= end, found ${fmt(offsets)}`, key)
    }
    const [begin, end] = offsets as number[]
    const dims = shape as number[]
    const numel = product(dims)
    const expected = numel * DTYPE_INFO[d].size
    if (!Number.isSafeInteger(expected)) fail(`shape [${dims.join(',')}] is too large (byte count overflows)`, key)
    if (expected !== end - begin) {
      fail(`dtype ${d} shape [${dims.join(',')}] needs ${expected} bytes but data_offsets [${begin},${end}] hold ${end - begin} bytes`, key)
    }
    if (end > bodyLength) {
      fail(`data_offsets [${begin},${end}] reach file byte offset ${bodyStart + end} but the file ends at byte offset ${size} (the body has ${bodyLength} bytes): offsets outside the body or truncated file`, key)
    }
    entries.push({ key, dtype: d, shape: [...dims], begin, end })
  }

  // The entries must tile the body exactly: sorted by offset, each starts where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let covered = 0
  let prev: HeaderEntry | undefined
  for (const e of entries) {
    if (e.begin < covered) {
      fail(`data_offsets [${e.begin},${e.end}] overlap tensor "${prev!.key}" at [${prev!.begin},${prev!.end}]`, e.key)
    }
    if (e.begin > covered) {
      fail(`hole in the body: bytes [${covered},${e.begin}) (file byte offsets ${bodyStart + covered} to ${bodyStart + e.begin}) belong to no tensor`, e.key)
    }
    covered = e.end
    prev = e
  }
  if (covered !== bodyLength) {
    fail(`${bodyLength - covered} trailing bytes after the last tensor: tensors end at file byte offset ${bodyStart + covered} but the file has ${size} bytes`)
  }

  const i64 = opts.i64 ?? 'int32'
  const tensors: Record<string, DecodedEntry> = {}
  for (const e of entries) {
    // Copy into a fresh buffer: the source may be a Buffer at any byteOffset, and typed-array
    // views need offsets aligned to the item size.
    const raw = new Uint8Array(e.end - e.begin)
    raw.set(bytes.subarray(bodyStart + e.begin, bodyStart + e.end))
    let data: DecodedData
    try {
      data = bytesToArray(raw, e.dtype, i64)
    } catch (err) {
      return fail((err as Error).message, e.key)
    }
    setOwn(tensors, e.key, { dtype: e.dtype, shape: e.shape, data })
  }
  return { tensors, metadata }
}

/**
 * Atomically write tensors to a .safetensors file (temp file + fsync + rename).
 * @example saveSafetensors('ckpt/model.safetensors', { w: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } })
 */
export function saveSafetensors(path: string, tensors: Record<string, TensorEntry>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata))
}

/**
 * Read and validate a .safetensors file; errors name `path`.
 * @example const { tensors } = loadSafetensors('ckpt/model.safetensors')
 */
export function loadSafetensors(path: string, opts: DecodeOptions = {}): ReturnType<typeof decodeSafetensors> {
  const file = fs.readFileSync(path)
  return decodeSafetensors(new Uint8Array(file.buffer, file.byteOffset, file.byteLength), path, opts)
}
