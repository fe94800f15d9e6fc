// Fuzz target: the safetensors reader (decodeSafetensors, and loadSafetensors on one case in 8).
// Seeds come from encodeSafetensors; mutations are byte-level (flips, truncation, extension,
// insertion, the length prefix) or header rewrites done on the JSON text (nesting, duplicates,
// wrong types, huge numbers, toString keys), each marked malformed only when it surely is.
import fs from 'node:fs'
import path from 'node:path'
import { DTYPE_INFO } from '../../src/io/safetensors-dtype.js'
import { SafetensorsError, decodeSafetensors, encodeSafetensors, loadSafetensors } from '../../src/io/safetensors.js'
import type { Generator } from '../../src/tensor/generator.js'
import type { FuzzCase, FuzzTarget } from '../target.js'

interface Entry {
  dtype: string
  shape: number[]
  data_offsets: [number, number]
}
interface Seed {
  name: string
  bytes: Uint8Array
  n: number
  /** The header's tensors in text order, and its metadata (null when absent). */
  entries: [string, Entry][]
  metadata: Record<string, string> | null
}

let seeds: Seed[] = []

function seedOf(name: string, bytes: Uint8Array): Seed {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))
  // JSON.parse is fine here: these are our own writer's headers.
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>
  const { __metadata__: metadata, ...rest } = header
  return { name, bytes, n, entries: Object.entries(rest) as [string, Entry][], metadata: (metadata as Record<string, string>) ?? null }
}

const pick = <T>(rng: Generator, xs: readonly T[]): T => xs[rng.int(xs.length)]!
const utf8 = new TextEncoder()

/** A file with header text `text` (padded with spaces to 8 bytes) and the seed's body. */
function withHeader(seed: Seed, text: string): Uint8Array {
  const json = utf8.encode(text)
  const n = Math.ceil(json.length / 8) * 8
  const body = seed.bytes.subarray(8 + seed.n)
  const out = new Uint8Array(8 + n + body.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, n % 2 ** 32, true)
  view.setUint32(4, Math.floor(n / 2 ** 32), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + n)
  out.set(body, 8 + n)
  return out
}

const entryText = (e: Entry, extra = ''): string =>
  `{"dtype":${JSON.stringify(e.dtype)},"shape":${JSON.stringify(e.shape)},"data_offsets":${JSON.stringify(e.data_offsets)}${extra}}`

/** Header text from parts: metadata first, then the tensors, each already rendered. */
function headerText(metadata: string | null, tensors: [string, string][]): string {
  const parts = metadata === null ? [] : [`"__metadata__":${metadata}`]
  for (const [k, v] of tensors) parts.push(`${JSON.stringify(k)}:${v}`)
  return `{${parts.join(',')}}`
}
const metaText = (m: Record<string, string> | null): string | null => (m === null ? null : JSON.stringify(m))
const rendered = (seed: Seed): [string, string][] => seed.entries.map(([k, e]) => [k, entryText(e)])

const nested = (depth: number, inner = ''): string => '['.repeat(depth) + inner + ']'.repeat(depth)
const HOSTILE = ['{"toString":1}', '{"valueOf":{},"toString":[]}', '{"__proto__":{"x":1}}', '{"constructor":null}']
const WRONG_TYPES = ['null', 'true', '0', '-1', '""', '"F32 "', '[]', '{}', ...HOSTILE]
const HUGE = ['9007199254740992', '9007199254740993', '18446744073709551616', '1e400', '-0', '1.5', '4503599627370496', '1e-400', '-1']

