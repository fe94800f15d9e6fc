// safetensors: bit-exact round trips, a fixture assembled byte by byte from the format
// specification, the reference writer's documented bytes, and one specific error per bad file.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type TensorEntry,
} from '../src/io/index.js'

const ascii = (s: string): number[] => [...new TextEncoder().encode(s)]
const u64 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0]
const f32Bytes = (xs: number[]): number[] => [...new Uint8Array(new Float32Array(xs).buffer)]
const bits32 = (words: number[]): Float32Array => new Float32Array(new Uint32Array(words).buffer)
const bytesOf = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)]

/** A file from a header text and body bytes: N is the padded header length (spaces), as the spec says. */
function rawFile(headerText: string, body: number[], pad = true): Uint8Array {
  let header = ascii(headerText)
  if (pad) while (header.length % 8 !== 0) header = [...header, 0x20]
  return new Uint8Array([...u64(header.length), ...header, ...body])
}

/** A minimal independent reader: what another tool would do with our bytes. */
function minimalParse(bytes: Uint8Array): { header: any; body: DataView; n: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = Number(dv.getBigUint64(0, true))
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))
  return { header, n, body: new DataView(bytes.buffer, bytes.byteOffset + 8 + n) }
}

const errorOf = (f: () => unknown): SafetensorsError => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(SafetensorsError)
    return err as SafetensorsError
  }
  throw new Error('expected an error, none was thrown')
}

