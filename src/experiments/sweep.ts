// Grids of runs. A grid file is JSON:
//   { "description": "...",
//     "base":  { "dataset": "mnist", "model": "cnn2", "epochs": 1 },        // any config keys
//     "grids": [ { "reg": ["none", "l1", "l2"], "seed": [0, 1, 2] },           // a union of
//                { "reg": ["dynamic-prior"], "sp": [0.01, 0.05, 0.1], "seed": [0, 1, 2] } ],  // products
//     "exclude": [ { "reg": "l1", "seed": 2 } ] }                              // optional
// ("axes": {...} is shorthand for one grid.) Each grid is a Cartesian product in its key order;
// a cell is excluded when it matches every key of some exclude rule. A cell's directory name
// lists its grid values in that order, e.g. `reg=dynamic-prior,sp=0.01,seed=0`, so names are
// stable when cells are added. `--shard i/n` runs cells i, i+n, i+2n, ... of the list; a cell
// with done.json is skipped, one with a checkpoint is resumed. validateGrid checks a file against
// this format first (errors give the bad field's path, e.g. grid.exclude[0]).
import fs from 'node:fs'
import path from 'node:path'
import { writeJsonAtomic } from '../io/atomic.js'
import { clip, describe, OPTIONS, resolveConfig, suggestKey, UsageError, type ExperimentConfig } from './config.js'
import { checkBackendName } from './backend.js'
import { checkDataDir } from './data.js'
import { checkRunOut, checkSweepRoot, SWEEP_MARKER } from './run-dir.js'
import { packageVersion, resume, train, type TrainOptions, type TrainResult } from './train.js'

export interface GridFile {
  description?: string
  base?: Record<string, unknown>
  axes?: Record<string, unknown>
  grids?: Array<Record<string, unknown>>
  exclude?: Array<Record<string, unknown>>
}

export interface Cell {
  /** Directory name, e.g. 'reg=l2,seed=0'. */
  name: string
  /** The values this cell sets on top of the base. */
  values: Record<string, unknown>
  config: ExperimentConfig
}

/** The most cells a grid may expand to (a typo such as a 1,000-value axis fails at once). */
export const MAX_CELLS = 10_000

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isScalar = (v: unknown): boolean => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
const CONFIG_KEYS = new Set<string>(OPTIONS.map((o) => o.key))

/**
 * Check a parsed grid file against its schema, a hand-written one: every error names the path
 * of the bad field (`grid.exclude[0]`, `grid.grids[1].seed[2]`) and what was expected. It looks
 * at a fixed depth and never formats a whole value, so hostile nesting cannot overflow the stack.
 * Values themselves are checked per cell by resolveConfig.
 * @example validateGrid({ axes: { seed: [0, 1] } }, 'g.json')
 */
export function validateGrid(grid: unknown, where = 'grid'): asserts grid is GridFile {
  const fail = (at: string, what: string): UsageError => new UsageError(`${where === 'grid' ? '' : `${where}: `}${at}: ${what}`)
  if (!isObject(grid)) throw fail('grid', `expected a JSON object, got ${describe(grid)}`)
  const known = ['description', 'base', 'axes', 'grids', 'exclude']
  for (const k of Object.keys(grid)) if (!known.includes(k)) throw fail(`grid.${clip(k)}`, `unknown top-level key (expected ${known.join(', ')})`)
  if (grid['description'] !== undefined && typeof grid['description'] !== 'string') throw fail('grid.description', `expected a string, got ${describe(grid['description'])}`)
  // A config key with a value: known key, one scalar or (where lists are allowed) a non-empty list of scalars.
  const entry = (at: string, key: string, value: unknown, lists: boolean): void => {
    if (!CONFIG_KEYS.has(key)) throw fail(`${at}.${clip(key)}`, `unknown config key '${clip(key)}'${suggestKey(key)}`)
    if (key === 'out') throw fail(`${at}.out`, "not allowed in a grid: each cell's directory is <--out>/<cell name>")
    if (lists && Array.isArray(value)) {
      if (value.length === 0) throw fail(`${at}.${key}`, 'is an empty list (a list of values gives one cell per value)')
      value.forEach((v, i) => {
        if (!isScalar(v)) throw fail(`${at}.${key}[${i}]`, `expected a string, number or null, got ${describe(v)}`)
      })
    } else if (!isScalar(value)) throw fail(`${at}.${key}`, `expected a string, number or null${lists ? ', or a list of them' : ''}, got ${describe(value)}`)
  }
  if (grid['base'] !== undefined) {
    if (!isObject(grid['base'])) throw fail('grid.base', `expected an object of config keys, got ${describe(grid['base'])}`)
    for (const [k, v] of Object.entries(grid['base'])) entry('grid.base', k, v, false)
  }
  if ((grid['axes'] === undefined) === (grid['grids'] === undefined)) throw fail('grid', 'give exactly one of "axes" (one grid) or "grids" (a list)')
  const axes = (at: string, g: unknown): void => {
    if (!isObject(g)) throw fail(at, `expected an object of config keys to lists of values, got ${describe(g)}`)
    if (Object.keys(g).length === 0) throw fail(at, 'has no keys: a grid needs at least one axis (its values name the cells)')
    for (const [k, v] of Object.entries(g)) entry(at, k, v, true)
  }
  if (grid['axes'] !== undefined) axes('grid.axes', grid['axes'])
  else {
    const grids = grid['grids']
    if (!Array.isArray(grids) || grids.length === 0) throw fail('grid.grids', `expected a non-empty list of objects, got ${describe(grids)}`)
    grids.forEach((g, i) => axes(`grid.grids[${i}]`, g))
  }
  if (grid['exclude'] !== undefined) {
    const ex = grid['exclude']
    if (!Array.isArray(ex)) throw fail('grid.exclude', `expected a list of rules (objects of config keys), got ${describe(ex)}`)
    ex.forEach((rule, i) => {
      if (!isObject(rule)) throw fail(`grid.exclude[${i}]`, `expected an object of config keys, got ${describe(rule)}`)
      if (Object.keys(rule).length === 0) throw fail(`grid.exclude[${i}]`, 'is empty: it would match, and exclude, every cell')
      for (const [k, v] of Object.entries(rule)) entry(`grid.exclude[${i}]`, k, v, true)
    })
  }
}

