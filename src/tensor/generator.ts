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
    // NOTE: the seed is used as a string; NaN or an object would silently become 'NaN' or '[object Object]'.
    if (typeof seed !== 'string' && (typeof seed !== 'number' || !Number.isFinite(seed))) {
      throw new Error(`Generator: seed must be a finite number or a string, got ${typeof seed === 'number' ? seed : seed === null ? 'null' : typeof seed}`)
    }
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

  /**
   * Restore a snapshot taken with {@link Generator.state}. The state is checked first (see
   * `checkGeneratorState`); a bad one throws and leaves this generator unchanged.
   * @example g.setState(s)
   */
  setState(state: GeneratorState): this {
    checkGeneratorState(state, 'Generator.setState')
    this.seedValue = state.seed
    this.prng = seedrandom.alea('', { state: { ...state.prng } })
    return this
  }
}

// NOTE: alea's registers have invariants: s0, s1, s2 are multiples of 2^-32 in [0, 1) (mash
// returns such numbers and every step keeps them), and the carry c is an integer in
// [0, 2091639) (the integer part of 2091639 * s0 + c * 2^-32). A state outside them is not one
// alea can reach: 1e400 (Infinity after JSON.parse) would make uniform() return Infinity forever.
const ALEA_MULTIPLIER = 2091639
const TWO_POW_32 = 2 ** 32

// A short rendering of a value for error messages (never calls a user-controlled toString).
const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v === 'number' ? String(v) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v

/** Why `state` is not a reachable alea state (null when it is one). */
function generatorStateProblem(state: unknown): string | null {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return `expected {seed, prng: {c, s0, s1, s2}}, got ${show(state)}`
  const { seed, prng } = state as Record<string, unknown>
  const extra = Object.keys(state).filter((k) => k !== 'seed' && k !== 'prng')
  if (extra.length > 0) return `unknown key ${show(extra[0])} (expected seed, prng)`
  if (!(typeof seed === 'string' || (typeof seed === 'number' && Number.isFinite(seed)))) return `seed must be a finite number or a string, got ${show(seed)}`
  if (typeof prng !== 'object' || prng === null || Array.isArray(prng)) return `expected {seed, prng: {c, s0, s1, s2}}, prng is ${show(prng)}`
  const r = prng as Record<string, unknown>
  const unknown = Object.keys(r).filter((k) => !['c', 's0', 's1', 's2'].includes(k))
  if (unknown.length > 0) return `prng has unknown key ${show(unknown[0])} (expected c, s0, s1, s2)`
  const c = r['c']
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= ALEA_MULTIPLIER) return `prng.c must be an integer in [0, ${ALEA_MULTIPLIER}), got ${show(c)}`
  for (const k of ['s0', 's1', 's2']) {
    const v = r[k]
    if (typeof v !== 'number' || !(v >= 0 && v < 1) || !Number.isInteger(v * TWO_POW_32)) return `prng.${k} must be a multiple of 2^-32 in [0, 1), got ${show(v)}`
  }
  return null
}

/**
 * Throw unless `state` is a state {@link Generator.setState} accepts (an alea state it can reach);
 * the error starts with `where`.
 * @example checkGeneratorState(JSON.parse(text).generators.data, 'loadCheckpoint(state.json): generator "data"')
 */
export function checkGeneratorState(state: unknown, where: string): asserts state is GeneratorState {
  const problem = generatorStateProblem(state)
  if (problem !== null) throw new Error(`${where}: ${problem}`)
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
