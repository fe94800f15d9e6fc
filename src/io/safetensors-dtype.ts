// The safetensors dtypes priorgrad reads and writes, and the conversions between their
// little-endian bytes and JS typed arrays. F16 and BF16 widen exactly to float32.

/** Element types of a safetensors file that priorgrad understands. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL'

/** Arrays that `encodeSafetensors` accepts (I64 may be given as Int32Array and is sign-extended). */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array

/** Arrays that `decodeSafetensors` returns. */
export type DecodedData = TensorData | Int16Array | Int8Array

// `rank` is the position in the reference library's dtype enum (increasing alignment); writers
// order tensors by descending rank, then name, so every tensor starts aligned to its item size.
export const DTYPE_INFO: Readonly<Record<SafetensorsDType, { size: number; rank: number }>> = {
  BOOL: { size: 1, rank: 0 },
  U8: { size: 1, rank: 1 },
  I8: { size: 1, rank: 2 },
  I16: { size: 2, rank: 5 },
  F16: { size: 2, rank: 7 },
  BF16: { size: 2, rank: 8 },
  I32: { size: 4, rank: 9 },
  F32: { size: 4, rank: 11 },
  F64: { size: 8, rank: 12 },
  I64: { size: 8, rank: 13 },
}

export function isKnownDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_INFO, d)
}

// NOTE: typed arrays use the host byte order and the format is little-endian. Every current Node
// platform except s390x is little-endian; rather than ship an untested byte-swap path, refuse.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export function assertLittleEndianHost(fn: string): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error(`${fn}: safetensors I/O needs a little-endian host`)
}

/** IEEE half (binary16) bits to a number; exact, so storing it in a Float32Array loses nothing. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24 // zero and subnormals
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN
  return sign * (1024 + frac) * 2 ** (exp - 25)
}

/** How I64 tensors are decoded: checked narrowing to Int32Array, or exact BigInt64Array. */
export type I64Mode = 'int32' | 'bigint'

/**
 * View `raw` (a fresh, offset-0 copy of one tensor's bytes) as `dtype`. Throws a plain message
 * (the caller adds source and key) when I64 values do not fit int32 in 'int32' mode.
 */
export function bytesToArray(raw: Uint8Array, dtype: SafetensorsDType, i64: I64Mode): DecodedData {
  const buf = raw.buffer as ArrayBuffer
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf)
    case 'F32':
      return new Float32Array(buf)
    case 'I32':
      return new Int32Array(buf)
    case 'I16':
      return new Int16Array(buf)
    case 'I8':
      return new Int8Array(buf)
    case 'U8':
    case 'BOOL':
      return raw
    case 'F16': {
      const half = new Uint16Array(buf)
      const out = new Float32Array(half.length)
      for (let i = 0; i < half.length; i++) out[i] = halfToNumber(half[i])
      return out
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits up is exact, NaN payloads included.
      const half = new Uint16Array(buf)
      const out = new Float32Array(half.length)
      const bits = new Uint32Array(out.buffer)
      for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16
      return out
    }
    case 'I64': {
      if (i64 === 'bigint') return new BigInt64Array(buf)
      const words = new Int32Array(buf) // [lo, hi] pairs
      const out = new Int32Array(words.length / 2)
      for (let i = 0; i < out.length; i++) {
        const lo = words[2 * i]
        // The value fits int32 exactly when the high word is the sign extension of the low word.
        if (words[2 * i + 1] !== lo >> 31) {
          const value = new BigInt64Array(buf)[i]
          throw new RangeError(`I64 value ${value} at index ${i} does not fit int32 (pass { i64: 'bigint' } to keep it)`)
        }
        out[i] = lo
      }
      return out
    }
  }
}

/** The typed array each writable dtype takes, for error messages and checks. */
const WRITE_ARRAY: Partial<Record<SafetensorsDType, string>> = {
  F64: 'Float64Array',
  F32: 'Float32Array',
  I32: 'Int32Array',
  I64: 'BigInt64Array or Int32Array',
  U8: 'Uint8Array',
  BOOL: 'Uint8Array of 0/1',
}

/**
 * The little-endian bytes of `data` stored as `dtype`, or a plain error message when the array
 * type does not fit the dtype.
 */
export function arrayToBytes(data: TensorData, dtype: SafetensorsDType): Uint8Array | string {
  const expected = WRITE_ARRAY[dtype]
  if (expected === undefined) {
    return `writing ${dtype} is not supported (writable: ${Object.keys(WRITE_ARRAY).join(', ')})`
  }
  const found = Object.prototype.toString.call(data).slice(8, -1)
  const ok =
    (dtype === 'F64' && data instanceof Float64Array) ||
    (dtype === 'F32' && data instanceof Float32Array) ||
    (dtype === 'I32' && data instanceof Int32Array) ||
    (dtype === 'I64' && (data instanceof BigInt64Array || data instanceof Int32Array)) ||
    ((dtype === 'U8' || dtype === 'BOOL') && data instanceof Uint8Array)
  if (!ok) return `dtype ${dtype} needs a ${expected}, found ${found}`
  if (dtype === 'BOOL') {
    const bad = (data as Uint8Array).findIndex((v) => v > 1)
    if (bad >= 0) return `BOOL data must be 0 or 1, found ${data[bad]} at index ${bad}`
  }
  if (dtype === 'I64' && data instanceof Int32Array) {
    const words = new Int32Array(2 * data.length)
    for (let i = 0; i < data.length; i++) {
      words[2 * i] = data[i]
      words[2 * i + 1] = data[i] >> 31
    }
    return new Uint8Array(words.buffer)
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
