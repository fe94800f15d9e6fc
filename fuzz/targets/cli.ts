// Fuzz target 'cli': the command line's parsing and validation, never a training. Three kinds of
// case, chosen by the case's generator:
// - argv for `priorgrad train` (parseTrainArgs): numbers in odd notations, unknown and mistyped
//   flags, missing values, values that look like flags, repeated flags, stray positionals;
// - grid files (readGridFile + expandGrid): nulls, wrong types, empty objects and lists, huge
//   numbers, deep nesting, unknown keys, truncated or bit-flipped JSON text;
// - a run's config.json as a resume reads it (readRunRecord): missing or retyped fields, an
//   empty or truncated file.
// Named errors are UsageError (a bad flag, value or grid) and ConfigFileError (a bad config.json).
import fs from 'node:fs'
import path from 'node:path'
import { parseTrainArgs } from '../../src/experiments/args.js'
import { ConfigFileError, OPTIONS, resolveConfig, UsageError } from '../../src/experiments/config.js'
import { readRunRecord } from '../../src/experiments/run-dir.js'
import { expandGrid, readGridFile } from '../../src/experiments/sweep.js'
import type { Generator } from '../../src/tensor/generator.js'
import type { FuzzCase, FuzzTarget } from '../target.js'

const pick = <T>(rng: Generator, xs: readonly T[]): T => xs[rng.int(xs.length)]!

// ---- argv ----------------------------------------------------------------------------------

const NUMERIC = OPTIONS.filter((o) => o.parse.meta === 'N' || o.parse.meta === 'X').map((o) => o.flag)
const CHOICES = OPTIONS.filter((o) => o.parse.meta.includes('|')).map((o) => o.flag)
const ALL_FLAGS = [...OPTIONS.map((o) => o.flag), 'resume', 'progress', 'overwrite', 'help']

/** Text that is never a valid number for any option (not decimal, or not finite). */
const BAD_NUMBERS = ['0x10', '+3', ' 5 ', '5 ', '\t5', '1_000', '0b11', '0o7', '1e', '.', '-', 'e5', 'Infinity', '-Infinity', 'NaN', '1e400', '١٢', '1,5', '', '--', '1e-400x', '5n']
/** Numbers in legal notation whose value may or may not be in range. */
const ODD_NUMBERS = ['1e-400', '9007199254740993', '1e300', '-0', '-1', '0', '1', '.5', '5.', '1e+2', '1E2', '00012', '4294967296', '1e9', '1e-7', '0.1e1', '-0.01', '65537', '1000.0000000000001']
const VALID_ARGV: string[][] = [
  [], ['--reg', 'l2', '--epochs', '2'], ['--reg', 'dynamic-prior', '--sp', '0.05', '--S', '4', '--seed', '3'],
  ['--optimizer', 'sgd', '--lr', '0.1', '--momentum', '0.9', '--batch-size', '64'], ['--loss', 'projected-ce', '--projected-S', '2', '--train-subset', '1000'],
  ['--lambda', '1e-4', '--threshold', '0.5', '--eval-every', '0', '--log-every', '5'], ['--dataset', 'cifar10', '--data-dir', 'data/cifar', '--model', 'vgg11'],
]

function typo(rng: Generator, flag: string): string {
  const i = rng.int(flag.length + 1)
  const c = pick(rng, 'abcdefghijklmnopqrstuvwxyz-_'.split(''))
  switch (rng.int(4)) {
    case 0: return flag.slice(0, i) + c + flag.slice(i) // insert
    case 1: return flag.slice(0, Math.max(0, i - 1)) + flag.slice(i) // delete
    case 2: return flag.slice(0, i) + c + flag.slice(i + 1) // replace
    default: return i + 1 < flag.length ? flag.slice(0, i) + flag[i + 1] + flag[i] + flag.slice(i + 2) : `${flag}s` // swap
  }
}

