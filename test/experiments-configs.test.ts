// Hostile and careless configs (issue #21): every check is done before anything is written, grid
// files are checked by a schema whose errors give the path of the bad field, a resume's
// config.json is checked field by field, and --out never replaces or appends to files priorgrad
// did not write unless --overwrite is given.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/experiments/cli.js'
import { ConfigFileError, UsageError } from '../src/experiments/config.js'
import { SWEEP_MARKER } from '../src/experiments/run-dir.js'
import { expandGrid, runSweep, validateGrid, type GridFile } from '../src/experiments/sweep.js'
import { resume, train } from '../src/experiments/train.js'
import { metricsWithoutTime, tinyConfig, tinyMnist } from './experiments-fixtures.js'

let data: { dir: string; cleanup: () => void }
let n = 0
const fresh = (name: string): string => path.join(data.dir, `${name}-${n++}`)

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => (out += s), err: { write: (s: string) => (err += s), isTTY: false } })
  return { code, out, err }
}

beforeAll(() => (data = tinyMnist()))
afterAll(() => data.cleanup())

const tiny = ['--model', 'mlp', '--test-subset', '32', '--epochs', '1', '--backend', 'reference', '--progress', 'none']

describe('every check before anything is written', () => {
  it.each([
    ['--backend nope', ['--data-dir', '<data>', '--backend', 'nope'], 2, /priorgrad train: --backend: expected auto or one of .*reference.*, got 'nope'/],
    ['a missing --data-dir', ['--data-dir', '<data>/no-such-dir', '--backend', 'reference'], 2, /^priorgrad train: --data-dir: .*no-such-dir is not a directory \(it does not exist\)\n$/],
    ['a too-large --train-subset', ['--data-dir', '<data>', '--train-subset', '5000', '--backend', 'reference'], 2, /^priorgrad train: --train-subset: 5000 is larger than the mnist\/train set \(128 images\)\n$/],
    ['a CIFAR directory without its files', ['--data-dir', '<data>', '--dataset', 'cifar10', '--backend', 'reference'], 1, /data_batch_1\.bin/],
  ])('%s: no output directory, no config.json', async (_, extra, code, message) => {
    const out = fresh('never')
    const r = await cli('train', '--model', 'mlp', '--epochs', '1', '--progress', 'none', ...extra.map((a) => a.replace('<data>', data.dir)), '--out', out)
    expect(r.err).toMatch(message)
    expect(r.code).toBe(code)
    expect(fs.existsSync(out)).toBe(false)
  })

  it('start: a bad --backend or --train-subset leaves nothing behind', async () => {
    for (const extra of [['--backend', 'nope'], ['--train-subset', '0x10'], ['--train-subset', '1e300']]) {
      const out = fresh('start-never')
      const r = await cli('start', '--out', out, '--progress', 'none', ...extra)
      expect(r.code).toBe(2)
      expect(r.err).toMatch(new RegExp(`^priorgrad start: ${extra[0]}: expected `))
      expect(fs.existsSync(out)).toBe(false)
    }
  })

  it('a sweep checks its cells (backend, data directory) before writing grid.json', async () => {
    const root = fresh('sweep-never')
    const grid: GridFile = { base: { model: 'mlp', dataDir: path.join(data.dir, 'nope'), backend: 'reference', epochs: 1 }, axes: { seed: [0] } }
    await expect(runSweep(grid, root)).rejects.toThrow(/cell seed=0: --data-dir: .*nope is not a directory \(it does not exist\)/)
    await expect(runSweep({ ...grid, base: { ...grid.base, dataDir: data.dir, backend: 'nope' } }, root)).rejects.toThrow(UsageError)
    expect(fs.existsSync(root)).toBe(false)
  })
})