describe('safetensors: the format as specified', () => {
  it('decodes a fixture assembled byte by byte (metadata, padding, F64, F32, I64, F16)', () => {
    // Entries listed out of offset order on purpose: readers must go by data_offsets.
    const header =
      '{"__metadata__":{"format":"pt","note":"hand-made"},' +
      '"w":{"dtype":"F32","shape":[2,1],"data_offsets":[16,24]},' +
      '"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},' +
      '"steps":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},' +
      '"h":{"dtype":"F16","shape":[4],"data_offsets":[40,48]}}'
    const padding = (8 - (header.length % 8)) % 8
    expect(padding).toBeGreaterThan(0) // the fixture must exercise header padding
    const n = header.length + padding
    const body = [
      // d: F64 0.1 = 0x3FB999999999999A, -2 = 0xC000000000000000 (little-endian)
      0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
      // w: F32 1.0 = 0x3F800000, -2.5 = 0xC0200000
      0x00, 0x00, 0x80, 0x3f,
      0x00, 0x00, 0x20, 0xc0,
      // steps: I64 -1, 3
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      // h: F16 1.0 = 0x3C00, -2 = 0xC000, 65504 = 0x7BFF, 2^-24 (smallest subnormal) = 0x0001
      0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,
    ]
    const file = new Uint8Array([...u64(n), ...ascii(header), ...Array(padding).fill(0x20), ...body])

    const { tensors, metadata } = decodeSafetensors(file, 'fixture')
    expect(metadata).toEqual({ format: 'pt', note: 'hand-made' })
    expect(Object.keys(tensors).sort()).toEqual(['d', 'h', 'steps', 'w'])
    expect(tensors.d.dtype).toBe('F64')
    expect(tensors.d.data).toEqual(new Float64Array([0.1, -2]))
    expect(tensors.w.shape).toEqual([2, 1])
    expect(tensors.w.data).toEqual(new Float32Array([1, -2.5]))
    expect(tensors.steps.data).toEqual(new Int32Array([-1, 3])) // I64 -> Int32Array when it fits
    expect(tensors.h.dtype).toBe('F16')
    expect(tensors.h.data).toEqual(new Float32Array([1, -2, 65504, 2 ** -24])) // F16 -> Float32Array
  })

  it('decodes BF16 exactly to Float32Array and keeps I64 as BigInt64Array on request', () => {
    const header = '{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"i":{"dtype":"I64","shape":[1],"data_offsets":[6,14]}}'
    // BF16 0x3F80 = 1, 0xC049 = -3.140625, 0x0000 = 0; I64 2^40
    const body = [0x80, 0x3f, 0x49, 0xc0, 0x00, 0x00, 0, 0, 0, 0, 0, 1, 0, 0]
    const file = rawFile(header, body)
    expect(() => decodeSafetensors(file, 'big.safetensors')).toThrow(/big.safetensors.*tensor "i".*1099511627776 at index 0 does not fit int32/)
    const { tensors } = decodeSafetensors(file, 'big', { i64: 'bigint' })
    expect(tensors.b.data).toEqual(new Float32Array([1, -3.140625, 0]))
    expect(tensors.i.data).toEqual(new BigInt64Array([2n ** 40n]))
  })

  it("matches the reference writer's documented bytes (one F32 tensor; empty file with metadata)", () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5])
    // 64-byte header: no padding needed.
    const h1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'
    expect([...encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } })]).toEqual([...u64(64), ...ascii(h1), ...f32Bytes([0, 1, 2, 3, 4, 5])])
    // 65 bytes of JSON: 7 spaces bring the body to an 8-aligned offset.
    const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}'
    expect([...encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } })]).toEqual([...u64(72), ...ascii(h2), ...Array(7).fill(0x20), ...f32Bytes([0, 1, 2, 3, 4, 5])])
    expect([...encodeSafetensors({})]).toEqual([...u64(8), ...ascii('{}'), ...Array(6).fill(0x20)])
    expect([...encodeSafetensors({}, { framework: 'pt' })]).toEqual([...u64(40), ...ascii('{"__metadata__":{"framework":"pt"}}'), ...Array(5).fill(0x20)])
  })

  it('writes files a minimal independent parser reads, every tensor aligned to its item size', () => {
    const bytes = encodeSafetensors(
      {
        'layer.bias': { dtype: 'F32', shape: [3], data: new Float32Array([0.5, -1, 2]) },
        'a.mask': { dtype: 'U8', shape: [3], data: new Uint8Array([1, 0, 255]) },
        'layer.weight': { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -0]) },
        count: { dtype: 'I32', shape: [], data: new Int32Array([7]) },
      },
      { epoch: '3' },
    )
    const { header, body, n } = minimalParse(bytes)
    expect(n % 8).toBe(0)
    expect(header.__metadata__).toEqual({ epoch: '3' })
    const at = (k: string): number => header[k].data_offsets[0]
    for (const [k, size] of [['layer.bias', 4], ['layer.weight', 8], ['count', 4], ['a.mask', 1]] as const) {
      expect((8 + n + at(k)) % size).toBe(0)
    }
    expect([0, 1, 2].map((i) => body.getFloat32(at('layer.bias') + 4 * i, true))).toEqual([0.5, -1, 2])
    expect(body.getFloat64(at('layer.weight'), true)).toBe(Math.PI)
    expect(Object.is(body.getFloat64(at('layer.weight') + 8, true), -0)).toBe(true)
    expect(body.getInt32(at('count'), true)).toBe(7)
    expect(header.count.shape).toEqual([])
    expect([0, 1, 2].map((i) => body.getUint8(at('a.mask') + i))).toEqual([1, 0, 255])
    const last = Math.max(...['layer.bias', 'layer.weight', 'count', 'a.mask'].map((k) => header[k].data_offsets[1]))
    expect(8 + n + last).toBe(bytes.length)
  })
})

