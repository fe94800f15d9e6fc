// Fuzz target: the IDX reader (parseIdx on bytes; readIdxFile, plain or gzipped, on one case in 8).
// Seeds are written with the tests' IDX writer; mutations flip bits, cut, extend, rewrite the type,
// the number of dimensions and the sizes. Whether a mutated file is still valid is decided by a
// small oracle of the format itself (magic, type, exact byte count), so `malformed` is exact.
import fs from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { parseIdx, readIdxFile } from '../../src/data/idx.js'
import type { Generator } from '../../src/tensor/generator.js'
import { encodeIdx } from '../../test/helpers/data-files.js'
import type { FuzzCase, FuzzTarget } from '../target.js'

const WIDTH: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }

/** The format's rule, written independently of the reader: is `b` a well-formed IDX file? */
function wellFormed(b: Uint8Array): boolean {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || WIDTH[b[2]!] === undefined) return false
  const ndim = b[3]!
  if (b.length < 4 + 4 * ndim) return false
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let count = 1n
  for (let i = 0; i < ndim; i++) count *= BigInt(view.getUint32(4 + 4 * i, false))
  return BigInt(b.length) === BigInt(4 + 4 * ndim) + count * BigInt(WIDTH[b[2]!]!)
}

let seeds: { name: string; bytes: Uint8Array }[] = []
// A .gz of 10 labels followed by 80 MB of zeros: 80 KB that must not inflate to 80 MB.
let bomb = new Uint8Array(0)
const pick = <T>(rng: Generator, xs: readonly T[]): T => xs[rng.int(xs.length)]!

type Mutation = (rng: Generator, b: Uint8Array) => { what: string; bytes: Uint8Array }

const mutations: Mutation[] = [
  (rng, b) => {
    const out = b.slice()
    const at: number[] = []
    for (let i = 1 + rng.int(4); i > 0; i--) {
      // Half the flips in the header, where they change the meaning.
      const k = rng.int(2) === 0 ? rng.int(Math.min(out.length, 16)) : rng.int(out.length)
      out[k] ^= 1 << rng.int(8)
      at.push(k)
    }
    return { what: `bit flips at ${at.join(',')}`, bytes: out }
  },
  (rng, b) => {
    const len = rng.int(b.length)
    return { what: `truncated to ${len} of ${b.length} bytes`, bytes: b.slice(0, len) }
  },
  (rng, b) => {
    const k = 1 + rng.int(32)
    const out = new Uint8Array(b.length + k)
    out.set(b)
    return { what: `extended by ${k} zero bytes`, bytes: out }
  },
  (rng, b) => {
    const code = pick(rng, [0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff])
    const out = b.slice()
    out[2] = code
    return { what: `type byte set to 0x${code.toString(16)}`, bytes: out }
  },
  (rng, b) => {
    const ndim = pick(rng, [0, 1, 2, 3, 4, 31, 32, 33, 34, 64, 255])
    const out = b.slice()
    out[3] = ndim
    return { what: `number of dimensions set to ${ndim}`, bytes: out }
  },
  (rng, b) => {
    // A size rewritten to an edge value; the data left as it was.
    const ndim = b[3]!
    if (ndim === 0) return { what: 'magic bytes set to 0x08 0x03', bytes: Uint8Array.from([8, 3, ...b.subarray(2)]) }
    const i = rng.int(ndim)
    const size = pick(rng, [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, rng.int(2 ** 32)])
    const out = b.slice()
    new DataView(out.buffer).setUint32(4 + 4 * i, size, false)
    return { what: `size of dimension ${i} set to ${size}`, bytes: out }
  },
  (rng, b) => {
    // The header: many sizes of 0xffffffff and one 0 (a NaN count in doubles).
    const ndim = pick(rng, [3, 8, 16, 32, 33, 34, 40, 255])
    const out = new Uint8Array(4 + 4 * ndim + rng.int(8))
    out.set(b.subarray(0, 3))
    out[3] = ndim
    const view = new DataView(out.buffer)
    const zero = rng.int(ndim)
    for (let i = 0; i < ndim; i++) view.setUint32(4 + 4 * i, i === zero ? 0 : 0xffffffff, false)
    return { what: `${ndim} sizes of 0xffffffff with a 0 at dimension ${zero}`, bytes: out }
  },
]