function argvCase(rng: Generator): FuzzCase {
  const argv = [...pick(rng, VALID_ARGV)]
  // at a flag boundary of the valid argv (its tokens come in flag/value pairs)
  const insert = (...tokens: string[]): void => void argv.splice(2 * rng.int(argv.length / 2 + 1), 0, ...tokens)
  let malformed = false
  let what: string
  switch (rng.int(9)) {
    case 0: {
      const flag = pick(rng, NUMERIC)
      const v = pick(rng, BAD_NUMBERS)
      if (rng.int(2) === 0) argv.push(`--${flag}=${v}`)
      else argv.push(`--${flag}`, v)
      malformed = true
      what = `--${flag} ${JSON.stringify(v)} (not a decimal number)`
      break
    }
    case 1: {
      const flag = pick(rng, NUMERIC)
      const v = pick(rng, ODD_NUMBERS)
      argv.push(`--${flag}`, v)
      what = `--${flag} ${v} (legal notation, maybe out of range)`
      break
    }
    case 2: {
      const real = pick(rng, ALL_FLAGS)
      const t = typo(rng, real)
      malformed = !ALL_FLAGS.includes(t)
      insert(`--${t}`, '1')
      what = `typo --${t} of --${real}`
      break
    }
    case 3: {
      const flag = pick(rng, OPTIONS).flag
      argv.push(`--${flag}`)
      malformed = true
      what = `--${flag} without a value at the end`
      break
    }
    case 4: {
      const flag = pick(rng, OPTIONS).flag
      insert(`--${flag}`, `--${pick(rng, ALL_FLAGS)}`)
      malformed = true
      what = `--${flag} followed by another flag`
      break
    }
    case 5: {
      const flag = pick(rng, CHOICES)
      const v = pick(rng, ['', 'ADAM', 'l3', 'none ', 'null', '0', 'toString', '__proto__', 'cnn2\u0000', 'x'.repeat(rng.int(5000))])
      argv.push(`--${flag}`, v)
      malformed = true
      what = `--${flag} ${JSON.stringify(v.slice(0, 20))} (not one of the choices)`
      break
    }
    case 6: {
      const tok = pick(rng, ['stray', '-', '--', '-x', '---lr', '--=', '--lr==1', '-lr', '--LR', '--__proto__', '--constructor', '--toString'])
      insert(tok)
      malformed = tok !== '--'
      what = `token ${JSON.stringify(tok)}`
      break
    }
    case 7: {
      const flag = pick(rng, OPTIONS).flag
      argv.push(`--${flag}`, 'a', `--${flag}`, 'b')
      what = `--${flag} given twice`
      break
    }
    default: {
      const len = 1 + rng.int(6)
      for (let i = 0; i < len; i++) {
        argv.push(rng.int(2) === 0 ? `--${pick(rng, ALL_FLAGS)}` : pick(rng, [...BAD_NUMBERS, ...ODD_NUMBERS, 'none', 'all', 'default', 'auto']))
      }
      what = `random tokens ${JSON.stringify(argv.slice(-len))}`
    }
  }
  const bytes = argv.reduce((n, a) => n + a.length, 0)
  return { what: `argv ${JSON.stringify(argv).slice(0, 200)}: ${what}`, malformed, bytes, run: () => parseTrainArgs(argv) }
}

// ---- grid files ----------------------------------------------------------------------------

const VALID_GRIDS: unknown[] = [
  { description: 'mnist', base: { dataset: 'mnist', model: 'cnn2', epochs: 1 }, grids: [{ reg: ['none', 'l1', 'l2'], seed: [0, 1, 2] }, { reg: ['dynamic-prior'], sp: [0.01, 0.05], seed: [0, 1] }], exclude: [{ reg: 'l1', seed: 2 }] },
  { base: { model: 'mlp', trainSubset: 256, testSubset: 'all' }, axes: { lambda: [1e-5, 1e-4], seed: [0] } },
  { axes: { reg: 'l2' } },
]

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