describe('safetensors: round trips', () => {
  const special: Record<string, TensorEntry> = {
    // NaN payloads (quiet and signalling, both signs), -0, smallest subnormal, max, inf
    f32: { dtype: 'F32', shape: [2, 4], data: bits32([0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f7fffff, 0xff800000, 0x3eaaaaab, 0]) },
    f64: { dtype: 'F64', shape: [4], data: new Float64Array(new Uint32Array([0x1, 0x7ff80000, 0, 0x80000000, 1, 0, 0xffffffff, 0xfff7ffff]).buffer) },
    i32: { dtype: 'I32', shape: [4], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -1]) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    u8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
    flags: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    '10': { dtype: 'F32', shape: [1], data: new Float32Array([10]) }, // integer-like names
    '2': { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
    __proto__x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
  }
  const meta = { seed: '0', 'über': 'ünïcode ✓', '7': 'integer-like key', quote: 'a "b"\n' }

  it('is bit-identical (NaN payloads, -0, subnormals, integer extremes) with metadata', () => {
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(special, meta), 'rt', { i64: 'bigint' })
    expect(metadata).toEqual(meta)
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(special).sort())
    for (const [k, t] of Object.entries(special)) {
      expect(tensors[k].dtype, k).toBe(t.dtype)
      expect(tensors[k].shape, k).toEqual(t.shape)
      expect(tensors[k].data.constructor, k).toBe(t.data.constructor)
      expect(bytesOf(tensors[k].data), k).toEqual(bytesOf(t.data))
    }
  })

  it('gives the same bytes for the same state, whatever the insertion order', () => {
    const reversed = Object.fromEntries(Object.entries(special).reverse())
    const a = encodeSafetensors(special, meta)
    expect(encodeSafetensors(reversed, Object.fromEntries(Object.entries(meta).reverse()))).toEqual(a)
    const again = decodeSafetensors(a, 'rt', { i64: 'bigint' })
    expect(encodeSafetensors(again.tensors as Record<string, TensorEntry>, again.metadata)).toEqual(a)
  })

  it('pads the header with spaces to a multiple of 8 for every name length', () => {
    for (let len = 1; len <= 9; len++) {
      const bytes = encodeSafetensors({ ['x'.repeat(len)]: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) } })
      const { n } = minimalParse(bytes)
      expect(n % 8).toBe(0)
      const text = new TextDecoder().decode(bytes.subarray(8, 8 + n))
      expect(text.trimEnd().endsWith('}')).toBe(true)
      expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true)
    }
  })

  it('writes I64 from Int32Array sign-extended, and decodes it back to Int32Array', () => {
    const bytes = encodeSafetensors({ n: { dtype: 'I64', shape: [2], data: new Int32Array([-5, 2 ** 31 - 1]) } })
    const { body, n } = minimalParse(bytes)
    expect(body.getBigInt64(0, true)).toBe(-5n)
    expect(bytes.length).toBe(8 + n + 16)
    expect(decodeSafetensors(bytes).tensors.n.data).toEqual(new Int32Array([-5, 2 ** 31 - 1]))
  })

  it('copies data out aligned: no aliasing of a file buffer at an odd offset', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -3]) } })
    const host = new Uint8Array(bytes.length + 3)
    host.set(bytes, 3)
    const view = host.subarray(3)
    const w = decodeSafetensors(view).tensors.w.data as Float64Array
    expect(w).toEqual(new Float64Array([1.5, -3]))
    w[0] = 99
    expect(decodeSafetensors(view).tensors.w.data[0]).toBe(1.5)
  })

  it('keeps a tensor named "__proto__" as an own property', () => {
    const t: Record<string, TensorEntry> = {}
    Object.defineProperty(t, '__proto__', { value: { dtype: 'F32', shape: [1], data: new Float32Array([4]) }, enumerable: true })
    const { tensors } = decodeSafetensors(encodeSafetensors(t))
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value.data).toEqual(new Float32Array([4]))
  })

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-st-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('saveSafetensors / loadSafetensors go through a file atomically', () => {
    const file = path.join(dir, 'model.safetensors')
    saveSafetensors(file, { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } })
    saveSafetensors(file, special, meta)
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors'])
    const { tensors } = loadSafetensors(file, { i64: 'bigint' })
    expect(bytesOf(tensors.f32.data)).toEqual(bytesOf(special.f32.data))
    fs.truncateSync(file, 100)
    expect(() => loadSafetensors(file)).toThrow(file)
  })
})

