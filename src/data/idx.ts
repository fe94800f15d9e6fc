// IDX reader (the format of the original MNIST files, LeCun et al.).
// Layout: bytes 0-1 are zero, byte 2 is the element type, byte 3 the number of dimensions d;
// then d big-endian uint32 sizes; then prod(sizes) big-endian elements in row-major order.
import { readFileSync, statSync } from 'node:fs'
import { constants as bufferConstants } from 'node:buffer'
import { constants as zlibConstants, gunzipSync, type ZlibOptions } from 'node:zlib'

/**
 * The element types an IDX file can declare, by their type byte.
 * @example IDX_TYPES[0x08] // 'uint8'
 */
export const IDX_TYPES = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
} as const

/** An IDX element type name. */
export type IdxDtype = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]
/** The elements of an IDX file, in the typed array of its element type. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array

/** A parsed IDX file: its dimensions, element type and elements in row-major order. */
export interface IdxArray {
  shape: number[]
  dtype: IdxDtype
  data: IdxData
}

const BYTES: Record<IdxDtype, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }
// NOTE: the format allows 255 dimensions; numpy's long-standing limit of 32 is far above any real
// IDX file (MNIST has 1 or 3) and keeps a corrupt byte 3 from declaring hundreds of sizes.
const MAX_DIMS = 32

