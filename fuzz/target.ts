// The contract between the fuzz harness (fuzz/harness.ts) and one reader under test
// (fuzz/targets/<name>.ts, one file per reader, each default-exporting a FuzzTarget).
// A case is a pure function of (seed, index): the harness can rebuild case i in a worker
// thread, run it under a time and memory watchdog, and a failure reproduces from its index.
import type { Generator } from '../src/tensor/generator.js'

/** How one case ended. */
export type Outcome =
  | 'named-error' // the library rejected the input with its own message (the goal for malformed input)
  | 'valid' // the library accepted input that may legitimately be valid
  | 'silent-acceptance' // the library accepted input the case knows to be malformed
  | 'other-exception' // a raw TypeError/RangeError/ENOENT..., not the library's own error
  | 'hang' // exceeded the harness's time limit
  | 'memory' // exceeded the harness's memory limit

/** One mutated input and how to feed it to the library. */
export interface FuzzCase {
  /** One line saying what was mutated (shown for failures, so a reader can reproduce them). */
  what: string
  /**
   * true when the mutation is known to make the input malformed (accepting it is a silent
   * acceptance); false or absent when the mutated input may still be valid (e.g. a flipped data byte).
   */
  malformed?: boolean
  /** Size in bytes of the input, for the memory bound (memory must stay under 4x of it plus a base). */
  bytes: number
  /** Read the input with the library; resolve when accepted, throw when rejected. */
  run(): unknown | Promise<unknown>
}

/** One reader under test. */
export interface FuzzTarget {
  /** Short name used by `npm run fuzz -- --target NAME` and in the report, e.g. 'safetensors'. */
  name: string
  /** Write valid seed inputs into `dir` with the library's own writers (called once per process). */
  setup(dir: string): void | Promise<void>
  /** Build case `index` under `dir` (a fresh subfolder per case is fine); use only `rng` for randomness. */
  makeCase(rng: Generator, dir: string, index: number): FuzzCase | Promise<FuzzCase>
  /** Whether `err` is the library's own, named error for this reader (not a raw runtime exception). */
  isNamedError(err: unknown): boolean
}