type Slot = [Json[] | { [k: string]: Json }, string | number]

/** Every (container, key) pair of a JSON value down to `depth` levels, outermost first. */
function slots(v: Json, depth = 6, out: Slot[] = []): Slot[] {
  if (depth === 0) return out
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), slots(x, depth - 1, out)))
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push([v, k]), slots(v[k]!, depth - 1, out)
  return out
}

const WEIRD: Array<[string, () => Json, boolean]> = [
  ['null', () => null, false], ['0', () => 0, false], ['-1', () => -1, false], ['1e308', () => 1e308, false], ['""', () => '', false],
  ['true', () => true, false], ['[]', () => [], false], ['{}', () => ({}), false], ['[null]', () => [null], false], ['[{}]', () => [{}], false],
  ['"0x10"', () => '0x10', false], ['"+3"', () => '+3', false], ['" 5 "', () => ' 5 ', false],
]

function gridCase(rng: Generator, dir: string, index: number): FuzzCase {
  const grid = structuredClone(pick(rng, VALID_GRIDS)) as Json
  const whats: string[] = []
  let malformed = false
  let text: string | null = null
  // Deep nesting is spliced into the text: building it as an object would overflow
  // JSON.stringify's stack here, in the fuzzer, before the library sees it.
  let deep: { depth: number; inner: string } | null = null
  // whether the last wrong-typed value given to each top-level field makes the grid malformed
  const topLevel: Record<string, boolean> = {}
  const mutations = 1 + rng.int(3)
  for (let m = 0; m < mutations; m++) {
    const all = slots(grid)
    const [container, key] = all.length > 0 ? pick(rng, all) : [null, '']
    const c = container as Record<string | number, Json>
    const kind = rng.int(7)
    // a later mutation of a top-level field replaces whatever an earlier one put there
    if (container === grid && [1, 2, 3, 5].includes(kind)) delete topLevel[key as string]
    if (container === null || kind === 0) {
      // a top-level field replaced by a wrong type: malformed, except an empty exclude list
      const field = pick(rng, ['base', 'axes', 'grids', 'exclude'])
      const v = pick(rng, [null, 1, 'x', [], [null], [{}], true, {}])
      ;(grid as Record<string, Json>)[field] = v
      topLevel[field] = !(field === 'exclude' && Array.isArray(v) && v.length === 0) && !(field === 'base' && !Array.isArray(v) && v !== null && typeof v === 'object')
      whats.push(`${field} = ${JSON.stringify(v)}`)
    } else if (kind === 1) {
      const [name, make] = pick(rng, WEIRD)
      c[key] = make()
      whats.push(`[${JSON.stringify(key)}] = ${name}`)
    } else if (kind === 2) {
      // a value wrapped in 2 or more lists: never valid anywhere in a grid
      deep = { depth: pick(rng, [2, 10, 1000, 100_000]), inner: JSON.stringify(c[key]!) }
      c[key] = '\u0000DEEP'
      malformed = true
      whats.push(`[${JSON.stringify(key)}] nested ${deep.depth} deep`)
      break
    } else if (kind === 3) {
      if (Array.isArray(container)) container.splice(key as number, 1)
      else delete container[key as string]
      whats.push(`[${JSON.stringify(key)}] removed`)
    } else if (kind === 4) {
      if (!Array.isArray(container)) {
        const k = pick(rng, ['learningRate', '', '__proto__', 'constructor', 'Seed', 'out', 'toString'])
        container[k] = 1
        whats.push(`key ${JSON.stringify(k)} added`)
      } else {
        container.push(pick(rng, [0, 'none', null, 1e300]))
        whats.push('a list value appended')
      }
    } else if (kind === 5) {
      c[key] = pick(rng, [1e300, -1e300, 9007199254740993, 5e-324, 1e-400, 1e308])
      whats.push(`[${JSON.stringify(key)}] = a huge or tiny number`)
    } else {
      const full = JSON.stringify(grid)
      const cut = rng.int(full.length)
      if (rng.int(2) === 0) {
        text = full.slice(0, cut)
        malformed = true
        whats.push(`text truncated at ${cut}`)
      } else {
        text = full.slice(0, cut) + String.fromCharCode(full.charCodeAt(cut) ^ (1 << rng.int(7))) + full.slice(cut + 1)
        whats.push(`bit flipped at ${cut}`)
      }
      break
    }
  }
  malformed ||= Object.values(topLevel).some(Boolean)
  if (text === null) {
    text = JSON.stringify(grid).replace(/1e\+308/g, () => (rng.int(2) === 0 ? '1e400' : '1e+308'))
    if (deep !== null) {
      const { depth, inner } = deep
      text = text.replace(JSON.stringify('\u0000DEEP'), () => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`)
    }
  }
  const file = path.join(dir, `grid-${index}.json`)
  fs.writeFileSync(file, text)
  return {
    what: `grid: ${whats.join('; ')}`,
    malformed,
    bytes: text.length,
    run: () => {
      try {
        expandGrid(readGridFile(file), path.join(dir, 'root'), file)
      } finally {
        fs.rmSync(file, { force: true })
      }
    },
  }
}

// ---- a resume's config.json ----------------------------------------------------------------

function recordCase(rng: Generator, dir: string, index: number): FuzzCase {
  const record: Record<string, unknown> = {
    config: resolveConfig({ model: 'mlp', reg: 'l2' }), seed: 0, version: '0.1.0', backend: { name: 'reference', reason: 'x' },
    startedAt: '2026-01-01T00:00:00.000Z', command: ['priorgrad', 'train'], resumes: [], firstLoss: 2.3,
  }
  const field = pick(rng, Object.keys(record))
  const required = ['config', 'seed', 'version', 'backend', 'command']
  let malformed = false
  let what: string
  let text: string
  switch (rng.int(5)) {
    case 0:
      delete record[field]
      malformed = required.includes(field)
      what = `${field} removed`
      break
    case 1: {
      const [name, make] = pick(rng, WEIRD)
      record[field] = make()
      what = `${field} = ${name}`
      // the weird values that still fit a required field
      const v = record[field]
      const fits = field === 'config' ? name === '{}' : field === 'seed' ? v === 0 : field === 'version' ? typeof v === 'string' && v !== '' : field === 'command' ? name === '[]' : false
      malformed = required.includes(field) && !fits
      break
    }
    case 2: {
      const key = pick(rng, Object.keys(record['config'] as object))
      const [name, make] = pick(rng, WEIRD)
      ;(record['config'] as Record<string, unknown>)[key] = make()
      what = `config.${key} = ${name}`
      break
    }
    default:
      what = ''
  }
  text = JSON.stringify(record)
  if (what === '') {
    const cut = rng.int(text.length)
    text = rng.int(3) === 0 ? '' : text.slice(0, cut)
    malformed = true
    what = text === '' ? 'empty file' : `truncated at ${cut}`
  }
  const run = path.join(dir, `run-${index}`)
  fs.mkdirSync(run, { recursive: true })
  fs.writeFileSync(path.join(run, 'config.json'), text)
  return {
    what: `config.json: ${what}`,
    malformed,
    bytes: text.length,
    run: () => {
      try {
        readRunRecord(run)
      } finally {
        fs.rmSync(run, { recursive: true, force: true })
      }
    },
  }
}

const target: FuzzTarget = {
  name: 'cli',
  setup() {},
  makeCase(rng, dir, index) {
    const kind = rng.int(3)
    return kind === 0 ? argvCase(rng) : kind === 1 ? gridCase(rng, dir, index) : recordCase(rng, dir, index)
  },
  isNamedError: (err) => err instanceof UsageError || err instanceof ConfigFileError,
}

export default target
