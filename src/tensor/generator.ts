// Seeded randomness. Every random draw in priorgrad goes through a Generator, so the
// same seed gives the same bits: weights, dropout masks, shuffles, regularizer masks.
// NOTE: the default seed is fixed (0), never the clock; seed 0 is a valid seed.
import seedrandom from 'seedrandom'

/** The exportable state of a {@link Generator}: the seed it started from and the PRNG registers. */
export interface GeneratorState {
  seed: number | string
  prng: seedrandom.State.Alea
}

/**
 * A seeded pseudo-random generator (seedrandom's `alea`) with exportable state.
 * @example const g = new Generator(42); g.uniform() // same number on every run
 */
export class Generator {
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>
  private seedValue: number | string

  constructor(seed: number | string = 0) {
    this.seedValue = seed
    this.prng = seedrandom.alea(String(seed), { state: true })
  }

  /** The seed this generator was last seeded with. */
  get seed(): number | string {
    return this.seedValue
  }

  /** Reseed in place. @example g.manualSeed(1) */
  manualSeed(seed: number | string): this {
    this.seedValue = seed
    this.prng = seedrandom.alea(String(seed), { state: true })
    return this
  }

  /** A float in [0, 1) with 53 random bits. @example g.uniform() */
  uniform(): number {
    return this.prng.double()
  }

  /** A standard normal draw (Box-Muller; one pair of uniforms per draw, so state stays simple). @example g.normal() */
  normal(): number {
    // NOTE: 1 - u lies in (0, 1], so the log is finite.
    const u1 = 1 - this.prng.double()
    const u2 = this.prng.double()
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  }

  /** An integer in [0, n). @example g.int(10) */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Generator.int: n must be a positive integer, got ${n}`)
    return Math.floor(this.prng.double() * n)
  }

  /** Fisher-Yates permutation of 0..n-1. @example g.permutation(5) // e.g. Int32Array [3,0,4,1,2] */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n)
    for (let i = 0; i < n; i++) p[i] = i
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.prng.double() * (i + 1))
      const t = p[i]!
      p[i] = p[j]!
      p[j] = t
    }
    return p
  }

  /** A snapshot that {@link Generator.setState} restores exactly. @example const s = g.state() */
  state(): GeneratorState {
    return { seed: this.seedValue, prng: { ...this.prng.state() } }
  }

  /** Restore a snapshot taken with {@link Generator.state}. @example g.setState(s) */
  setState(state: GeneratorState): this {
    const r = state?.prng
    if (!r || !['c', 's0', 's1', 's2'].every((k) => typeof (r as Record<string, unknown>)[k] === 'number')) {
      throw new Error(`Generator.setState: expected {seed, prng: {c, s0, s1, s2}}, got ${JSON.stringify(state)}`)
    }
    this.seedValue = state.seed
    this.prng = seedrandom.alea('', { state: { ...r } })
    return this
  }
}

let globalGenerator = new Generator(0)

/** The generator used when a random function is given none. @example defaultGenerator().uniform() */
export function defaultGenerator(): Generator {
  return globalGenerator
}

/** Seed the global generator. @example manualSeed(0); randn([2, 2]) // same values every run */
export function manualSeed(seed: number | string): Generator {
  globalGenerator = new Generator(seed)
  return globalGenerator
}
