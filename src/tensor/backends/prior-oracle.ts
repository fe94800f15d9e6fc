// The kernels' oracle: the arithmetic of one sampling experiment of the dynamic prior in plain JS,
// written to give exactly the bits of the WebAssembly kernels in ./wasm/prior-kernels.ts (float32
// arithmetic emulated with Math.fround: for +, -, * of float32 values, rounding the exact-or-float64
// result once more to float32 gives the correctly rounded float32 result). The kernels are tested
// against it bit for bit, and the reference backend's sampling passes (./prior-passes.ts) run it,
// so training gives the same bits on every backend. It is NOT the readable definition of
// Algorithm 1: that is src/regularizers/dynamic-prior-reference.ts (float64, Math.exp).
//
//   p_j  = temperature(c0 + step*j)                       the keyed stream of ../counter-random.ts
//   e_j  = exp(fround(p_j * f_j) - M)                     M >= every p_j f_j, so e_j <= 1
//          (expf, or expShort when every exponent is within a short polynomial's span of 0)
//   Z    = sum_j e_j         float32 lanes per block of 256, float64 per chunk, chunks in order
//   P'_j = fround(A e_j) + fround(B e'_j)                 A = alpha/Z, B = (1-alpha)/Z'  (Eq. 5)
import { EXPECTED_SERIES, EXPF, PRIOR_BLOCK, PRIOR_CHUNK, shortExp, type PriorExpVariant, type ShortDegree } from './wasm/prior-kernels.js'
import { temperature, type SamplingKeys, type TemperatureBits } from '../counter-random.js'

const fr = Math.fround
const bits = new Int32Array(1)
const asFloat = new Float32Array(bits.buffer)

/** The bit pattern of x rounded to float32, as an int32 (how the kernels take float arguments). @example float32Bits(1) // 0x3f800000 */
export function float32Bits(x: number): number {
  asFloat[0] = x
  return bits[0]!
}

/** The float32 with the given bit pattern (the inverse of float32Bits). @example floatOfBits(0x3f800000) // 1 */
export function floatOfBits(b: number): number {
  bits[0] = b
  return asFloat[0]!
}