const target: FuzzTarget = {
  name: 'idx',
  setup(dir) {
    const pixels = Array.from({ length: 2 * 28 * 28 }, (_, k) => (k * 7) % 256)
    seeds = [
      { name: 'labels uint8 [10]', bytes: encodeIdx(0x08, [10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]) },
      { name: 'images uint8 [2,28,28]', bytes: encodeIdx(0x08, [2, 28, 28], pixels) },
      { name: 'int8 [2,2]', bytes: encodeIdx(0x09, [2, 2], [-128, -1, 0, 127]) },
      { name: 'int16 [3,2]', bytes: encodeIdx(0x0b, [3, 2], [-32768, -2, 258, 32767, 0, 1]) },
      { name: 'int32 [4]', bytes: encodeIdx(0x0c, [4], [-2147483648, -3, 16909060, 2147483647]) },
      { name: 'float32 [2,2,2]', bytes: encodeIdx(0x0d, [2, 2, 2], [-1.5, 0.25, 3e10, 1e-20, 0, -0, NaN, Infinity]) },
      { name: 'float64 [3]', bytes: encodeIdx(0x0e, [3], [Math.PI, -1e300, 5e-324]) },
      { name: 'empty uint8 [0,5]', bytes: encodeIdx(0x08, [0, 5], []) },
      { name: 'scalar float64 []', bytes: encodeIdx(0x0e, [], [2.5]) },
    ]
    for (const [i, s] of seeds.entries()) fs.writeFileSync(path.join(dir, `seed-${i}.idx`), s.bytes)
    const inflated = new Uint8Array(18 + 80 * 2 ** 20)
    inflated.set(seeds[0]!.bytes)
    bomb = new Uint8Array(gzipSync(inflated))
    fs.writeFileSync(path.join(dir, 'bomb.gz'), bomb)
  },
  makeCase(rng, dir, index): FuzzCase {
    const seed = pick(rng, seeds)
    const m = pick(rng, mutations)(rng, seed.bytes)
    const how = rng.int(16)
    const file = path.join(dir, `case-${index % 16}${how === 1 ? '.gz' : ''}`)
    const malformed = !wellFormed(m.bytes)
    if (how === 3) {
      // The gzip bomb, whole or with its stream cut or flipped.
      const cut = rng.int(3) === 0 ? rng.int(bomb.length) : bomb.length
      const gz = bomb.slice(0, cut)
      if (rng.int(3) === 0) gz[rng.int(gz.length)] ^= 1 << rng.int(8)
      return {
        what: `a .gz of 18 bytes of IDX and 80 MB of zeros, cut to ${cut} of ${bomb.length} bytes, maybe one bit flipped`,
        malformed: true,
        bytes: gz.length,
        run() {
          fs.writeFileSync(`${file}.gz`, gz)
          return readIdxFile(`${file}.gz`)
        },
      }
    }
    if (how === 2) {
      // A directory where the file should be.
      return {
        what: `${seed.name}: a directory at the file's path`,
        malformed: true,
        bytes: 0,
        run() {
          fs.rmSync(file, { recursive: true, force: true })
          fs.mkdirSync(file)
          return readIdxFile(file)
        },
      }
    }
    return {
      what: `${seed.name}: ${m.what}${how === 0 ? ' (readIdxFile)' : how === 1 ? ' (readIdxFile, gzipped)' : ''}`,
      malformed,
      bytes: m.bytes.length,
      run() {
        if (how > 1) return parseIdx(m.bytes, `fuzz-${index}`)
        fs.rmSync(file, { recursive: true, force: true })
        fs.writeFileSync(file, how === 1 ? new Uint8Array(gzipSync(m.bytes)) : m.bytes)
        return readIdxFile(file)
      },
    }
  },
  // The reader throws plain Errors that start with its function's name.
  isNamedError: (err) => err instanceof Error && err.constructor === Error && /^(parseIdx|readIdxFile): /.test(err.message),
}

export default target