describe('safetensors: bad files give specific errors', () => {
  const ok = encodeSafetensors({
    a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    z: { dtype: 'F32', shape: [1], data: new Float32Array([3]) },
  })
  const bad = (file: Uint8Array, opts = {}): SafetensorsError => errorOf(() => decodeSafetensors(file, 'bad.safetensors', opts))
  const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
    JSON.stringify({ dtype, shape, data_offsets: [begin, end] })

  it('truncated header length', () => {
    expect(bad(new Uint8Array([8, 0, 0, 0, 0])).message).toMatch(/bad.safetensors.*file is 5 bytes, too short for the 8-byte header length/)
  })
  it('header length beyond the file', () => {
    const file = new Uint8Array([...u64(1000), ...ascii('{}      ')])
    expect(bad(file).message).toMatch(/header length 1000 .*would end at byte offset 1008 but the file has 16 bytes/)
  })
  it('header length over the bound (100 MB by default)', () => {
    expect(bad(ok, { maxHeaderBytes: 16 }).message).toMatch(/header length \d+ .*exceeds the limit of 16 bytes/)
    const huge = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, ...ascii('{}')]) // N = 2^32
    expect(bad(huge).message).toMatch(/header length 4294967296 .*exceeds the limit of 100000000 bytes/)
  })
  it('header that is not a JSON object', () => {
    expect(bad(rawFile('{"a": ', [])).message).toMatch(/header \(byte offsets 8 to 16\) is not valid JSON/)
    expect(bad(rawFile('[1]', [])).message).toMatch(/starting with '\{' at byte offset 8, found byte 0x5b/)
    expect(bad(rawFile('', [])).message).toMatch(/found an empty header/)
    const notUtf8 = rawFile('{"\u00ff":1}', [])
    notUtf8[10] = 0xff // a lone 0xFF byte is never valid UTF-8
    expect(bad(notUtf8).message).toMatch(/is not valid UTF-8/)
  })
  it('unknown dtype', () => {
    const e = bad(rawFile(`{"w":${entry('Q7', [1], 0, 4)}}`, [0, 0, 0, 0]))
    expect(e.message).toMatch(/tensor "w": unknown or unsupported dtype "Q7"/)
    expect(e.key).toBe('w')
    expect(e.source).toBe('bad.safetensors')
  })
  it('shape / byte-count mismatch names key, expected and found', () => {
    const e = bad(rawFile(`{"w":${entry('F32', [2, 3], 0, 20)}}`, Array(20).fill(0)))
    expect(e.message).toMatch(/bad.safetensors.*tensor "w": dtype F32 shape \[2,3\] needs 24 bytes but data_offsets \[0,20\] hold 20 bytes/)
  })
  it('malformed shape, data_offsets or entry', () => {
    expect(bad(rawFile(`{"w":${entry('F32', [-1], 0, 4)}}`, [0, 0, 0, 0])).message).toMatch(/tensor "w": shape must be a list of non-negative integers, found \[-1\]/)
    expect(bad(rawFile(`{"w":${entry('F32', [1.5], 0, 4)}}`, [0, 0, 0, 0])).message).toMatch(/shape must be/)
    expect(bad(rawFile(`{"w":${entry('F32', [1], 4, 0)}}`, [0, 0, 0, 0])).message).toMatch(/tensor "w": data_offsets must be \[begin, end\] with 0 <= begin <= end, found \[4,0\]/)
    expect(bad(rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', [0, 0, 0, 0])).message).toMatch(/data_offsets must be/)
    expect(bad(rawFile('{"w":[1,2]}', [])).message).toMatch(/tensor "w": entry must be an object/)
    expect(bad(rawFile(`{"w":${entry('F32', [2 ** 52, 2 ** 10], 0, 4)}}`, [0, 0, 0, 0])).message).toMatch(/too large/)
  })
  it('offsets outside the body', () => {
    const e = bad(rawFile(`{"a":${entry('F32', [1], 0, 4)},"far":${entry('F32', [1], 96, 100)}}`, [0, 0, 0, 0]))
    expect(e.key).toBe('far')
    expect(e.message).toMatch(/tensor "far": data_offsets \[96,100\] reach file byte offset \d+ but the file ends at byte offset \d+ \(the body has 4 bytes\)/)
  })
  it('overlapping entries', () => {
    const e = bad(rawFile(`{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 4, 12)}}`, Array(12).fill(0)))
    expect(e.message).toMatch(/tensor "b": data_offsets \[4,12\] overlap tensor "a" at \[0,8\]/)
  })
  it('a hole in the body', () => {
    const file = rawFile(`{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`, Array(12).fill(0))
    const n = minimalParse(file).n
    expect(bad(file).message).toMatch(new RegExp(`tensor "b": hole in the body: bytes \\[4,8\\) \\(file byte offsets ${8 + n + 4} to ${8 + n + 8}\\)`))
  })
  it('trailing bytes after the last tensor', () => {
    const file = new Uint8Array([...ok, 1, 2, 3])
    expect(bad(file).message).toMatch(new RegExp(`3 trailing bytes after the last tensor: tensors end at file byte offset ${ok.length} but the file has ${ok.length + 3} bytes`))
  })
  it('truncated body names the byte offset', () => {
    const file = ok.subarray(0, ok.length - 2)
    const e = bad(file)
    expect(e.key).toBe('z')
    expect(e.message).toMatch(new RegExp(`tensor "z": data_offsets \\[8,12\\] reach file byte offset ${ok.length} but the file ends at byte offset ${ok.length - 2}`))
  })
  it('metadata that is not a map of strings', () => {
    expect(bad(rawFile('{"__metadata__":{"epoch":3}}', [])).message).toMatch(/__metadata__: value of "epoch" must be a string, found number 3/)
    expect(bad(rawFile('{"__metadata__":["x"]}', [])).message).toMatch(/__metadata__: must be an object of strings/)
    expect(bad(rawFile('{"__metadata__":{"a":"1","b":true}}', [])).message).toMatch(/__metadata__: value of "b" must be a string, found boolean true, at file byte offset 37$/)
    expect(bad(rawFile('{"__metadata__":{"a":null}}', [])).message).toMatch(/__metadata__: value of "a" must be a string, found null/)
  })
})