/** Whether shape and offsets of `e` are consistent under the format's rules (checked u64 product). */
function consistent(e: Entry): boolean {
  const size = DTYPE_INFO[e.dtype as keyof typeof DTYPE_INFO]?.size
  if (size === undefined || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return false
  let numel = 1n
  for (const d of e.shape) {
    numel *= BigInt(d)
    if (numel >= 2n ** 64n) return false
  }
  return numel * BigInt(size) === BigInt(e.data_offsets[1] - e.data_offsets[0])
}

type Mutation = (rng: Generator, seed: Seed) => { what: string; bytes: Uint8Array; malformed?: boolean }

const byteMutations: Mutation[] = [
  (rng, seed) => {
    const bytes = seed.bytes.slice()
    const flips = 1 + rng.int(4)
    let inLength = false
    const at: number[] = []
    for (let i = 0; i < flips; i++) {
      const k = rng.int(bytes.length)
      bytes[k] ^= 1 << rng.int(8)
      at.push(k)
      if (k < 8) inLength = true
    }
    // A changed length N moves the body start, so the tensors can no longer tile the body;
    // flips elsewhere may give another valid file (a renamed tensor, changed data).
    const changed = !bytes.subarray(0, 8).every((b, i) => b === seed.bytes[i])
    return { what: `bit flips at ${at.join(',')}`, bytes, malformed: inLength && changed ? true : undefined }
  },
  (rng, seed) => {
    const len = rng.int(seed.bytes.length)
    return { what: `truncated to ${len} of ${seed.bytes.length} bytes`, bytes: seed.bytes.slice(0, len), malformed: true }
  },
  (rng, seed) => {
    const extra = 1 + rng.int(64)
    const bytes = new Uint8Array(seed.bytes.length + extra)
    bytes.set(seed.bytes)
    for (let i = seed.bytes.length; i < bytes.length; i++) bytes[i] = rng.int(256)
    return { what: `extended by ${extra} bytes`, bytes, malformed: true }
  },
  (rng, seed) => {
    const at = rng.int(seed.bytes.length + 1)
    const k = 1 + rng.int(16)
    const bytes = new Uint8Array(seed.bytes.length + k)
    bytes.set(seed.bytes.subarray(0, at))
    for (let i = 0; i < k; i++) bytes[at + i] = rng.int(256)
    bytes.set(seed.bytes.subarray(at), at + k)
    // In the body the header is unchanged and the body k bytes longer: trailing bytes.
    return { what: `${k} random bytes inserted at ${at}`, bytes, malformed: at >= 8 + seed.n ? true : undefined }
  },
  (rng, seed) => {
    const n = pick(rng, [2 ** 63, 2 ** 53 + 8, 2 ** 32, 100_000_001, 100_000_000, seed.bytes.length, seed.n + 8, seed.n - 8, 0, 1])
    const bytes = seed.bytes.slice()
    const view = new DataView(bytes.buffer)
    view.setUint32(0, n % 2 ** 32, true)
    view.setUint32(4, Math.floor(n / 2 ** 32), true)
    return { what: `header length set to ${n} (was ${seed.n})`, bytes, malformed: n !== seed.n }
  },
]

const headerMutations: Mutation[] = [
  (rng, seed) => {
    // Nesting where a value belongs, at depths around the parser's limit and far beyond it.
    const depth = pick(rng, [1, 2, 63, 64, 65, 100, 3156, 100_000])
    const tensors = rendered(seed)
    if (tensors.length === 0 || rng.int(3) === 0) {
      const text = headerText(nested(depth, pick(rng, ['', '1', '"x"', '{}'])), tensors)
      return { what: `__metadata__ replaced by ${depth} nested arrays`, bytes: withHeader(seed, text), malformed: true }
    }
    const i = rng.int(tensors.length)
    const [k, e] = seed.entries[i]!
    const field = pick(rng, ['dtype', 'shape', 'data_offsets', 'entry', 'extra'] as const)
    const deep = nested(depth, pick(rng, ['', '0', '"F32"']))
    if (field === 'entry') tensors[i] = [k, deep]
    else if (field === 'extra') tensors[i] = [k, entryText(e, `,"extra":${deep}`)]
    else tensors[i] = [k, entryText(e).replace(`"${field}":${JSON.stringify(e[field])}`, `"${field}":${deep}`)]
    // An unknown field is ignored by the format, so only a nested known value is surely malformed;
    // one level of nesting in shape is a shape again ([] or [0]).
    const asShape = deep === '[]' ? [] : deep === '[0]' ? [0] : null
    const malformed = field !== 'extra' && !(field === 'shape' && asShape !== null && consistent({ ...e, shape: asShape }))
    return { what: `tensor ${JSON.stringify(k)}: ${field} replaced by ${depth} nested arrays`, bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: malformed ? true : undefined }
  },
  (rng, seed) => {
    // Duplicate keys, which the format forbids: a tensor name, a field, __metadata__, a metadata key.
    const tensors = rendered(seed)
    const kind = pick(rng, ['tensor', 'field', 'metadata', 'metadata key'] as const)
    if (kind === 'tensor' && tensors.length > 0) {
      const i = rng.int(tensors.length)
      tensors.splice(rng.int(tensors.length + 1), 0, [tensors[i]![0], rng.int(2) === 0 ? tensors[i]![1] : '{}'])
      return { what: `tensor ${JSON.stringify(tensors[i]![0])} twice`, bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: true }
    }
    if (kind === 'field' && tensors.length > 0) {
      const i = rng.int(tensors.length)
      const [k, e] = seed.entries[i]!
      const field = pick(rng, ['dtype', 'shape', 'data_offsets'] as const)
      tensors[i] = [k, entryText(e, `,"${field}":${JSON.stringify(e[field])}`)]
      return { what: `tensor ${JSON.stringify(k)}: field ${field} twice`, bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: true }
    }
    if (kind === 'metadata key' && seed.metadata !== null && Object.keys(seed.metadata).length > 0) {
      const m = metaText(seed.metadata)!
      const key = Object.keys(seed.metadata)[0]!
      const text = headerText(`${m.slice(0, -1)},${JSON.stringify(key)}:"again"}`, tensors)
      return { what: `__metadata__: key ${JSON.stringify(key)} twice`, bytes: withHeader(seed, text), malformed: true }
    }
    const m = metaText(seed.metadata) ?? '{}'
    const text = headerText(m, tensors).replace(/}$/, `,"__metadata__":${m}}`)
    return { what: '__metadata__ twice', bytes: withHeader(seed, text), malformed: true }
  },
  (rng, seed) => {
    // A wrong type or a hostile object where dtype, shape, data_offsets or an entry belongs.
    const tensors = rendered(seed)
    const value = pick(rng, WRONG_TYPES)
    if (tensors.length === 0 || rng.int(4) === 0) {
      const where = pick(rng, ['__metadata__', 'a metadata value', 'a new tensor'] as const)
      const m = where === '__metadata__' ? value : where === 'a metadata value' ? `{"k":${value}}` : metaText(seed.metadata)
      const extra: [string, string][] = where === 'a new tensor' ? [[pick(rng, ['toString', '__proto__', 'constructor', 'x']), value]] : []
      const malformed = !(where === '__metadata__' && value === '{}') && !(where === 'a metadata value' && value.startsWith('"'))
      return { what: `${where} set to ${value}`, bytes: withHeader(seed, headerText(m, [...tensors, ...extra])), malformed: malformed ? true : undefined }
    }
    const i = rng.int(tensors.length)
    const [k, e] = seed.entries[i]!
    const field = pick(rng, ['dtype', 'shape', 'data_offsets', 'entry', 'missing'] as const)
    if (field === 'entry') tensors[i] = [k, value]
    else if (field === 'missing') tensors[i] = [k, entryText(e).replace(new RegExp(`"${pick(rng, ['dtype', 'shape', 'data_offsets'])}":("[^"]*"|\\[[^\\]]*\\]),?`), '').replace(',}', '}')]
    else tensors[i] = [k, entryText(e).replace(`"${field}":${JSON.stringify(e[field])}`, `"${field}":${value}`)]
    const malformed = !(field === 'shape' && value === '[]' && consistent({ ...e, shape: [] }))
    return { what: `tensor ${JSON.stringify(k)}: ${field} set to ${field === 'missing' ? '(removed)' : value}`, bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: malformed ? true : undefined }
  },
  (rng, seed) => {
    // Huge, fractional and negative numbers in shape and data_offsets.
    if (seed.entries.length === 0) return { what: 'trailing garbage after the JSON', bytes: withHeader(seed, headerText(metaText(seed.metadata), []) + ' x'), malformed: true }
    const tensors = rendered(seed)
    const i = rng.int(tensors.length)
    const [k, e] = seed.entries[i]!
    const value = pick(rng, HUGE)
    const field = pick(rng, ['shape', 'data_offsets', 'shape3'] as const)
    let text: string
    let changed: Entry
    if (field === 'shape3') {
      text = entryText(e).replace(`"shape":${JSON.stringify(e.shape)}`, `"shape":[${value},${value},0]`)
      changed = { ...e, shape: [Number(value), Number(value), 0] }
    } else {
      const arr = [...e[field]]
      const j = rng.int(Math.max(arr.length, 1))
      const parts = arr.map(String)
      parts[j] = value
      text = entryText(e).replace(`"${field}":${JSON.stringify(e[field])}`, `"${field}":[${parts.join(',')}]`)
      arr[j] = Number(value)
      changed = field === 'shape' ? { ...e, shape: arr } : { ...e, data_offsets: arr as [number, number] }
    }
    tensors[i] = [k, text]
    // Surely malformed unless the number is an exact safe integer that keeps the entry consistent
    // and its offsets where they were.
    const exact = /^(0|[1-9][0-9]*)$/.test(value) && Number.isSafeInteger(Number(value))
    const same = changed.data_offsets[0] === e.data_offsets[0] && changed.data_offsets[1] === e.data_offsets[1]
    const malformed = !(exact && same && consistent(changed))
    return { what: `tensor ${JSON.stringify(k)}: ${field} gets ${value}`, bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: malformed ? true : undefined }
  },
  (rng, seed) => {
    // Valid rewrites: a renamed tensor, an unknown field, a different key order.
    const tensors = rendered(seed)
    if (tensors.length > 0) {
      const i = rng.int(tensors.length)
      const [k, e] = seed.entries[i]!
      if (rng.int(2) === 0) tensors[i] = [pick(rng, ['toString', '__proto__', 'constructor', 'ü✓', '', k + '.x']), tensors[i]![1]]
      else tensors[i] = [k, entryText(e, `,${pick(rng, ['"toString":1', '"__proto__":{}', '"x":[[[]]]'])}`)]
    }
    tensors.reverse()
    const clash = new Set(tensors.map(([k]) => k)).size !== tensors.length
    return { what: 'tensors renamed / unknown field / reordered', bytes: withHeader(seed, headerText(metaText(seed.metadata), tensors)), malformed: clash ? true : undefined }
  },
  (rng, seed) => {
    // A large __metadata__ of empty objects or arrays: must fail at the first one, not at the end.
    const count = pick(rng, [1, 100, 10_000, 100_000])
    const asArray = rng.int(2) === 0
    const m = asArray ? `[${new Array(count).fill('{}').join(',')}]` : `{${Array.from({ length: count }, (_, j) => `"${j}":[]`).join(',')}}`
    return { what: `__metadata__ with ${count} empty ${asArray ? 'objects in an array' : 'arrays'}`, bytes: withHeader(seed, headerText(m, rendered(seed))), malformed: true }
  },
]