/**
 * Parse the bytes of an IDX file. `source` (usually the path) is only used in error messages.
 * NOTE: uint8/int8 data is a view on `bytes` (no copy: MNIST's 47 MB stays one buffer);
 * wider types are decoded from big-endian into a fresh native-endian array.
 * @example parseIdx(readFileSync('train-labels-idx1-ubyte'), 'train-labels-idx1-ubyte').shape // [60000]
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const fail = (msg: string): never => {
    throw new Error(`parseIdx: ${source}: ${msg}`)
  }
  const { dtype, shape, headerEnd, count, dataBytes: expected } = readHeader(bytes, fail)
  const found = bytes.length - headerEnd
  if (found < expected) {
    fail(`truncated at offset ${headerEnd}: expected ${expected} bytes of ${dtype} data for shape [${shape.join(',')}], found ${found}`)
  }
  if (found > expected) {
    fail(`${found - expected} unexpected trailing bytes at offset ${headerEnd + expected} after data of shape [${shape.join(',')}]`)
  }
  return { shape, dtype, data: decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), headerEnd, count, dtype) }
}

/** The header of an IDX file (magic, type, sizes) and the byte count of the data it declares. */
function readHeader(bytes: Uint8Array, fail: (msg: string) => never): { dtype: IdxDtype; shape: number[]; headerEnd: number; count: number; dataBytes: number } {
  if (bytes.length < 4) fail(`truncated at offset 0: expected 4 bytes of header, found ${bytes.length}`)
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`bad magic at offset 0: expected bytes 0x00 0x00, found 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)} (not an IDX file?)`)
  }
  const dtype = IDX_TYPES[bytes[2] as keyof typeof IDX_TYPES]
  if (dtype === undefined) {
    fail(`unknown element type 0x${hex(bytes[2]!)} at offset 2: expected one of ${Object.keys(IDX_TYPES).map((k) => '0x' + hex(Number(k))).join(', ')}`)
  }
  const ndim = bytes[3]!
  if (ndim > MAX_DIMS) fail(`${ndim} dimensions declared at offset 3: expected at most ${MAX_DIMS}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerEnd = 4 + 4 * ndim
  if (bytes.length < headerEnd) {
    fail(`truncated at offset 4: expected ${4 * ndim} bytes of dimension sizes (${ndim} dims), found ${bytes.length - 4}`)
  }
  const shape: number[] = []
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false))
  // NOTE: exact arithmetic: in doubles, 34 sizes of 0xffffffff and one 0 made the count
  // Infinity * 0 = NaN, which passed both size checks of parseIdx. Every prefix of the count must
  // stay an exact double (at most 2^53 - 1), checked before a later 0 can hide it.
  let exact = 1n
  for (let i = 0; i < ndim; i++) {
    exact *= BigInt(shape[i]!)
    if (exact > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(`the sizes of dimensions 0..${i} of shape [${shape.join(',')}] multiply to ${exact} elements, above 2^53 - 1`)
    }
  }
  const count = Number(exact)
  return { dtype: dtype!, shape, headerEnd, count, dataBytes: count * BYTES[dtype!] }
}

function decode(view: DataView, at: number, n: number, dtype: IdxDtype): IdxData {
  const base = view.byteOffset + at
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer, base, n)
    case 'int8':
      return new Int8Array(view.buffer, base, n)
    case 'int16': {
      const out = new Int16Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, false)
      return out
    }
    case 'int32': {
      const out = new Int32Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, false)
      return out
    }
    case 'float32': {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, false)
      return out
    }
    case 'float64': {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, false)
      return out
    }
  }
}

/**
 * Read and parse an IDX file; a path ending in `.gz` is gunzipped first.
 * @example readIdxFile('data/t10k-images-idx3-ubyte.gz').shape // [10000, 28, 28]
 */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array
  try {
    // NOTE: only regular files: a FIFO would block the read, /dev/zero would never end.
    const stat = statSync(path)
    if (stat.isDirectory()) throw new Error(`readIdxFile: ${path} is a directory, not an IDX file`)
    if (!stat.isFile()) throw new Error(`readIdxFile: ${path} is not a regular file (a device, FIFO or socket?)`)
    bytes = asBytes(readFileSync(path))
  } catch (e) {
    if ((e as Error).message.startsWith('readIdxFile: ')) throw e
    throw new Error(`readIdxFile: cannot read ${path}: ${(e as Error).message}`)
  }
  if (path.endsWith('.gz')) bytes = gunzipIdx(bytes, path)
  return parseIdx(bytes, path)
}

/**
 * Gunzip an IDX file no further than its header says: the header is inflated from the first
 * compressed bytes, then the whole file with the declared size as the limit, so a small .gz that
 * inflates to gigabytes is refused by name instead of taking the memory.
 */
function gunzipIdx(gz: Uint8Array, path: string): Uint8Array {
  const fail = (msg: string): never => {
    throw new Error(`readIdxFile: ${path}: ${msg}`)
  }
  // The inflated bytes, or null when they would exceed opts.maxOutputLength.
  const inflate = (input: Uint8Array, opts: ZlibOptions): Uint8Array | null => {
    try {
      return asBytes(gunzipSync(input, opts))
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      return err.code === 'ERR_BUFFER_TOO_LARGE' ? null : fail(`not a valid gzip file: ${err.message}`)
    }
  }
  // The header from growing prefixes of the file (a gzip header may carry a long file name),
  // each inflated to at most 16 MB (deflate inflates at most ~1032x).
  let head: Uint8Array | null
  for (let k = 1024; ; k *= 2) {
    head = inflate(gz.subarray(0, k), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 16 * 2 ** 20 })
    if (head === null) return fail(`its first ${k} compressed bytes inflate to more than 16 MB before the IDX header ends`)
    if ((head.length >= 4 && head.length >= 4 + 4 * head[3]!) || k >= gz.length) break
  }
  const { headerEnd, dataBytes } = readHeader(head, fail)
  const declared = headerEnd + dataBytes
  if (declared > bufferConstants.MAX_LENGTH) fail(`its header declares ${declared} bytes, more than a Buffer holds (${bufferConstants.MAX_LENGTH})`)
  return (
    inflate(gz, { maxOutputLength: declared }) ??
    fail(`inflates to more than the ${declared} bytes its header declares (${headerEnd} of header and ${dataBytes} of data)`)
  )
}

/** A plain Uint8Array view of a Node Buffer (same memory). */
export function asBytes(buf: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0')
}
