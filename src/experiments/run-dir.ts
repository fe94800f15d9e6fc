// Which directories priorgrad may write into, and reading a run's config.json back.
// `--out DIR` may be missing, empty, or priorgrad's own; anything else is refused unless
// --overwrite, so a user's own config.json, metrics.csv or grid.json is never replaced or
// appended to. priorgrad recognises its own directories by what it writes there first:
// - a run directory by its config.json, a run record (an object with config, version, backend
//   and command fields), written before any other file of the run;
// - a sweep root by its marker file SWEEP_MARKER, or (for sweeps started before the marker
//   existed) by a grid.json equal to the grid being run, or by holding only cells of that grid.
// These functions only read; the caller writes once every check has passed.
import fs from 'node:fs'
import path from 'node:path'
import { ConfigFileError, describe, resolveConfig, UsageError } from './config.js'
import type { RunRecord } from './train.js'

/** The files of a run that --overwrite replaces (anything else in the directory is left alone). */
export const RUN_FILES = ['config.json', 'metrics.jsonl', 'metrics.csv', 'done.json', 'checkpoint', 'checkpoint.prev'] as const

/** Marks a directory as a priorgrad sweep root (JSON: kind, version). */
export const SWEEP_MARKER = '.priorgrad-sweep.json'

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

const MISSING = Symbol('missing')

/** Parse a JSON file, naming it in every error; MISSING when it does not exist. */
function readJson(file: string): unknown {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return MISSING
    throw new ConfigFileError(`${file}: cannot be read (${code ?? (err as Error).message})`)
  }
  if (text.trim() === '') throw new ConfigFileError(`${file}: the file is empty; expected JSON`)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ConfigFileError(`${file}: not valid JSON (${(err as Error).message})`)
  }
}

/** Whether `file` holds a priorgrad run record; never throws. */
export function isRunRecord(file: string): boolean {
  try {
    const r = readJson(file)
    return isObject(r) && isObject(r['config']) && typeof r['version'] === 'string' && isObject(r['backend']) && Array.isArray(r['command'])
  } catch {
    return false
  }
}

/**
 * Read and check `<dir>/config.json` for a resume: every field a run record needs, the config
 * itself through resolveConfig. Errors name the file and the field.
 * @example const record = readRunRecord('runs/a')
 */
export function readRunRecord(dir: string): RunRecord {
  const file = path.join(dir, 'config.json')
  const r = readJson(file)
  if (r === MISSING) throw new UsageError(`--resume: ${file} not found; --resume needs the directory of a run started by priorgrad train`)
  const field = (name: string, expected: string, got: unknown): ConfigFileError =>
    new ConfigFileError(`${file}: ${name}: expected ${expected}, got ${describe(got)}; was this file written by priorgrad train?`)
  if (!isObject(r)) throw field('the file', 'a JSON object (a run record)', r)
  if (!isObject(r['config'])) throw field('config', 'an object of config keys', r['config'])
  if (!isObject(r['backend']) || typeof r['backend']['name'] !== 'string') throw field('backend', 'an object with a name', r['backend'])
  if (typeof r['version'] !== 'string' || r['version'] === '') throw field('version', 'a non-empty string', r['version'])
  if (!Array.isArray(r['command']) || !r['command'].every((a) => typeof a === 'string')) throw field('command', 'a list of strings', r['command'])
  if (r['resumes'] !== undefined && !Array.isArray(r['resumes'])) throw field('resumes', 'a list', r['resumes'])
  const first = r['firstLoss']
  if (first !== undefined && !(typeof first === 'number' && Number.isFinite(first))) throw field('firstLoss', 'a finite number', first)
  let config
  try {
    config = resolveConfig({ ...r['config'], out: dir })
  } catch (err) {
    throw new ConfigFileError(`${file}: config: ${(err as Error).message}`)
  }
  if (r['seed'] !== config.seed) throw field('seed', `the config's seed ${config.seed}`, r['seed'])
  return { resumes: [], ...r } as unknown as RunRecord
}

/** Whether any file of a run is in `dir` (rows or a checkpoint). */
export function holdsRun(dir: string): boolean {
  return ['metrics.jsonl', 'metrics.csv', 'checkpoint', 'checkpoint.prev'].some((f) => fs.existsSync(path.join(dir, f)))
}

/** An existing `dir` that is not a directory, or a directory's entries (empty when it does not exist). */
function entries(dir: string, flag: string): string[] {
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch {
    return []
  }
  if (!stat.isDirectory()) throw new UsageError(`${flag}: ${dir} exists and is not a directory`)
  return fs.readdirSync(dir)
}

/**
 * Check that a fresh run may be written into `out` (reads only). Refuses a directory holding a
 * run (resume it or --overwrite), and a non-empty directory without a priorgrad config.json.
 * @example checkRunOut('runs/a', false)
 */
export function checkRunOut(out: string, overwrite: boolean): void {
  if (entries(out, '--out').length === 0 || overwrite) return
  const own = isRunRecord(path.join(out, 'config.json'))
  if (own && holdsRun(out)) {
    throw new UsageError(`--out: ${out} already holds a run; continue it with --resume ${out}, start it over with --overwrite, or choose another --out`)
  }
  // priorgrad's config.json alone: a run that stopped before its first row; it starts over.
  if (own) return
  throw new UsageError(
    `--out: ${out} is not empty and was not created by priorgrad (it has no priorgrad config.json); choose another --out, ` +
      `or pass --overwrite to write the run there (its ${RUN_FILES.join(', ')} are replaced, other files kept)`,
  )
}

/** Remove the run files that --overwrite replaces. */
export function removeRunFiles(out: string): void {
  for (const f of RUN_FILES) fs.rmSync(path.join(out, f), { recursive: true, force: true })
}

/**
 * Check that a sweep may write `grid` into `root` (reads only): `root` missing, empty, marked as a
 * sweep root, holding an equal grid.json, or holding nothing but cell directories of this grid
 * (`cellNames`); otherwise --overwrite is needed.
 * @example checkSweepRoot('runs/g', grid, ['seed=0'], false)
 */
export function checkSweepRoot(root: string, grid: unknown, cellNames: string[], overwrite: boolean): void {
  const names = entries(root, '--out')
  if (names.length === 0 || overwrite) return
  if (names.includes(SWEEP_MARKER)) return
  let old: unknown = MISSING
  try {
    old = readJson(path.join(root, 'grid.json'))
  } catch {
    old = undefined // unreadable: not equal to any grid
  }
  if (old === MISSING ? names.every((n) => cellNames.includes(n)) : sameJson(old, grid)) return
  throw new UsageError(
    `--out: ${root} is not empty and is not a priorgrad sweep directory (no ${SWEEP_MARKER}${old === MISSING ? '' : ', and its grid.json differs from this grid'}); ` +
      'choose another --out, or pass --overwrite to write the sweep there (grid.json is replaced; cells that hold runs are resumed)',
  )
}

// Deep equality through JSON text; a value too deeply nested to stringify is not equal to a grid.
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b)
  } catch {
    return false
  }
}
