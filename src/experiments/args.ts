// Command-line flags for the priorgrad subcommands, on node:util parseArgs: every flag is a
// FlagSpec (name, value name, default, help), so the parser and the --help text come from the
// same list. Unknown flags and bad values become UsageErrors naming the flag (exit code 2).
import { parseArgs } from 'node:util'
import { OPTIONS, UsageError, clip, defaultConfig, nearest, parseValue, rangeText, resolveConfig, type ExperimentConfig } from './config.js'

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
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true, tokens: true })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const unknown = /Unknown option '([^']+)'/.exec(e.message)
    if (unknown) throw new UsageError(`unknown flag ${clip(unknown[1]!)}${suggest(unknown[1]!, flags)} (see priorgrad ${command} --help)`)
    const missing = /Option '(?:-\w, )?(--[^ ']+)[^']*' argument missing/.exec(e.message)
    if (missing) throw new UsageError(`${missing[1]} needs a value`)
    // Only a value that starts with '-' and is not a number is still "ambiguous" (e.g. --out --lr).
    const ambiguous = /Option '(?:-\w, )?(--[^ ']+)' argument is ambiguous/.exec(e.message)
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value, got the flag-like '${clip(nextAfter(argv, ambiguous[1]!) ?? '')}' (write ${ambiguous[1]}=VALUE for a value starting with '-')`)
    const noValue = /Option '(?:-\w, )?(--[^ ']+)' does not take an argument/.exec(e.message)
    if (noValue) throw new UsageError(`${noValue[1]} is a switch and takes no value`)
    throw new UsageError(e.message.split('\n')[0]!)
  }
  // A flag given twice would silently keep the last value (and skip checking the first).
  const seen = new Set<string>()
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue
    if (seen.has(t.name)) throw new UsageError(`--${t.name} is given twice; give it once`)
    seen.add(t.name)
  }
  if (!allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${clip(parsed.positionals[0]!)}' (flags start with --; see priorgrad ${command} --help)`)
  }
  return { values: parsed.values as ParsedFlags['values'], positionals: parsed.positionals }
}

// parseArgs refuses `--lr -0.01` as ambiguous (the value could be a flag); a negative number is
// never a flag, so it is joined to its flag as `--lr=-0.01`, which parseArgs reads as the value.
function joinNegativeValues(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      out.push(...argv.slice(i))
      break
    }
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null
    const next = argv[i + 1]
    if (name !== null && Object.hasOwn(options, name) && options[name]!.type === 'string' && next !== undefined && /^-(?:\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`)
      i++
    } else out.push(a)
  }
  return out
}

function nextAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag)
  return i < 0 ? undefined : argv[i + 1]
}

// A typo'd flag gets the nearest known one (edit distance), e.g. --epoch -> --epochs.
function suggest(given: string, flags: FlagSpec[]): string {
  const hit = nearest(given.replace(/^-+/, '').replace(/=.*$/, ''), [...flags.map((f) => f.flag), 'help'])
  return hit === null ? '' : `; did you mean --${hit}?`
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
    const help = o.parse.range ? `${o.help}; ${rangeText(o.parse.range)}` : o.help
    return { flag: o.flag, meta: o.parse.meta, help, default: o.defaultText ?? (d === null ? o.nullWord! : String(d)) }
  })
  return [
    ...config,
    { flag: 'resume', meta: 'DIR', help: 'continue the run in DIR from its last checkpoint (only --epochs and --progress may be given with it)' },
    { flag: 'overwrite', help: "start a fresh run in a non-empty --out that priorgrad did not create or that holds a run: its config.json, metrics.jsonl/csv, done.json and checkpoint/ are replaced, other files kept" },
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
  | { help: false; resume: null; config: ExperimentConfig; progress: string; overwrite: boolean }
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
  const overwrite = values['overwrite'] === true
  if (typeof values['resume'] === 'string') {
    if (overwrite) throw new UsageError('--overwrite: cannot be given with --resume (a resume continues the run in place)')
    const extra = given.filter((o) => o.key !== 'epochs')
    if (extra.length > 0) {
      throw new UsageError(`--${extra[0]!.flag}: cannot be changed with --resume (the run's config.json fixes it; only --epochs may be raised)`)
    }
    const epochs = values['epochs'] === undefined ? undefined : (parseValue(OPTIONS.find((o) => o.key === 'epochs')!, values['epochs']) as number)
    return { help: false, resume: values['resume'], epochs, progress }
  }
  const overrides: Record<string, unknown> = {}
  for (const o of given) overrides[o.key] = values[o.flag]
  return { help: false, resume: null, config: resolveConfig(overrides), progress, overwrite }
}

/** Check a --progress value. @example parseProgress('lines') */
export function parseProgress(v: string | boolean | undefined): 'auto' | 'bar' | 'lines' | 'none' {
  if (v === undefined) return 'auto'
  if (v === 'auto' || v === 'bar' || v === 'lines' || v === 'none') return v
  throw new UsageError(`--progress: expected one of auto|bar|lines|none, got '${String(v)}'`)
}