// WASM's f32x4.nearest: round half to even
function nearestEven(x: number): number {
  const r = Math.round(x)
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** exp(t) for float32 t <= 0 exactly as the kernel computes it (Cephes expf, see EXPF). @example expf(-1) // 0.36787945... */
export function expf(t: number): number {
  t = Math.max(t, EXPF.min)
  const k = nearestEven(fr(t * fr(EXPF.log2e)))
  let r = fr(t - fr(k * fr(EXPF.ln2hi)))
  r = fr(r - fr(k * fr(EXPF.ln2lo)))
  const [p0, ...rest] = EXPF.poly
  let q = fr(p0!)
  for (const c of rest) q = fr(fr(q * r) + fr(c))
  const y = fr(fr(fr(q * fr(r * r)) + r) + 1)
  bits[0] = (k + 127) << 23
  return fr(y * asFloat[0]!)
}

/** exp(t) for t in [-span, 0] as the kernel computes it: the short polynomial of that degree (SHORT_EXPS) by Horner. @example expShort(-0.01, 3) */
export function expShort(t: number, degree: ShortDegree): number {
  return horner(t, shortExp(degree))
}

// c0 + t (c1 + t (c2 + ...)) in float32, the highest coefficient first
function horner(t: number, c: readonly number[]): number {
  let q = fr(c[c.length - 1]!)
  for (let i = c.length - 2; i >= 0; i--) q = fr(fr(q * t) + fr(c[i]!))
  return q
}

/**
 * Pass 1 in JS: for j in [0, n), ea[j] = exp(fround(p_j fa[j]) - m1) and, with fb, eb[j] the same
 * with m2, and into `sums` (slot arrays*q + a for chunk q) the chunk sums in the kernel's order.
 * All arrays float32; `bits`: the temperatures' random bits (counter-random.ts).
 * @example expPass(fa, null, ea, null, n, 0, 1, keys, m, 0, { arrays: 1, degree: 5 }, sums)
 */
export function expPass(fa: Float32Array, fb: Float32Array | null, ea: Float32Array, eb: Float32Array | null, n: number, c0: number, step: number,
  keys: SamplingKeys, m1: number, m2: number, v: PriorExpVariant, sums: Float64Array, bits: TemperatureBits = 24): void {
  // (the coefficients looked up once, not per entry)
  const c = v.degree === 0 ? null : shortExp(v.degree)
  const exp = c ? (t: number) => horner(t, c) : expf
  const lanes = [[0, 0, 0, 0], [0, 0, 0, 0]]
  const blocks = [[0, 0, 0, 0], [0, 0, 0, 0]]
  for (let cs = 0; cs < n; cs += PRIOR_CHUNK) {
    for (const l of lanes) l.fill(0)
    const cend = Math.min(n, cs + PRIOR_CHUNK)
    for (let bs = cs; bs < cend; bs += PRIOR_BLOCK) {
      for (const b of blocks) b.fill(0)
      for (let j = bs; j < Math.min(cend, bs + PRIOR_BLOCK); j++) {
        const p = temperature((c0 + step * j) >>> 0, keys.k1, keys.k2, bits)
        const a = exp(fr(fr(p * fa[j]!) - m1))
        ea[j] = a
        blocks[0]![j & 3] = fr(blocks[0]![j & 3]! + a)
        if (fb && eb) {
          const b = exp(fr(fr(p * fb[j]!) - m2))
          eb[j] = b
          blocks[1]![j & 3] = fr(blocks[1]![j & 3]! + b)
        }
      }
      for (let a = 0; a < 2; a++) for (let l = 0; l < 4; l++) lanes[a]![l]! += blocks[a]![l]!
    }
    for (let a = 0; a < v.arrays; a++) {
      const l = lanes[a]!
      sums[v.arrays * (cs / PRIOR_CHUNK) + a] = l[0]! + l[1]! + (l[2]! + l[3]!)
    }
  }
}

/**
 * The pruned sweep in JS (the kernel priorPruned): for each vector of 4 entries from 0, the
 * temperatures and t = fround(p f) (and t' for fb); where some entry of the vector has t >= ta (or
 * t' >= tb), the exps of expPass, P' = fround(A e) + fround(B e') (e' = e with one array) and each
 * entry with P' >= L written to values/idx in index order. Returns their number.
 * @example prunedPass(fa, fb, n, 0, 1, keys, m1, m2, variant, A, B, L, ta, tb, values, idx, 24)
 */
export function prunedPass(fa: Float32Array, fb: Float32Array | null, n: number, c0: number, step: number, keys: SamplingKeys, m1: number, m2: number,
  v: PriorExpVariant, A: number, B: number, L: number, ta: number, tb: number, values: Float32Array, idx: Int32Array, bits: TemperatureBits = 24): number {
  const c = v.degree === 0 ? null : shortExp(v.degree)
  const exp = c ? (t: number) => horner(t, c) : expf
  const ua = [0, 0, 0, 0]
  const ub = [0, 0, 0, 0]
  let count = 0
  for (let j0 = 0; j0 < n; j0 += 4) {
    const end = Math.min(n, j0 + 4)
    let any = false
    for (let j = j0; j < end; j++) {
      const p = temperature((c0 + step * j) >>> 0, keys.k1, keys.k2, bits)
      ua[j - j0] = fr(p * fa[j]!)
      if (ua[j - j0]! >= ta) any = true
      if (fb) {
        ub[j - j0] = fr(p * fb[j]!)
        if (ub[j - j0]! >= tb) any = true
      }
    }
    if (!any) continue
    for (let j = j0; j < end; j++) {
      const e = exp(fr(ua[j - j0]! - m1))
      const e2 = fb ? exp(fr(ub[j - j0]! - m2)) : e
      const P = fr(fr(A * e) + fr(B * e2))
      if (P >= L) {
        values[count] = P
        idx[count++] = j
      }
    }
  }
  return count
}

/**
 * The sum of g(f) = (exp(f) - 1) / f over the scores f[0..n4) as the kernel priorRange computes
 * it (EXPECTED_SERIES for |f| <= 1/2, float32; lanes j mod 4 in two float64 pairs, in index order).
 * @example expectedSum(Float32Array.of(0, 0.1, 0, 0), 4)
 */
export function expectedSum(f: Float32Array, n4: number): number {
  const lanes = [0, 0, 0, 0]
  const c = [...EXPECTED_SERIES].reverse()
  for (let j = 0; j < n4; j++) {
    const x = f[j]!
    let g: number
    if (Math.abs(x) <= 0.5) {
      g = fr(c[0]!)
      for (const k of c.slice(1)) g = fr(fr(g * x) + k)
    } else {
      g = fr(fr(expf(x) - 1) / x)
    }
    lanes[j & 3]! += g
  }
  return lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!)
}

/** Z = the chunk sums of one slot added in chunk order. @example const z = chunkTotal(sums, n, 2, 0) */
export function chunkTotal(sums: Float64Array, n: number, arrays: number, slot: number): number {
  let z = 0
  for (let q = 0; q * PRIOR_CHUNK < n; q++) z += sums[arrays * q + slot]!
  return z
}

/** P'[j] = fround(A ea[j]) + fround(B eb[j]) in float32 (pass 2's score, before the comparison). @example mixPass(ea, eb, n, A, B, out) */
export function mixPass(ea: Float32Array, eb: Float32Array, n: number, A: number, B: number, out: Float32Array): void {
  for (let j = 0; j < n; j++) out[j] = fr(fr(A * ea[j]!) + fr(B * eb[j]!))
}

/** The largest float32 <= x (so that `P >= result` keeps every float32 P > x). @example floatBelow(0.1) */
export function floatBelow(x: number): number {
  const f = fr(x)
  if (f <= x || !Number.isFinite(f)) return f === Infinity && x !== Infinity ? 3.4028234663852886e38 : f
  asFloat[0] = f
  bits[0] += f > 0 ? -1 : 1
  return f === 0 ? -(2 ** -149) : asFloat[0]!
}
