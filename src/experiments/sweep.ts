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
// with done.json is skipped, one with a checkpoint is resumed.
import fs from 'node:fs'
import path from 'node:path'
import { writeJsonAtomic } from '../io/atomic.js'
import { resolveConfig, UsageError, type ExperimentConfig } from './config.js'
import { resume, train, type TrainOptions, type TrainResult } from './train.js'

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

/**
 * Every cell of a grid, in order, with its resolved config (output under `root`). Every cell is
 * validated before any is run, so a typo fails at once.
 * @example expandGrid({ base: { epochs: 1 }, axes: { reg: ['l1', 'l2'], seed: [0, 1] } }, 'runs/g').map((c) => c.name)
 */
export function expandGrid(grid: GridFile, root: string, where = 'grid'): Cell[] {
  if (grid === null || typeof grid !== 'object' || Array.isArray(grid)) throw new UsageError(`${where}: expected a JSON object`)
  const known = new Set(['description', 'base', 'axes', 'grids', 'exclude'])
  for (const k of Object.keys(grid)) if (!known.has(k)) throw new UsageError(`${where}: unknown top-level key '${k}' (expected ${[...known].join(', ')})`)
  if ((grid.axes === undefined) === (grid.grids === undefined)) throw new UsageError(`${where}: give exactly one of "axes" (one grid) or "grids" (a list)`)
  const grids = grid.grids ?? [grid.axes!]
  if (!Array.isArray(grids) || grids.length === 0) throw new UsageError(`${where}: "grids" must be a non-empty list of objects`)
  const cells: Cell[] = []
  const names = new Set<string>()
  grids.forEach((g, gi) => {
    const keys = Object.keys(g)
    const lists = keys.map((k) => {
      const v = g[k]
      const list = Array.isArray(v) ? v : [v]
      if (list.length === 0) throw new UsageError(`${where}: grids[${gi}].${k} is an empty list`)
      return list
    })
    for (const combo of product(lists)) {
      const values = Object.fromEntries(keys.map((k, i) => [k, combo[i]]))
      if ((grid.exclude ?? []).some((rule) => matches(values, { ...grid.base, ...values }, rule))) continue
      const name = keys.map((k) => `${k}=${String(values[k])}`).join(',').replace(/[^A-Za-z0-9._=,+-]/g, '_')
      if (names.has(name)) throw new UsageError(`${where}: cell ${name} appears twice (grids overlap)`)
      names.add(name)
      let config: ExperimentConfig
      try {
        config = resolveConfig({ ...(grid.base ?? {}), ...values, out: path.join(root, name) })
      } catch (err) {
        throw new UsageError(`${where}: cell ${name}: ${(err as Error).message}`)
      }
      cells.push({ name, values, config })
    }
  })
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
  if (!m || !(count >= 1) || !(index < count)) throw new UsageError(`--shard: expected i/n with 0 <= i < n (e.g. 0/4), got '${text}'`)
  return { index, count }
}

/** The cells of shard i/n: every n-th cell starting at i. @example shardCells(cells, { index: 0, count: 2 }) */
export function shardCells<T>(cells: T[], shard: { index: number; count: number }): T[] {
  return cells.filter((_, k) => k % shard.count === shard.index)
}

export interface SweepOptions extends TrainOptions {
  shard?: { index: number; count: number }
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
 * Run (this shard of) a grid under `root`, skipping finished cells and resuming started ones.
 * A cell that fails is recorded and the sweep goes on; an abort stops it after a checkpoint.
 * @example await runSweep(JSON.parse(fs.readFileSync('grids/mnist-table1.json', 'utf8')), 'runs/mnist')
 */
export async function runSweep(grid: GridFile, root: string, options: SweepOptions = {}): Promise<SweepResult> {
  const cells = shardCells(expandGrid(grid, root), options.shard ?? { index: 0, count: 1 })
  fs.mkdirSync(root, { recursive: true })
  writeJsonAtomic(path.join(root, 'grid.json'), grid)
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
      r = started ? await resume(dir, { epochs: cell.config.epochs }, options) : await train(cell.config, options)
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