describe('grid files: a schema with the path of the bad field', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['grid: null', null, /^grid: expected a JSON object, got null$/],
    ['grid: a list', [], /^grid: expected a JSON object, got a list of 0$/],
    ['grids: null', { grids: null }, /^grid\.grids: expected a non-empty list of objects, got null$/],
    ['grids: []', { grids: [] }, /^grid\.grids: expected a non-empty list of objects, got a list of 0$/],
    ['grids: [null]', { grids: [null] }, /^grid\.grids\[0\]: expected an object of config keys to lists of values, got null$/],
    ['axes: null', { axes: null }, /^grid\.axes: expected an object of config keys to lists of values, got null$/],
    ['axes: {}', { axes: {} }, /^grid\.axes: has no keys: a grid needs at least one axis/],
    ['axes: a string', { axes: 'seed' }, /^grid\.axes: expected an object/],
    ['an empty axis', { axes: { seed: [] } }, /^grid\.axes\.seed: is an empty list/],
    ['a nested list', { axes: { seed: [[0]] } }, /^grid\.axes\.seed\[0\]: expected a string, number or null, got a list of 1$/],
    ['an object value', { axes: { seed: { toString: 1 } } }, /^grid\.axes\.seed: expected a string, number or null, or a list of them, got an object$/],
    ['an unknown axis', { axes: { sed: [0] } }, /^grid\.axes\.sed: unknown config key 'sed' \(did you mean 'seed'\?\)/],
    ['out in a grid', { base: { out: 'x' }, axes: { seed: [0] } }, /^grid\.base\.out: not allowed in a grid/],
    ['exclude: 1', { axes: { seed: [0] }, exclude: 1 }, /^grid\.exclude: expected a list of rules \(objects of config keys\), got 1$/],
    ['exclude: [null]', { axes: { seed: [0] }, exclude: [null] }, /^grid\.exclude\[0\]: expected an object of config keys, got null$/],
    ['exclude: [{}]', { axes: { seed: [0, 1] }, exclude: [{}] }, /^grid\.exclude\[0\]: is empty: it would match, and exclude, every cell$/],
    ['exclude: an unknown key', { axes: { seed: [0] }, exclude: [{ sede: 0 }] }, /^grid\.exclude\[0\]\.sede: unknown config key/],
    ['base: null', { base: null, axes: { seed: [0] } }, /^grid\.base: expected an object of config keys, got null$/],
    ['base: 1', { base: 1, axes: { seed: [0] } }, /^grid\.base: expected an object of config keys, got 1$/],
    ['base: []', { base: [], axes: { seed: [0] } }, /^grid\.base: expected an object of config keys, got a list of 0$/],
    ['base: a list value', { base: { seed: [0, 1] }, axes: { reg: ['l2'] } }, /^grid\.base\.seed: expected a string, number or null, got a list of 2$/],
    ['description: 1', { description: 1, axes: { seed: [0] } }, /^grid\.description: expected a string, got 1$/],
    ['an unknown top-level key', { axes: { seed: [0] }, exlude: [] }, /^grid\.exlude: unknown top-level key/],
    ['both axes and grids', { axes: { seed: [0] }, grids: [{ seed: [1] }] }, /^grid: give exactly one of "axes"/],
    ['all cells excluded', { axes: { seed: [0, 1] }, exclude: [{ seed: [0, 1] }] }, /^grid\.exclude: excludes all 2 cells; the grid has nothing to run$/],
    ['a huge number', { axes: { epochs: [1e400] } }, /^grid: cell epochs=Infinity: --epochs: expected a decimal integer from 1 to 100000, got 'Infinity'$/],
    ['too many cells', { axes: { seed: Array.from({ length: 200 }, (_, i) => i), epochs: Array.from({ length: 200 }, (_, i) => i + 1) } }, /^grid: expands to 40000 cells, more than the 10000 allowed/],
  ]
  it.each(cases)('%s', (_, grid, message) => {
    let err: unknown
    try {
      expandGrid(grid as GridFile, 'r')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toMatch(message)
  })

  it('deep nesting is refused without recursing into it', () => {
    let deep: unknown = 0
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(() => validateGrid({ axes: { seed: deep } })).toThrow(/^grid\.axes\.seed\[0\]: expected a string, number or null, got a list of 1$/)
  })

  it('the file name comes first when the grid is a file, and the CLI exits with 2', async () => {
    const file = path.join(data.dir, 'bad-grid.json')
    fs.writeFileSync(file, JSON.stringify({ axes: { seed: [0] }, exclude: [{}] }))
    const r = await cli('sweep', '--grid', file, '--out', fresh('bad-grid'))
    expect(r.err).toBe(`priorgrad sweep: ${file}: grid.exclude[0]: is empty: it would match, and exclude, every cell\n`)
    expect(r.code).toBe(2)
    fs.writeFileSync(file, 'null')
    expect((await cli('sweep', '--grid', file, '--data-dir', data.dir)).err).toBe(`priorgrad sweep: ${file}: grid: expected a JSON object, got null\n`)
  })
})