describe('safetensors: encode validates its input', () => {
  const f32 = (shape: number[], n: number): TensorEntry => ({ dtype: 'F32', shape, data: new Float32Array(n) })
  const enc = (t: Record<string, unknown>, m?: unknown): string =>
    errorOf(() => encodeSafetensors(t as Record<string, TensorEntry>, m as Record<string, string>)).message
  it('names, shapes, array types, unsupported dtypes and metadata', () => {
    expect(enc({ '': f32([1], 1) })).toMatch(/tensor name must not be empty/)
    expect(enc({ w: null })).toMatch(/tensor "w": entry must be \{ dtype, shape, data \}, found null/)
    expect(enc({ __metadata__: f32([1], 1) })).toMatch(/"__metadata__" is reserved/)
    expect(enc({ w: f32([2, 3], 5) })).toMatch(/tensor "w": shape \[2,3\] has 6 elements but data has 5/)
    expect(enc({ w: f32([-2], 0) })).toMatch(/tensor "w": shape must be a list of non-negative integers/)
    expect(enc({ w: { dtype: 'F32', shape: [1], data: new Float64Array(1) } })).toMatch(/tensor "w": dtype F32 needs a Float32Array, found Float64Array/)
    expect(enc({ w: { dtype: 'F16', shape: [1], data: new Float32Array(1) } })).toMatch(/tensor "w": writing F16 is not supported/)
    expect(enc({ w: { dtype: 'X', shape: [1], data: new Float32Array(1) } })).toMatch(/tensor "w": unknown dtype "X"/)
    expect(enc({ m: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 2]) } })).toMatch(/BOOL data must be 0 or 1, found 2 at index 1/)
    expect(enc({}, { epoch: 3 })).toMatch(/metadata "epoch": value must be a string, found number 3/)
  })
})

