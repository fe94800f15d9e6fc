// Bulk uniform draws from a Generator, bit-identical to calling `generator.uniform()` once per
// draw, for the loops that draw per entry from the generator itself: the projected cross-entropy's
// per-class temperatures and the bounds experiment's random vectors. Through the method call each
// draw costs ~30 ns here, inlined into the caller's loop ~10 ns. (The dynamic prior's S*N
// temperatures come from a counter-based hash keyed by the generator instead: src/tensor/counter-random.ts.)
// NOTE: AleaStream copies seedrandom's alea (lib/alea.js: `next` and `double`) and moves the
// registers in and out with Generator.state()/setState(), so the Generator stays the only source
// of randomness and a checkpointed state resumes the same stream. A test compares it with uniform().
import type { Generator } from '../tensor/generator.js'

const TWO_M32 = 2.3283064365386963e-10 // 2^-32
const TWO_M53 = 1.1102230246251565e-16 // 2^-53

/**
 * The generator's registers taken out for a hot loop: `next()` equals `generator.uniform()`.
 * Call `close()` to hand the registers back; draw nothing from the generator in between.
 * @example const st = AleaStream.open(gen); for (...) x[i] = st.next(); st.close()
 */
export class AleaStream {
  // NOTE: the registers live in a Float64Array, not in object fields: a double stored into a
  // field may be boxed as a heap number on every write, which made each draw ~10x slower.
  private readonly r: Float64Array

  private constructor(
    private readonly generator: Generator,
    private readonly seed: number | string,
    prng: { c: number; s0: number; s1: number; s2: number },
  ) {
    this.r = Float64Array.of(prng.c, prng.s0, prng.s1, prng.s2)
  }

  static open(generator: Generator): AleaStream {
    const st = generator.state()
    return new AleaStream(generator, st.seed, st.prng)
  }

  /** The next uniform in [0, 1): two alea steps, 32 bits from the first and 21 from the second. */
  next(): number {
    const r = this.r
    // r = [c, s0, s1, s2]
    let t = 2091639 * r[1]! + r[0]! * TWO_M32
    r[1] = r[2]!
    r[2] = r[3]!
    let c = t | 0
    const high = t - c
    t = 2091639 * r[1]! + c * TWO_M32
    r[1] = r[2]!
    r[2] = high
    c = t | 0
    const low = t - c
    r[0] = c
    r[3] = low
    return high + ((low * 0x200000) | 0) * TWO_M53
  }

  /** out[start .. start+count) <- the next `count` draws, with the registers in locals (the hot path). */
  fill(out: Float64Array, start: number, count: number): void {
    const r = this.r
    let c = r[0]!
    let s0 = r[1]!
    let s1 = r[2]!
    let s2 = r[3]!
    for (let i = start, end = start + count; i < end; i++) {
      let t = 2091639 * s0 + c * TWO_M32
      s0 = s1
      s1 = s2
      c = t | 0
      s2 = t - c
      const high = s2
      t = 2091639 * s0 + c * TWO_M32
      s0 = s1
      s1 = s2
      c = t | 0
      s2 = t - c
      out[i] = high + ((s2 * 0x200000) | 0) * TWO_M53
    }
    r[0] = c
    r[1] = s0
    r[2] = s1
    r[3] = s2
  }

  /** Write the registers back into the generator. */
  close(): void {
    const r = this.r
    this.generator.setState({ seed: this.seed, prng: { c: r[0]!, s0: r[1]!, s1: r[2]!, s2: r[3]! } })
  }
}

/**
 * Fill `out[start .. start+count)` with the next `count` values of `generator.uniform()`.
 * @example fillUniform(gen, new Float64Array(1000))
 */
export function fillUniform(generator: Generator, out: Float64Array, start = 0, count = out.length - start): void {
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= out.length)) {
    throw new Error(`fillUniform: range [${start}, ${start + count}) does not fit an array of length ${out.length}`)
  }
  const stream = AleaStream.open(generator)
  stream.fill(out, start, count)
  stream.close()
}