describe("a resume's config.json is checked, naming the file", () => {
  const runDir = (name: string, text: string): string => {
    const dir = fresh(name)
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'config.json'), text)
    return dir
  }
  it('without backend', async () => {
    const dir = runDir('no-backend', JSON.stringify({ config: { model: 'mlp' }, seed: 0, version: '0.1.0', command: [], resumes: [] }))
    const err = await resume(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigFileError)
    expect((err as Error).message).toBe(`${path.join(dir, 'config.json')}: backend: expected an object with a name, got undefined; was this file written by priorgrad train?`)
  })
  it.each([
    ['empty', '', /config\.json: the file is empty; expected JSON$/],
    ['not JSON', '{"config":', /config\.json: not valid JSON \(/],
    ['null', 'null', /config\.json: the file: expected a JSON object \(a run record\), got null/],
    ['a bad config value', JSON.stringify({ config: { lr: '0x10' }, seed: 0, version: '0', backend: { name: 'reference' }, command: [] }), /config\.json: config: --lr: expected a decimal number/],
    ['a bad seed', JSON.stringify({ config: {}, seed: 'a', version: '0', backend: { name: 'reference' }, command: [] }), /config\.json: seed: expected the config's seed 0, got 'a'/],
  ])('%s', async (name, text, message) => {
    const dir = runDir(name.replace(/ /g, '-'), text)
    const err = await resume(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigFileError)
    expect((err as Error).message).toContain(path.join(dir, 'config.json'))
    expect((err as Error).message).toMatch(message)
  })
})