// Issue #21: hostile headers found by fuzzing. Each failed before the reader used strict-json.
describe('safetensors: hostile headers (issue #21)', () => {
  const bad = (file: Uint8Array): SafetensorsError => errorOf(() => decodeSafetensors(file, 'evil.safetensors'))
  /** A file of N = text.length header bytes (no padding) and the given body bytes, built without copies. */
  const fileOf = (header: Uint8Array, bodyBytes = 0): Uint8Array => {
    const out = new Uint8Array(8 + header.length + bodyBytes)
    new DataView(out.buffer).setUint32(0, header.length, true)
    out.set(header, 8)
    return out
  }
  /** `prefix`, then `unit` repeated to about `bytes`, then `suffix`, as UTF-8 bytes. */
  const repeated = (prefix: string, unit: string, bytes: number, suffix: string): Uint8Array => {
    const [p, u, s] = [prefix, unit, suffix].map((x) => new TextEncoder().encode(x))
    const count = Math.floor(bytes / u.length)
    const out = new Uint8Array(p.length + count * u.length + s.length)
    out.set(p)
    out.set(u, p.length)
    // Doubling copies fill the repeats in log2(count) steps.
    for (let filled = u.length; filled < count * u.length; filled *= 2) {
      out.copyWithin(p.length + filled, p.length, p.length + Math.min(filled, count * u.length - filled))
    }
    out.set(s, p.length + count * u.length)
    return out
  }

  it('a value with a "toString" key is described, not converted (was TypeError: Cannot convert object to primitive value)', () => {
    const body = [0, 0, 0, 0]
    const e = bad(rawFile('{"a":{"dtype":{"toString":1},"shape":[1],"data_offsets":[0,4]}}', body))
    expect(e.key).toBe('a')
    expect(e.message).toMatch(/^decodeSafetensors\(evil.safetensors\): tensor "a": dtype must be a string, found an object, at file byte offset 22$/)
    expect(bad(rawFile('{"a":{"dtype":"F32","shape":{"toString":1},"data_offsets":[0,4]}}', body)).message).toMatch(
      /tensor "a": shape must be a list of non-negative integers, found an object with keys "toString"/,
    )
    expect(bad(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":{"valueOf":1,"toString":2}}}', body)).message).toMatch(
      /data_offsets must be .* found an object with keys "valueOf", "toString"/,
    )
    expect(bad(rawFile('{"a":{"toString":1}}', body)).message).toMatch(/tensor "a": unknown or unsupported dtype undefined/)
    expect(bad(rawFile('{"__metadata__":{"k":{"toString":1}}}', [])).message).toMatch(/__metadata__: value of "k" must be a string, found an object/)
    // The writer describes a caller's hostile objects the same way.
    const hostile = { toString: () => { throw new Error('called') } }
    expect(errorOf(() => encodeSafetensors({ w: hostile as unknown as TensorEntry })).message).toMatch(/tensor "w": unknown dtype undefined/)
    expect(errorOf(() => encodeSafetensors({}, hostile as unknown as Record<string, string>)).message).toMatch(/metadata "toString": value must be a string, found function a function/)
  })

  it('3,156 nested arrays give a named error (was RangeError: Maximum call stack size exceeded)', () => {
    const header = '{"a":' + '['.repeat(3156) + ']'.repeat(3156) + '}'
    expect(header.length).toBe(6318)
    const e = bad(rawFile(header, []))
    expect(e.key).toBe('a')
    // Refused at its first '[': an entry must be an object.
    expect(e.message).toMatch(/tensor "a": entry must be an object with dtype, shape and data_offsets, found an array, at file byte offset 13$/)
    // The same nesting in an unknown field (ignored, but still read) meets the depth limit.
    const deep = '{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":' + '['.repeat(3156) + ']'.repeat(3156) + '}}'
    expect(bad(rawFile(deep, [])).message).toMatch(/tensor "a": header \(byte offsets 8 to \d+\) is not valid JSON: nesting deeper than 64 levels at offset 119 \(\$\["a"\]\["x"\]\[0\]\[0\]…\[0\]\[0\] \(64 levels\)\)$/)
  })

  it('unknown fields of an entry are read as valid but not kept: a large one costs no memory', () => {
    const junk = '[' + '[0],'.repeat(250_000) + '{"k":"v","k":[]}]' // 1 MB; repeated keys inside are not looked at
    const { tensors } = decodeSafetensors(rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":${junk},"toString":{}}}`, [7]))
    expect(tensors.a).toEqual({ dtype: 'U8', shape: [1], data: new Uint8Array([7]) })
    expect(bad(rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1,"x":2}}`, [7])).message).toMatch(/tensor "a": duplicate key "x"/)
  })

  it('a shape has at most 64 dimensions and data_offsets two items, refused at the first extra one', () => {
    const e = bad(rawFile(`{"a":{"dtype":"U8","shape":[${new Array(65).fill(1).join(',')}],"data_offsets":[0,1]}}`, [7]))
    expect(e.message).toMatch(/tensor "a": shape has more than 64 dimensions, at file byte offset 164$/)
    expect(decodeSafetensors(rawFile(`{"a":{"dtype":"U8","shape":[${new Array(64).fill(1).join(',')}],"data_offsets":[0,1]}}`, [7])).tensors.a.shape.length).toBe(64)
    expect(bad(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', [7])).message).toMatch(/data_offsets must be \[begin, end\], found a third item/)
  })

  it('an 80 MB header nested 40M deep fails fast (was 4.1 GB and 18 s)', () => {
    const file = fileOf(repeated('{"a":{"x":', '[', 40_000_000, ''))
    const t0 = performance.now()
    expect(bad(file).message).toMatch(/nesting deeper than 64 levels/)
    expect(performance.now() - t0).toBeLessThan(3000) // about 0.1 s: decoding the text, then 64 levels
  })

  it('a 75 MB __metadata__ of 25M empty objects fails at the first one, with a short message (was 3.1 GB and a 400 MB message)', () => {
    for (const [open, unit, close] of [['[', '{},', '{}]}'], ['{', '"":{},', '"x":{}}}']] as const) {
      const file = fileOf(repeated(`{"__metadata__":${open}`, unit, 75_000_000, close))
      const t0 = performance.now()
      const e = bad(file)
      expect(performance.now() - t0).toBeLessThan(3000)
      expect(e.key).toBe('__metadata__')
      expect(e.message.length).toBeLessThan(300)
      expect(e.message).toMatch(open === '[' ? /__metadata__: must be an object of strings, found an array, at file byte offset 24$/ : /__metadata__: value of "" must be a string, found an object, at file byte offset 28$/)
    }
  })

  it('duplicate keys are refused, naming the key: a tensor, a field, __metadata__ (were: last one wins)', () => {
    const e1 = bad(rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, [0, 0, 0, 0]))
    expect(e1.key).toBe('w')
    expect(e1.message).toMatch(/tensor "w": duplicate key "w" at file byte offset 62: the format forbids duplicate keys/)
    const e2 = bad(rawFile(`{"w":{"dtype":"F32","shape":[1],"dtype":"I32","data_offsets":[0,4]}}`, [0, 0, 0, 0]))
    expect(e2.key).toBe('w')
    expect(e2.message).toMatch(/tensor "w": duplicate key "dtype" at file byte offset 40/)
    const e3 = bad(rawFile('{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"}}', []))
    expect(e3.key).toBe('__metadata__')
    expect(e3.message).toMatch(/__metadata__: duplicate key "__metadata__"/)
    expect(bad(rawFile('{"__metadata__":{"a":"1","a":"2"}}', [])).message).toMatch(/__metadata__: duplicate key "a"/)
  })

  it('shape arithmetic is u64-exact: [2^52, 2^52, 0] overflows before the 0 (was accepted), dims above 2^53 are refused', () => {
    const e = bad(rawFile('{"a":{"dtype":"F32","shape":[4503599627370496,4503599627370496,0],"data_offsets":[0,0]}}', []))
    expect(e.key).toBe('a')
    expect(e.message).toMatch(/tensor "a": shape \[4503599627370496,4503599627370496,0\] is too large: the product of dimensions 0..1 overflows 64 bits/)
    expect(bad(rawFile('{"a":{"dtype":"F32","shape":[9007199254740993,0],"data_offsets":[0,0]}}', [])).message).toMatch(/shape must be a list of non-negative integers.*at most 2\^53 - 1/)
    expect(bad(rawFile('{"a":{"dtype":"F64","shape":[4294967296,536870912],"data_offsets":[0,0]}}', [])).message).toMatch(/its byte count 18446744073709551616 \(dtype F64\) overflows 64 bits/)
    // Zero-size tensors whose product stays in range are fine.
    expect(decodeSafetensors(rawFile('{"a":{"dtype":"F32","shape":[4294967296,0],"data_offsets":[0,0]}}', [])).tensors.a.shape).toEqual([4294967296, 0])
  })

  it('sizes and offsets are u64 written in plain digits (1e2, 4.0 and -0 are not)', () => {
    for (const v of ['1e2', '4.0', '-0', '4E0']) {
      const e = bad(rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,${v}]}}`, [0, 0, 0, 0]))
      expect(e.message).toContain(`tensor "a": data_offsets must be a list of non-negative integers in plain digits, found ${JSON.stringify(v)} at index 1`)
    }
    expect(bad(rawFile('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}', [])).message).toMatch(/shape must be .* in plain digits, found "-0" at index 0/)
  })

  it('names: decodes only the tensors asked for, and names a missing one', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) }, b: { dtype: 'U8', shape: [2], data: new Uint8Array([7, 8]) } })
    expect(Object.keys(decodeSafetensors(bytes, 'x', { names: ['b'] }).tensors)).toEqual(['b'])
    expect(errorOf(() => decodeSafetensors(bytes, 'x', { names: ['c'] })).message).toMatch(/decodeSafetensors\(x\): tensor "c": no tensor named "c" \(the file has 2 tensors\)/)
  })
})