/**
 * Read and check a grid file: it must exist, be JSON and pass validateGrid. Every error is a
 * UsageError naming the file (the grid is a command-line argument).
 * @example const grid = readGridFile('grids/mnist-table1.json')
 */
export function readGridFile(file: string): GridFile {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(code === 'ENOENT' ? `--grid: ${file} does not exist` : `--grid: ${file} cannot be read (${code ?? (err as Error).message})`)
  }
  let grid: unknown
  try {
    grid = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--grid: ${file} is not valid JSON: ${clip((err as Error).message, 200)}`)
  }
  validateGrid(grid, file)
  return grid
}

/**
 * Every cell of a grid, in order, with its resolved config (output under `root`). The grid is
 * checked against its schema and every cell is validated before any is run, so a typo fails at
 * once; a grid with no cells left after its exclusions is an error.
 * @example expandGrid({ base: { epochs: 1 }, axes: { reg: ['l1', 'l2'], seed: [0, 1] } }, 'runs/g').map((c) => c.name)
 */
export function expandGrid(grid: GridFile, root: string, where = 'grid'): Cell[] {
  validateGrid(grid, where)
  const prefix = where === 'grid' ? 'grid' : `${where}: grid`
  const grids = grid.grids ?? [grid.axes!]
  // Count first: the product of the axis lengths can be astronomically large.
  const total = grids.reduce((sum, g) => sum + Object.values(g).reduce<number>((p, v) => p * (Array.isArray(v) ? v.length : 1), 1), 0)
  if (total > MAX_CELLS) throw new UsageError(`${prefix}: expands to ${total} cells, more than the ${MAX_CELLS} allowed; split it into several grids`)
  const cells: Cell[] = []
  const names = new Set<string>()
  let excluded = 0
  grids.forEach((g) => {
    const keys = Object.keys(g)
    const lists = keys.map((k) => {
      const v = g[k]
      return Array.isArray(v) ? v : [v]
    })
    for (const combo of product(lists)) {
      const values = Object.fromEntries(keys.map((k, i) => [k, combo[i]]))
      if ((grid.exclude ?? []).some((rule) => matches(values, { ...grid.base, ...values }, rule))) {
        excluded++
        continue
      }
      const name = keys.map((k) => `${k}=${String(values[k])}`).join(',').replace(/[^A-Za-z0-9._=,+-]/g, '_')
      if (names.has(name)) throw new UsageError(`${prefix}: cell ${name} appears twice (grids overlap)`)
      names.add(name)
      let config: ExperimentConfig
      try {
        config = resolveConfig({ ...(grid.base ?? {}), ...values, out: path.join(root, name) })
      } catch (err) {
        throw new UsageError(`${where}: cell ${clip(name)}: ${(err as Error).message}`)
      }
      cells.push({ name, values, config })
    }
  })
  if (cells.length === 0) throw new UsageError(`${prefix}.exclude: excludes all ${excluded} cells; the grid has nothing to run`)
  return cells
}

function* product(lists: unknown[][]): Generator<unknown[]> {
  if (lists.length === 0) {
    yield []
    return
  }
  for (const head of lists[0]!) for (const rest of product(lists.slice(1))) yield [head, ...rest]
}

function matches(values: Record<string, unknown>, full: Record<string, unknown>, rule: Record<string, unknown>): boolean {
  return Object.entries(rule).every(([k, v]) => (Array.isArray(v) ? v : [v]).includes(k in values ? values[k] : full[k]))
}

/**
 * Parse 'i/n' (0 <= i < n).
 * @example parseShard('1/4') // { index: 1, count: 4 }
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text)
  const index = m ? Number(m[1]) : NaN
  const count = m ? Number(m[2]) : NaN
  if (!m || !Number.isSafeInteger(count) || !(count >= 1) || !(index < count)) throw new UsageError(`--shard: expected i/n with 0 <= i < n (e.g. 0/4), got '${text}'`)
  return { index, count }
}

/** The cells of shard i/n: every n-th cell starting at i. @example shardCells(cells, { index: 0, count: 2 }) */
export function shardCells<T>(cells: T[], shard: { index: number; count: number }): T[] {
  return cells.filter((_, k) => k % shard.count === shard.index)
}

export interface SweepOptions extends TrainOptions {
  shard?: { index: number; count: number }
  /** how errors name the grid (its file name; default 'grid') */
  where?: string
  /** Write into a non-empty root that is not a priorgrad sweep directory (its grid.json is replaced). */
  overwrite?: boolean
  /** Called before each cell with what happens to it. */
  onCell?: (cell: Cell, action: 'skip' | 'resume' | 'train', position: { k: number; of: number }) => void
}

export interface SweepResult {
  ran: string[]
  skipped: string[]
  failed: Array<{ name: string; error: string }>
  stopped: boolean
}

/**
 * Every check of a sweep before its first write (the root, each new cell's directory, backends and
 * data directories), then the root's marker and grid.json. `cells` are the ones this process runs.
 * @example prepareSweep(grid, 'runs/x', all, shardCells(all, shard), false)
 */
export function prepareSweep(grid: GridFile, root: string, all: Cell[], cells: Cell[], overwrite: boolean): void {
  checkSweepRoot(root, grid, all.map((c) => c.name), overwrite)
  for (const cell of cells) {
    const dir = cell.config.out!
    if (!fs.existsSync(path.join(dir, 'done.json')) && !fs.existsSync(path.join(dir, 'config.json'))) checkRunOut(dir, false)
    checkBackendName(cell.config.backend)
    try {
      checkDataDir(cell.config)
    } catch (err) {
      throw new UsageError(`cell ${cell.name}: ${(err as Error).message}`)
    }
  }
  fs.mkdirSync(root, { recursive: true })
  writeJsonAtomic(path.join(root, SWEEP_MARKER), { kind: 'sweep', version: packageVersion() })
  writeJsonAtomic(path.join(root, 'grid.json'), grid)
}

/**
 * Run (this shard of) a grid under `root`, skipping finished cells and resuming started ones.
 * A cell that fails is recorded and the sweep goes on; an abort stops it after a checkpoint.
 * @example await runSweep(JSON.parse(fs.readFileSync('grids/mnist-table1.json', 'utf8')), 'runs/mnist')
 */
export async function runSweep(grid: GridFile, root: string, options: SweepOptions = {}): Promise<SweepResult> {
  const all = expandGrid(grid, root, options.where)
  const shard = options.shard ?? { index: 0, count: 1 }
  // an array job's task must cover its own share of the grid: n of --shard i/n is the array's size
  const arraySize = process.env['SLURM_ARRAY_TASK_COUNT']
  if (arraySize !== undefined && options.shard !== undefined && Number(arraySize) !== shard.count) {
    throw new UsageError(`--shard ${shard.index}/${shard.count}: this Slurm array has ${arraySize} tasks (SLURM_ARRAY_TASK_COUNT), so n must be ${arraySize}`)
  }
  const cells = shardCells(all, shard)
  prepareSweep(grid, root, all, cells, options.overwrite === true)
  const result: SweepResult = { ran: [], skipped: [], failed: [], stopped: false }
  for (const [k, cell] of cells.entries()) {
    const dir = cell.config.out!
    const position = { k: k + 1, of: cells.length }
    if (fs.existsSync(path.join(dir, 'done.json'))) {
      options.onCell?.(cell, 'skip', position)
      result.skipped.push(cell.name)
      continue
    }
    const started = fs.existsSync(path.join(dir, 'config.json'))
    options.onCell?.(cell, started ? 'resume' : 'train', position)
    let r: TrainResult
    try {
      r = started ? await resume(dir, { epochs: cell.config.epochs }, options) : await train(cell.config, { ...options, overwrite: false })
    } catch (err) {
      result.failed.push({ name: cell.name, error: (err as Error).message })
      continue
    }
    if (r.stopped) {
      result.stopped = true
      break
    }
    writeJsonAtomic(path.join(dir, 'done.json'), { finishedAt: new Date().toISOString(), iteration: r.iteration, lastEpoch: r.lastEpoch })
    result.ran.push(cell.name)
  }
  return result
}