describe('--out refuses a directory priorgrad did not create', () => {
  const userDir = (files: Record<string, string>): string => {
    const dir = fresh('user')
    fs.mkdirSync(dir)
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text)
    return dir
  }

  it("train: a user's own config.json is not replaced, a user's metrics.csv is not appended to", async () => {
    for (const files of [{ 'config.json': '{"mine": true}\n' }, { 'metrics.csv': 'a,b\n1,2\n' }, { 'notes.txt': 'hello' }] as Array<Record<string, string>>) {
      const dir = userDir(files)
      const r = await cli('train', ...tiny, '--data-dir', data.dir, '--out', dir)
      expect(r.err).toMatch(/^priorgrad train: --out: .* is not empty and was not created by priorgrad \(it has no priorgrad config\.json\); choose another --out, or pass --overwrite/)
      expect(r.code).toBe(2)
      for (const [f, text] of Object.entries(files)) expect(fs.readFileSync(path.join(dir, f), 'utf8')).toBe(text)
      expect(fs.readdirSync(dir)).toEqual(Object.keys(files))
    }
  })

  it('--overwrite writes the run there, replacing only the run files', async () => {
    const dir = userDir({ 'config.json': '{"mine": true}\n', 'metrics.csv': 'a,b\n1,2\n', 'notes.txt': 'hello' })
    const r = await cli('train', ...tiny, '--data-dir', data.dir, '--out', dir, '--overwrite')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('hello')
    expect(fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8').startsWith('kind,epoch,iteration')).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).config.model).toBe('mlp')
    // ... and a run is then priorgrad's: a second train is told to resume or --overwrite it
    const again = await cli('train', ...tiny, '--data-dir', data.dir, '--out', dir)
    expect(again.err).toMatch(/already holds a run; continue it with --resume .*, start it over with --overwrite/)
    expect(again.code).toBe(2)
    expect(await cli('train', '--resume', dir, '--overwrite')).toMatchObject({ code: 2, err: expect.stringMatching(/--overwrite: cannot be given with --resume/) })
  })

  it('a directory with only priorgrad config.json (stopped before its first row) is started over', async () => {
    const first = fresh('own')
    const config = tinyConfig(data.dir, first, { epochs: 1 })
    await train(config)
    const dir = fresh('own-restart')
    fs.mkdirSync(dir)
    fs.copyFileSync(path.join(first, 'config.json'), path.join(dir, 'config.json'))
    await train({ ...config, out: dir })
    expect(metricsWithoutTime(dir)).toBe(metricsWithoutTime(first))
  })

  it("sweep: a user's own grid.json is not replaced; priorgrad's own sweep root is recognised by its marker", async () => {
    const grid: GridFile = { base: { model: 'mlp', dataDir: data.dir, testSubset: 32, epochs: 1, backend: 'reference' }, axes: { seed: [0] } }
    const gridFile = path.join(data.dir, 'sweep-grid.json')
    fs.writeFileSync(gridFile, JSON.stringify(grid))
    const dir = userDir({ 'grid.json': '{"my": "grid"}\n' })
    const r = await cli('sweep', '--grid', gridFile, '--out', dir, '--progress', 'none')
    expect(r.err).toMatch(/^priorgrad sweep: --out: .* is not empty and is not a priorgrad sweep directory \(no \.priorgrad-sweep\.json, and its grid\.json differs from this grid\); choose another --out, or pass --overwrite/)
    expect(r.code).toBe(2)
    expect(fs.readFileSync(path.join(dir, 'grid.json'), 'utf8')).toBe('{"my": "grid"}\n')

    const root = fresh('sweep-own')
    expect((await cli('sweep', '--grid', gridFile, '--out', root, '--progress', 'none')).code).toBe(0)
    expect(fs.existsSync(path.join(root, SWEEP_MARKER))).toBe(true)
    // the grid gains a cell: the marked root takes it, the finished cell is skipped
    fs.writeFileSync(gridFile, JSON.stringify({ ...grid, axes: { seed: [0, 1] } }))
    const more = await cli('sweep', '--grid', gridFile, '--out', root, '--progress', 'none')
    expect(more.out).toMatch(/1 ran, 1 skipped, 0 failed/)
    // a root from before the marker is recognised by an equal grid.json
    fs.rmSync(path.join(root, SWEEP_MARKER))
    expect((await cli('sweep', '--grid', gridFile, '--out', root, '--progress', 'none')).out).toMatch(/0 ran, 2 skipped/)
    // --overwrite takes a user's directory
    expect((await cli('sweep', '--grid', gridFile, '--out', dir, '--progress', 'none', '--overwrite')).code).toBe(0)
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'grid.json'), 'utf8'))).toEqual({ ...grid, axes: { seed: [0, 1] } })
  })

  it('train --help says how priorgrad recognises its own directory', async () => {
    const { out } = await cli('train', '--help')
    expect(out).toMatch(/--out DIR .*must be missing, empty or one priorgrad made \(it holds a priorgrad config\.json\)/)
    expect(out).toMatch(/--overwrite .*config\.json, metrics\.jsonl\/csv, done\.json and checkpoint\/ are replaced, other files kept/)
    expect((await cli('sweep', '--help')).out).toContain('.priorgrad-sweep.json')
  })
})
