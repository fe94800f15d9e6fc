// Bulk uniform draws from a Generator, bit-identical to calling `generator.uniform()` once per
// draw. The dynamic prior draws S*N temperatures per evaluation (4.2 million for cnn2 at S = 10):
// through the method call each draw costs ~30 ns here, inlined into the caller's loop ~10 ns, and
// the caller's other work on the entry runs in the shadow of the generator's dependency chain.
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
  private c: number
  private s0: number
  private s1: number
  private s2: number

  private constructor(
    private readonly generator: Generator,
    private readonly seed: number | string,
    prng: { c: number; s0: number; s1: number; s2: number },
  ) {
    this.c = prng.c
    this.s0 = prng.s0
    this.s1 = prng.s1
    this.s2 = prng.s2
  }

  static open(generator: Generator): AleaStream {
    const st = generator.state()
    return new AleaStream(generator, st.seed, st.prng)
  }

  /** The next uniform in [0, 1): two alea steps, 32 bits from the first and 21 from the second. */
  next(): number {
    let t = 2091639 * this.s0 + this.c * TWO_M32
    this.s0 = this.s1
    this.s1 = this.s2
    this.c = t | 0
    this.s2 = t - this.c
    const high = this.s2
    t = 2091639 * this.s0 + this.c * TWO_M32
    this.s0 = this.s1
    this.s1 = this.s2
    this.c = t | 0
    this.s2 = t - this.c
    return high + ((this.s2 * 0x200000) | 0) * TWO_M53
  }

  /** Write the registers back into the generator. */
  close(): void {
    this.generator.setState({ seed: this.seed, prng: { c: this.c, s0: this.s0, s1: this.s1, s2: this.s2 } })
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
  const end = start + count
  for (let i = start; i < end; i++) out[i] = stream.next()
  stream.close()
}