describe('loadSafetensors: header first, then tensors by offset (issue #21)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-st-big-'))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const GiB = 2 ** 30
  /** A sparse file: header and the first `written` body bytes on disk, holes up to `size`. */
  function sparseFile(name: string, header: string, bodyHead: number[], size: number): string | null {
    const file = path.join(dir, name)
    fs.writeFileSync(file, rawFile(header, bodyHead))
    fs.truncateSync(file, size)
    // Only where holes cost no disk: otherwise the test would write gigabytes.
    const sparse = fs.statSync(file).blocks * 512 < 1024 * 1024
    return sparse ? file : null
  }

  it('a 1.2 GiB file with a 16-byte tensor is refused after reading only its header', (ctx) => {
    const file = sparseFile('trailing.safetensors', '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', f32Bytes([1, 2, 3, 4]), Math.floor(1.2 * GiB))
    if (file === null) return ctx.skip()
    const [t0, rss0] = [performance.now(), process.memoryUsage.rss()]
    const e = errorOf(() => loadSafetensors(file))
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(process.memoryUsage.rss() - rss0).toBeLessThan(100 * 2 ** 20) // reading it all took 1.2 GiB
    expect(e.source).toBe(file)
    expect(e.message).toMatch(new RegExp(`^loadSafetensors\\(${file}\\): \\d+ trailing bytes after the last tensor: tensors end at file byte offset \\d+ but the file has ${Math.floor(1.2 * GiB)} bytes`))
  })

  it('a 2.5 GiB file loads the tensors asked for (was ERR_FS_FILE_TOO_LARGE)', (ctx) => {
    const big = 2.5 * GiB
    const header = `{"small":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"big":{"dtype":"U8","shape":[${big}],"data_offsets":[16,${16 + big}]}}`
    const n = Math.ceil(header.length / 8) * 8
    const file = sparseFile('big.safetensors', header, f32Bytes([1, 2, 3, 4]), 8 + n + 16 + big)
    if (file === null) return ctx.skip()
    const { tensors } = loadSafetensors(file, { names: ['small'] })
    expect(tensors.small.data).toEqual(new Float32Array([1, 2, 3, 4]))
    expect(Object.keys(tensors)).toEqual(['small'])
  })

  it('a directory or a missing file is named as such', () => {
    const sub = path.join(dir, 'model.safetensors')
    fs.mkdirSync(sub)
    const e = errorOf(() => loadSafetensors(sub))
    expect(e.message).toBe(`loadSafetensors(${sub}): is a directory, not a safetensors file`)
    expect(errorOf(() => loadSafetensors(path.join(dir, 'none.safetensors'))).message).toMatch(/^loadSafetensors\(.*none.safetensors\): cannot open the file: ENOENT/)
    if (fs.existsSync('/dev/zero')) expect(errorOf(() => loadSafetensors('/dev/zero')).message).toBe('loadSafetensors(/dev/zero): is not a regular file (a device, FIFO or socket?)')
  })

  it('reads a regular file the same as decodeSafetensors does', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -2]) }, b: { dtype: 'I64', shape: [1], data: new BigInt64Array([3n]) } }, { k: 'v' })
    const file = path.join(dir, 'same.safetensors')
    fs.writeFileSync(file, bytes)
    expect(loadSafetensors(file)).toEqual(decodeSafetensors(bytes))
  })
})
