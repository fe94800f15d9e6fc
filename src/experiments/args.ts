// Command-line flags for the priorgrad subcommands, on node:util parseArgs: every flag is a
// FlagSpec (name, value name, default, help), so the parser and the --help text come from the
// same list. Unknown flags and bad values become UsageErrors naming the flag (exit code 2).
import { parseArgs } from 'node:util'
import { OPTIONS, UsageError, defaultConfig, parseValue, resolveConfig, type ExperimentConfig } from './config.js'

export interface FlagSpec {
  /** Without the dashes, e.g. 'batch-size'. */
  flag: string
  /** Value name in --help ('N', 'DIR', 'adam|sgd'); absent for a boolean switch. */
  meta?: string
  help: string
  default?: string
}

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

/**
 * Parse `argv` against `flags` (plus --help). Throws UsageError for unknown flags, missing
 * values, or positionals when none are allowed.
 * @example parseFlags('report', ['runs/a', '--out', 'r'], [{ flag: 'out', meta: 'DIR', help: '' }], true)
 */
export function parseFlags(command: string, argv: string[], flags: FlagSpec[], allowPositionals = false): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } }
  for (const f of flags) options[f.flag] = { type: f.meta === undefined ? 'boolean' : 'string' }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const unknown = /Unknown option '([^']+)'/.exec(e.message)
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]}${suggest(unknown[1]!, flags)} (see priorgrad ${command} --help)`)
    const missing = /Option '(?:-\w, )?(--[^ ']+)[^']*' argument missing/.exec(e.message)
    if (missing) throw new UsageError(`${missing[1]} needs a value`)
    throw new UsageError(e.message)
  }
  if (!allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}' (flags start with --; see priorgrad ${command} --help)`)
  }
  return { values: parsed.values as ParsedFlags['values'], positionals: parsed.positionals }
}

function suggest(given: string, flags: FlagSpec[]): string {
  const bare = given.replace(/^-+/, '').toLowerCase().replace(/_/g, '-')
  const hit = flags.find((f) => f.flag.toLowerCase() === bare || f.flag.replace(/-/g, '') === bare.replace(/-/g, ''))
  return hit ? `; did you mean --${hit.flag}?` : ''
}

/**
 * The --help text: usage, description, then one line per flag with its default.
 * @example formatHelp('priorgrad report DIR...', 'Merge runs.', [{ flag: 'out', meta: 'DIR', help: 'where', default: 'DIR' }])
 */
export function formatHelp(usage: string, description: string, flags: FlagSpec[]): string {
  const left = flags.map((f) => `  --${f.flag}${f.meta ? ` ${f.meta}` : ''}`)
  const width = Math.min(44, Math.max(...left.map((l) => l.length)) + 2)
  const lines = flags.map((f, i) => {
    const l = left[i]!
    const text = f.help + (f.default === undefined ? '' : ` (default: ${f.default})`)
    return l.length + 1 > width ? `${l}\n${' '.repeat(width)}${text}` : `${l.padEnd(width)}${text}`
  })
  return [`Usage: ${usage}`, '', description, '', 'Flags:', ...lines, `  --help${' '.repeat(Math.max(1, width - 8))}show this help`, ''].join('\n')
}

/** The train flags: one per config field, plus --resume and --progress. */
export function trainFlags(): FlagSpec[] {
  const defaults = defaultConfig() as unknown as Record<string, unknown>
  const config: FlagSpec[] = OPTIONS.map((o) => {
    const d = defaults[o.key]
    return { flag: o.flag, meta: o.parse.meta, help: o.help, default: o.defaultText ?? (d === null ? o.nullWord! : String(d)) }
  })
  return [
    ...config,
    { flag: 'resume', meta: 'DIR', help: 'continue the run in DIR from its last checkpoint (only --epochs and --progress may be given with it)' },
    PROGRESS_FLAG,
  ]
}

export const PROGRESS_FLAG: FlagSpec = { flag: 'progress', meta: 'auto|bar|lines|none', help: 'progress display: a redrawn bar on a terminal, plain lines otherwise', default: 'auto' }

export const TRAIN_USAGE = 'priorgrad train [flags]   |   priorgrad train --resume DIR [--epochs N]'
export const TRAIN_DESCRIPTION =
  'Train one network and log metrics.jsonl, metrics.csv, config.json and a checkpoint (every epoch\n' +
  'and on Ctrl-C) into --out. Defaults follow the paper (Adam, lr 1e-3, batch 32) and the spec.'

export type TrainArgs =
  | { help: true }
  | { help: false; resume: null; config: ExperimentConfig; progress: string }
  | { help: false; resume: string; epochs: number | undefined; progress: string }

/**
 * Read `priorgrad train` arguments into a resolved config (or a resume request).
 * @example parseTrainArgs(['--reg', 'l2', '--epochs', '2'])
 */
export function parseTrainArgs(argv: string[]): TrainArgs {
  const { values } = parseFlags('train', argv, trainFlags())
  if (values['help'] === true) return { help: true }
  const progress = parseProgress(values['progress'])
  const given = OPTIONS.filter((o) => values[o.flag] !== undefined)
  if (typeof values['resume'] === 'string') {
    const extra = given.filter((o) => o.key !== 'epochs')
    if (extra.length > 0) {
      throw new UsageError(`--${extra[0]!.flag}: cannot be changed with --resume (the run's config.json fixes it; only --epochs may be raised)`)
    }
    const epochs = values['epochs'] === undefined ? undefined : (parseValue(OPTIONS.find((o) => o.key === 'epochs')!, values['epochs']) as number)
    return { help: false, resume: values['resume'], epochs, progress }
  }
  const overrides: Record<string, unknown> = {}
  for (const o of given) overrides[o.key] = values[o.flag]
  return { help: false, resume: null, config: resolveConfig(overrides), progress }
}

/** Check a --progress value. @example parseProgress('lines') */
export function parseProgress(v: string | boolean | undefined): 'auto' | 'bar' | 'lines' | 'none' {
  if (v === undefined) return 'auto'
  if (v === 'auto' || v === 'bar' || v === 'lines' || v === 'none') return v
  throw new UsageError(`--progress: expected one of auto|bar|lines|none, got '${String(v)}'`)
}
