// A counter-based uniform stream: the number at counter c depends only on (keys, c), so any
// entry's draw can be computed on its own, four SIMD lanes or two threads at a time, in any order.
// Used for the dynamic prior's temperatures p_j (Algorithm 1 line 4). The keys themselves come
// from the seeded Generator, so the whole stream is reproducible from one seed.
//
//   h(c) = lowbias32(k2 + k1 c)           (a Weyl sequence through Wellons' integer hash, as in
//                                           SplitMix; k1 odd, 32-bit wrapping arithmetic)
//   24 bits:  u(c) = (h(c) >>> 8) 2^-24                                       in [0, 1)
//   16 bits:  u(c) = (c even ? h(c/2) >>> 16 : h((c-1)/2) & 0xffff) 2^-16     two draws per hash
import type { Generator } from './generator.js'

/** Wellons' lowbias32 constants: x ^= x >>> 16; x *= mul1; x ^= x >>> 15; x *= mul2; x ^= x >>> 16. */
export const LOWBIAS32 = { shift1: 16, mul1: 0x7feb352d, shift2: 15, mul2: 0x846ca68b, shift3: 16 } as const

/** The two 32-bit keys of one stream (k1 odd). */
export interface SamplingKeys {
  k1: number
  k2: number
}

/** Bits of randomness per draw: 24 (one hash per draw) or 16 (two draws per hash). */
export type TemperatureBits = 24 | 16

/** Wellons' lowbias32 integer hash (a bijection on 32 bits). @example lowbias32(1) */
export function lowbias32(x: number): number {
  const L = LOWBIAS32
  x ^= x >>> L.shift1
  x = Math.imul(x, L.mul1)
  x ^= x >>> L.shift2
  x = Math.imul(x, L.mul2)
  x ^= x >>> L.shift3
  return x | 0
}

/**
 * The uniform number at counter c (0 <= c < 2^32) of the stream with keys (k1 odd, k2), in [0, 1),
 * carrying `bits` random bits.
 * @example temperature(0, 1, 2) // the same number on every machine
 */
export function temperature(c: number, k1: number, k2: number, bits: TemperatureBits = 24): number {
  if (bits === 24) return (lowbias32((k2 + Math.imul(k1, c)) | 0) >>> 8) * 2 ** -24
  const h = lowbias32((k2 + Math.imul(k1, c >>> 1)) | 0)
  return ((c & 1) === 0 ? h >>> 16 : h & 0xffff) * 2 ** -16
}

/** Two 32-bit keys from the seeded generator: all the randomness of one stream. @example drawKeys(new Generator(0)) */
export function drawKeys(gen: Generator): SamplingKeys {
  return { k1: Math.floor(gen.uniform() * 2 ** 32) | 1, k2: Math.floor(gen.uniform() * 2 ** 32) | 0 }
}