const target: FuzzTarget = {
  name: 'safetensors',
  setup(dir) {
    const files: [string, Uint8Array][] = [
      [
        'mixed',
        encodeSafetensors(
          {
            'layer.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) },
            'layer.bias': { dtype: 'F64', shape: [3], data: new Float64Array([0.1, NaN, -Infinity]) },
            steps: { dtype: 'I64', shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) },
            count: { dtype: 'I32', shape: [], data: new Int32Array([7]) },
            mask: { dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
            bytes: { dtype: 'U8', shape: [1, 5], data: new Uint8Array([0, 1, 127, 128, 255]) },
            empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
          },
          { format: 'pt', note: 'fuzz seed ✓' },
        ),
      ],
      ['one', encodeSafetensors({ w: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) } })],
      ['metadata-only', encodeSafetensors({}, { epoch: '3' })],
      ['empty', encodeSafetensors({})],
    ]
    seeds = files.map(([name, bytes]) => {
      fs.writeFileSync(path.join(dir, `${name}.safetensors`), bytes)
      return seedOf(name, bytes)
    })
  },
  makeCase(rng, dir, index): FuzzCase {
    if (rng.int(32) === 0) {
      // Something other than a regular file where the file should be.
      const kind = pick(rng, ['a directory', 'a link to /dev/zero', 'a link to itself', 'nothing'] as const)
      const file = path.join(dir, `odd-${index % 4}.safetensors`)
      return {
        what: `${kind} at the file's path (loadSafetensors)`,
        malformed: true,
        bytes: 0,
        run() {
          fs.rmSync(file, { recursive: true, force: true })
          if (kind === 'a directory') fs.mkdirSync(file)
          else if (kind === 'a link to /dev/zero') fs.symlinkSync('/dev/zero', file)
          else if (kind === 'a link to itself') fs.symlinkSync(file, file)
          return loadSafetensors(file)
        },
      }
    }
    const seed = pick(rng, seeds)
    const useHeader = rng.int(2) === 0
    const m = (useHeader ? pick(rng, headerMutations) : pick(rng, byteMutations))(rng, seed)
    const viaFile = rng.int(8) === 0
    // int32 (the default) refuses I64 values outside int32 by name; bigint keeps them.
    const i64 = rng.int(2) === 0 ? 'int32' : 'bigint'
    const file = path.join(dir, `case-${index % 16}.safetensors`)
    return {
      what: `${seed.name}: ${m.what}${viaFile ? ' (loadSafetensors)' : ''}${i64 === 'int32' ? '' : ' (i64 as bigint)'}`,
      malformed: m.malformed,
      bytes: m.bytes.length,
      run() {
        if (!viaFile) return decodeSafetensors(m.bytes, `fuzz-${index}`, { i64 })
        fs.writeFileSync(file, m.bytes)
        return loadSafetensors(file, { i64 })
      },
    }
  },
  isNamedError: (err) => err instanceof SafetensorsError,
}

export default target
