// The command line: every config key has a documented flag with its default, bad flags and
// values are rejected with messages naming the flag (exit code 2), bad data gives exit code 1
// with the file named; grid files expand into stably named cells, and shards partition them.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/experiments/cli.js'
import { defaultConfig, flagOf, resolveConfig, OPTIONS } from '../src/experiments/config.js'
import { parseTrainArgs } from '../src/experiments/args.js'
import { expandGrid, parseShard, shardCells } from '../src/experiments/sweep.js'
import { tempDir } from './helpers/data-files.js'

/** Run the CLI capturing stdout and stderr. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { out: (s) => (out += s), err: { write: (s: string) => (err += s), isTTY: false } })
  return { code, out, err }
}

let tmp: { dir: string; cleanup: () => void }
beforeAll(() => (tmp = tempDir('priorgrad-cli-')))
afterAll(() => tmp.cleanup())

describe('train --help', () => {
  it('documents every config key as a flag with its default', async () => {
    const { code, out } = await cli('train', '--help')
    expect(code).toBe(0)
    for (const key of Object.keys(defaultConfig()) as Array<keyof ReturnType<typeof defaultConfig>>) {
      const line = out.split('\n').find((l) => l.startsWith(`  --${flagOf(key)} `))
      expect(line, `--${flagOf(key)} (config key ${key}) is missing from train --help`).toBeDefined()
    }
    expect(OPTIONS).toHaveLength(Object.keys(defaultConfig()).length)
    expect(out.match(/\(default: [^)]+\)/g)!.length).toBeGreaterThanOrEqual(OPTIONS.length)
    expect(out).toContain('--lr X')
    expect(out).toContain('learning rate; a number in (0, 1000] (default: 0.001)')
    expect(out).toContain('images per step; an integer from 1 to 65536 (default: 32)')
    expect(out).toContain('--resume DIR')
  })

  it('every subcommand and the top level have --help', async () => {
    for (const cmd of ['sweep', 'report', 'start']) {
      const { code, out } = await cli(cmd, '--help')
      expect(code).toBe(0)
      expect(out).toMatch(new RegExp(`^Usage: priorgrad ${cmd}`))
    }
    const top = await cli('--help')
    expect(top.out).toMatch(/train[\s\S]*sweep[\s\S]*report[\s\S]*start/)
  })
})

describe('parsing and defaults', () => {
  it('reads flags into a resolved config with the spec defaults', () => {
    const args = parseTrainArgs(['--reg', 'l1', '--batch-size', '64', '--train-subset', '1000', '--threshold', '0.5'])
    if (args.help || args.resume !== null) throw new Error('expected a config')
    expect(args.config).toMatchObject({ reg: 'l1', lambda: 1e-5, batchSize: 64, trainSubset: 1000, threshold: 0.5, lr: 1e-3, optimizer: 'adam', seed: 0, out: 'runs/mnist-cnn2-l1-seed0' })
    expect(resolveConfig({ reg: 'l2' }).lambda).toBe(5e-4)
    expect(resolveConfig({ reg: 'dynamic-prior' })).toMatchObject({ lambda: 5e-4, sp: 0.01, S: 10, alpha: 0.9 })
    expect(resolveConfig({ reg: 'dynamic-prior', lambda: 0.01, trainSubset: 'all' })).toMatchObject({ lambda: 0.01, trainSubset: null })
  })

  it.each([
    [['train', '--bogus', '1'], /priorgrad train: unknown flag --bogus/],
    [['train', '--batchsize', '3'], /did you mean --batch-size\?/],
    [['train', '--lr', 'abc'], /--lr: expected a decimal number in \(0, 1000\], got 'abc'/],
    [['train', '--lr', ''], /--lr: expected a decimal number in \(0, 1000\], got ''/],
    [['train', '--epochs', '1.5'], /--epochs: expected an integer from 1 to 100000, got '1.5'/],
    [['train', '--sp', '0'], /--sp: expected a number in \(0, 1\], got '0'/],
    [['train', '--model', 'resnet50'], /--model: expected one of mlp\|cnn2\|vgg11\|resnet18\|senet18\|densenet121, got 'resnet50'/],
    [['train', '--lr'], /--lr needs a value/],
    [['train', 'stray'], /unexpected argument 'stray'/],
    [['train', '--dataset', 'cifar10'], /--data-dir: required for --dataset cifar10/],
    [['train', '--temperature-bits', '8'], /--temperature-bits: expected one of 24\|16, got '8'/],
    [['train', '--normalizer', 'expected', '--temperature', 'per-experiment'], /--normalizer expected needs --temperature per-entry/],
    [['train', '--resume', 'x', '--lr', '1'], /--lr: cannot be changed with --resume/],
    [['sweep'], /--grid FILE is required/],
    [['sweep', '--grid', 'missing.json'], /--grid: missing.json does not exist/],
    [['report'], /give at least one run or sweep directory/],
    [['fly'], /unknown command 'fly'/],
  ])('%j fails with exit code 2 and %s', async (argv, message) => {
    const { code, err } = await cli(...argv)
    expect(err).toMatch(message)
    expect(code).toBe(2)
  })

  it('a CIFAR directory without the data files fails with exit code 1, naming the files', async () => {
    const { code, err } = await cli('train', '--dataset', 'cifar10', '--data-dir', tmp.dir, '--out', path.join(tmp.dir, 'run'), '--backend', 'reference', '--progress', 'none')
    expect(code).toBe(1)
    expect(err).toMatch(/data_batch_1\.bin/)
    expect(err).toContain(tmp.dir)
  })
})

describe('numbers: one strict parser (issue #21)', () => {
  const train = (...argv: string[]) => () => parseTrainArgs(argv)
  it.each([
    // not decimal
    [['--seed', '0x10'], /--seed: expected a decimal integer from 0 to 4294967295, got '0x10'/],
    [['--seed', '+3'], /--seed: expected a decimal integer .*, got '\+3'/],
    [['--seed', ' 5 '], /--seed: expected a decimal integer .*, got ' 5 '/],
    [['--lr', 'Infinity'], /--lr: expected a decimal number in \(0, 1000\], got 'Infinity'/],
    [['--lr', '1_000'], /--lr: expected a decimal number/],
    // underflow: a positive rate, and a strength that would silently become 0
    [['--lr', '1e-400'], /--lr: expected a number in \(0, 1000\] \(the value underflows to 0\), got '1e-400'/],
    [['--lambda', '1e-400'], /--lambda: expected a number in \[0, 1000\] \(the value underflows to 0\)/],
    // integers exact
    [['--seed', '9007199254740993'], /--seed: .*not a safe integer.*got '9007199254740993'/],
    [['--epochs', '2.5'], /--epochs: expected an integer from 1 to 100000, got '2.5'/],
    // sane upper bounds, each naming the option and its range
    [['--epochs', '1e300'], /--epochs: expected an integer from 1 to 100000/],
    [['--batch-size', '1e300'], /--batch-size: expected an integer from 1 to 65536/],
    [['--seed', '1e300'], /--seed: expected an integer from 0 to 4294967295/],
    [['--S', '1e9'], /--S: expected an integer from 1 to 1000, got '1e9'/],
    [['--lambda', '1e308'], /--lambda: expected a number in \[0, 1000\], got '1e308'/],
    [['--lr', '1e300'], /--lr: expected a number in \(0, 1000\], got '1e300'/],
    [['--projected-S', '1e9'], /--projected-S: expected an integer from 1 to 1000, got '1e9'/],
    [['--train-subset', '1e300'], /--train-subset: expected an integer from 1 to 10000000/],
    [['--divergence-factor', '1'], /--divergence-factor: expected a number in \(1, 1e\+30\], got '1'/],
  ])('%j is rejected: %s', (argv, message) => {
    expect(train(...argv)).toThrow(message)
  })

  it('accepts decimal forms and exponents, and keeps integers exact', () => {
    const c = (argv: string[]) => {
      const a = parseTrainArgs(argv)
      if (a.help || a.resume !== null) throw new Error('expected a config')
      return a.config
    }
    expect(c(['--lr', '1e-3', '--seed', '4294967295', '--epochs', '1e2', '--lambda', '0', '--momentum', '.5'])).toMatchObject({ lr: 1e-3, seed: 4294967295, epochs: 100, lambda: 0, momentum: 0.5 })
    expect(c(['--seed', '-0']).seed).toBe(0)
    expect(Object.is(c(['--seed', '-0']).seed, -0)).toBe(false)
    expect(c(['--divergence-factor', 'none']).divergenceFactor).toBeNull()
    expect(resolveConfig({ lr: 0.5, seed: 3 })).toMatchObject({ lr: 0.5, seed: 3 })
    expect(() => resolveConfig({ lr: Infinity })).toThrow(/--lr: expected a decimal number in \(0, 1000\], got 'Infinity'/)
    expect(() => resolveConfig({ seed: { toString: 1 } })).toThrow(/--seed: expected a string or number, got an object/)
  })
})

describe('flags (issue #19)', () => {
  it('a negative number after a space is read as the value, like --lr=-0.01', async () => {
    for (const argv of [['train', '--lr', '-0.01'], ['train', '--lr=-0.01']]) {
      const { code, err } = await cli(...argv)
      expect(err).toBe("priorgrad train: --lr: expected a number in (0, 1000], got '-0.01'\n")
      expect(code).toBe(2)
    }
    expect(() => parseTrainArgs(['--seed', '-1'])).toThrow(/--seed: expected an integer from 0 to 4294967295, got '-1'/)
    expect(() => parseTrainArgs(['--out', '--lr'])).toThrow(/--out needs a value, got the flag-like '--lr' \(write --out=VALUE/)
  })

  it('a flag given twice is an error (the first value would be silently dropped, unchecked)', () => {
    expect(() => parseTrainArgs(['--lr==1', '--lr', '0.1'])).toThrow(/^--lr is given twice; give it once$/)
    expect(() => parseTrainArgs(['--seed', '1', '--seed=2'])).toThrow(/--seed is given twice/)
  })

  it.each([
    ['--epoch', '--epochs'], ['--lamda', '--lambda'], ['--batchsize', '--batch-size'], ['--learning-rate', null],
    ['--optimiser', '--optimizer'], ['--s', '--S'], ['--seeds', '--seed'], ['--resum', '--resume'], ['--helpp', '--help'],
  ])('a typo %s suggests %s', async (flag, hint) => {
    const { code, err } = await cli('train', flag, '1')
    expect(code).toBe(2)
    expect(err.startsWith(`priorgrad train: unknown flag ${flag}`)).toBe(true)
    if (hint === null) expect(err).not.toContain('did you mean')
    else expect(err).toContain(`; did you mean ${hint}? (see priorgrad train --help)`)
  })

  it('a mistyped key in a grid file gets the same hint', () => {
    expect(() => expandGrid({ base: { lamda: 1 }, axes: { seed: [0] } }, 'r')).toThrow(/grid\.base\.lamda: unknown config key 'lamda' \(did you mean 'lambda'\?\)/)
  })

  it('report on a missing directory: exit code 2 (usage) and one prefix', async () => {
    const missing = path.join(tmp.dir, 'no-such-dir')
    const { code, err } = await cli('report', missing)
    expect(err).toBe(`priorgrad report: ${missing} does not exist (expected a run or sweep directory)\n`)
    expect(code).toBe(2)
  })

  it('library errors keep one prefix: priorgrad train: ..., not priorgrad train: train: ...', async () => {
    const dir = path.join(tmp.dir, 'own-run')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'config.json'), '')
    const { code, err } = await cli('train', '--resume', dir)
    expect(err).toBe(`priorgrad train: ${path.join(dir, 'config.json')}: the file is empty; expected JSON\n`)
    expect(code).toBe(1)
    expect(err).not.toMatch(/priorgrad \w+: (train|resume|report): /)
  })
})

describe('grids and shards', () => {
  const grid = {
    base: { model: 'mlp', epochs: 1 },
    grids: [{ reg: ['none', 'l2'], seed: [0, 1] }, { reg: 'dynamic-prior', sp: [0.01, 0.1], seed: [0, 1] }],
    exclude: [{ reg: 'l2', seed: 1 }],
  }
  it('expands grids into stably named cells, with exclusions', () => {
    const cells = expandGrid(grid, 'root')
    expect(cells.map((c) => c.name)).toEqual([
      'reg=none,seed=0', 'reg=none,seed=1', 'reg=l2,seed=0',
      'reg=dynamic-prior,sp=0.01,seed=0', 'reg=dynamic-prior,sp=0.01,seed=1', 'reg=dynamic-prior,sp=0.1,seed=0', 'reg=dynamic-prior,sp=0.1,seed=1',
    ])
    expect(cells[3]!.config).toMatchObject({ model: 'mlp', reg: 'dynamic-prior', sp: 0.01, seed: 0, lambda: 5e-4, out: path.join('root', 'reg=dynamic-prior,sp=0.01,seed=0') })
  })

  it('shards partition the cells: every cell in exactly one shard', () => {
    const names = expandGrid(grid, 'root').map((c) => c.name)
    const shards = [0, 1, 2].map((i) => shardCells(names, parseShard(`${i}/3`)))
    expect(shards[1]).toEqual([names[1], names[4]])
    expect(shards.flat().sort()).toEqual([...names].sort())
    expect(() => parseShard('3/3')).toThrow(/--shard: expected i\/n with 0 <= i < n/)
    expect(() => parseShard('a/2')).toThrow(/--shard/)
  })

  it('rejects bad grids before running anything, naming the cell and flag', () => {
    expect(() => expandGrid({ base: {}, axes: { reg: ['l2', 'l3'] } }, 'r', 'g.json')).toThrow(/g\.json: cell reg=l3: --reg: expected one of none\|l1\|l2\|dynamic-prior, got 'l3'/)
    expect(() => expandGrid({ base: { learningRate: 1 }, axes: { seed: [0] } }, 'r')).toThrow(/unknown config key 'learningRate'/)
    expect(() => expandGrid({ base: {} } as never, 'r')).toThrow(/exactly one of "axes"/)
    expect(() => expandGrid({ grids: [{ seed: [0] }, { seed: 0 }] }, 'r')).toThrow(/cell seed=0 appears twice/)
  })

  it('the shipped grid files are valid', () => {
    const dir = path.join(__dirname, '..', 'grids')
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'))
    expect(files).toEqual(expect.arrayContaining(['mnist-table1.json', 'cifar10-table1.json', 'cifar100-projected-ce.json']))
    for (const f of files) {
      expect(expandGrid(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), 'r', f).length, f).toBeGreaterThan(0)
    }
    const mnist = expandGrid(JSON.parse(fs.readFileSync(path.join(dir, 'mnist-table1.json'), 'utf8')), 'r')
    expect(mnist).toHaveLength(18)
    expect(new Set(mnist.map((c) => c.config.model))).toEqual(new Set(['cnn2']))
  })
})

describe('progress display', () => {
  const info = (iteration: number) => ({ epoch: 0, epochs: 2, iteration, totalIterations: 100, loss: 0.5, batchSize: 32 })
  it('on a terminal: one line redrawn with \\r, with images/s and ETA', async () => {
    const { createProgress } = await import('../src/experiments/progress.js')
    let text = ''
    let t = 0
    const p = createProgress({ stream: { write: (s: string) => (text += s), isTTY: true }, now: () => t })
    p.update(info(10))
    t = 1000 // 10 steps of 32 images in 1 s
    p.update(info(20))
    expect(text).toBe('\repoch 1/2  [##..................]  iter 10/100  loss 0.5000  - img/s  ETA -\x1b[K\repoch 1/2  [####................]  iter 20/100  loss 0.5000  320 img/s  ETA 0:08\x1b[K')
    p.log('hello')
    expect(text.endsWith('\r\x1b[Khello\nepoch 1/2  [####................]  iter 20/100  loss 0.5000  320 img/s  ETA 0:08')).toBe(true)
  })
  it('not on a terminal: a plain line every N iterations', async () => {
    const { createProgress } = await import('../src/experiments/progress.js')
    let text = ''
    const p = createProgress({ stream: { write: (s: string) => (text += s), isTTY: false }, every: 10, now: () => 0 })
    for (let i = 1; i <= 25; i++) p.update(info(i))
    expect(text.split('\n').filter(Boolean).map((l) => l.match(/iter (\d+)/)![1])).toEqual(['10', '20'])
    expect(text).not.toContain('\r')
  })
  it('a sweep shows several runs on one display: the rate restarts with each run', async () => {
    const { createProgress } = await import('../src/experiments/progress.js')
    let text = ''
    let t = 0
    const p = createProgress({ stream: { write: (s: string) => (text += s), isTTY: false }, every: 10, now: () => t })
    p.update(info(10))
    t = 1000
    p.update(info(20)) // run 1: 320 img/s
    t = 600_000 // ten minutes later the next run starts at iteration 10 again
    p.update(info(10))
    t = 601_000
    p.update(info(20))
    expect(text.trim().split('\n').pop()).toContain('320 img/s')
  })
})
