// Checkpoints: bit-identical round trips (weights, optimizer state, generators), errors on bad
// files that name the file and key and leave everything untouched, and crash safety of saves.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Generator, Tensor, randn } from '../src/index.js'
import { BatchNorm1d, Linear, ReLU, Sequential, type Module } from '../src/nn/index.js'
import { crossEntropy } from '../src/nn/functional.js'
import { Adam, SGD, type Optimizer } from '../src/optim/index.js'
import { CheckpointError, loadCheckpoint, loadStateDict, saveCheckpoint, saveStateDict } from '../src/nn/checkpoint.js'
import { spawnSync } from 'node:child_process'
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js'

// Make the n-th atomic write throw, to simulate a crash in the middle of a save.
const crash = vi.hoisted(() => ({ failAt: 0, calls: 0 }))
vi.mock('../src/io/atomic.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/io/atomic.js')>()
  return {
    ...real,
    writeFileAtomic: (target: string, data: string | Uint8Array) => {
      crash.calls++
      if (crash.calls === crash.failAt) throw new Error('simulated crash')
      real.writeFileAtomic(target, data)
    },
  }
})

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-ckpt-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = (): string => path.join(root, `ckpt-${++counter}`)
beforeEach(() => {
  crash.failAt = 0
  crash.calls = 0
})

// A tiny model with a float parameter, float buffers and an int32 buffer (BatchNorm's counter).
const makeModel = (seed: number): Module =>
  new Sequential(new Linear(4, 8, { generator: new Generator(seed) }), new BatchNorm1d(8), new ReLU(), new Linear(8, 3, { generator: new Generator(seed + 1) }))

function trainSteps(model: Module, opt: Optimizer<{ lr: number }>, rng: Generator, steps: number): void {
  for (let s = 0; s < steps; s++) {
    const x = randn([6, 4], { generator: rng })
    const y = new Tensor(Int32Array.from({ length: 6 }, () => rng.int(3)), [6])
    opt.zeroGrad()
    crossEntropy(model.forward(x), y).backward()
    opt.step()
  }
}
/** Every state-dict tensor, as plain arrays, for bit-exact comparison. */
const snapshot = (model: Module): Record<string, number[]> =>
  Object.fromEntries([...model.stateDict()].map(([k, t]) => [k, Array.from(t.data)]))
/** The pid of a process that has exited (a stand-in for one killed in the middle of a save). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!
const sha = (file: string): string => createHash('sha256').update(new Uint8Array(fs.readFileSync(file))).digest('hex')

/** Rewrite one file of a checkpoint and its manifest entry (as saveCheckpoint writes it), so only the content is wrong. */
function replaceFile(dir: string, file: string, bytes: Uint8Array | string): void {
  fs.writeFileSync(path.join(dir, file), bytes)
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
  manifest.files[file] = { bytes: fs.statSync(path.join(dir, file)).size, sha256: sha(path.join(dir, file)) }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n')
}

describe('saveCheckpoint / loadCheckpoint round trip', () => {
  it.each([
    ['Adam amsgrad', (m: Module) => new Adam(m.parameters(), { lr: 1e-2, amsgrad: true })],
    ['SGD momentum', (m: Module) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true })],
  ])('%s: continuing after load is bit-identical to never saving', (_name, makeOpt) => {
    const dir = freshDir()
    const model = makeModel(1)
    const opt = makeOpt(model)
    const rng = new Generator(7)
    trainSteps(model, opt, rng, 3)
    const saved = snapshot(model)
    saveCheckpoint(dir, { model, optimizer: opt, generators: { data: rng }, extra: { epoch: 3, cursor: [17, 2] } })
    trainSteps(model, opt, rng, 3)

    const model2 = makeModel(99)
    const opt2 = makeOpt(model2)
    const rng2 = new Generator(12345)
    expect(snapshot(model2)).not.toEqual(saved)
    const extra = loadCheckpoint(dir, { model: model2, optimizer: opt2, generators: { data: rng2 } })
    expect(extra).toEqual({ epoch: 3, cursor: [17, 2] })
    expect(snapshot(model2)).toEqual(saved)
    trainSteps(model2, opt2, rng2, 3)
    expect(snapshot(model2)).toEqual(snapshot(model))
    expect(rng2.state()).toEqual(rng.state())
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'model.safetensors', 'optimizer.safetensors', 'state.json'])
  })

  it('model.safetensors is a plain safetensors file with the model dtypes and metadata', () => {
    const dir = freshDir()
    const model = makeModel(1)
    saveCheckpoint(dir, { model })
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))))
    expect(metadata).toEqual({ format: 'priorgrad', version: '2' })
    expect(tensors['0.weight']!.dtype).toBe('F32')
    expect(tensors['0.weight']!.shape).toEqual([8, 4])
    expect(tensors['1.num_batches_tracked']!.dtype).toBe('I64') // as PyTorch writes it
    expect(Object.keys(tensors).sort()).toEqual([...model.stateDict().keys()].sort())
    expect(fs.existsSync(path.join(dir, 'optimizer.safetensors'))).toBe(false)
    expect(() => loadCheckpoint(dir, { model, optimizer: new Adam(model.parameters()) })).toThrow(/state.json\): the checkpoint holds no optimizer state/)
  })

  it('saving again replaces the checkpoint; extra must be JSON; other directories are refused', () => {
    const dir = freshDir()
    const model = makeModel(1)
    saveCheckpoint(dir, { model, extra: { epoch: 1 } })
    saveCheckpoint(dir, { model, extra: { epoch: 2 } })
    expect(loadCheckpoint(dir, { model })).toEqual({ epoch: 2 })
    expect(fs.readdirSync(root).filter((f) => f.includes('staging') || f.endsWith('.prev'))).toEqual([])
    expect(() => saveCheckpoint(dir, { model, extra: { loss: NaN } })).toThrow(/extra.loss is NaN/)
    expect(() => saveCheckpoint(dir, { model, extra: { seen: new Map() } })).toThrow(/extra.seen is a Map/)
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine')
    expect(() => saveCheckpoint(dir, { model })).toThrow(/holds files that are not part of a checkpoint \(notes.txt\)/)
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine')
  })
})

describe('bad checkpoints give clear errors and change nothing', () => {
  // A saved checkpoint from one model, and a second trained model + optimizer + rng to load into.
  function setup(): { dir: string; model: Module; opt: Adam; rng: Generator; before: () => string } {
    const dir = freshDir()
    const source = makeModel(1)
    const sourceOpt = new Adam(source.parameters())
    trainSteps(source, sourceOpt, new Generator(3), 2)
    saveCheckpoint(dir, { model: source, optimizer: sourceOpt, generators: { data: new Generator(5) } })
    const model = makeModel(2)
    const opt = new Adam(model.parameters())
    const rng = new Generator(8)
    trainSteps(model, opt, rng, 1)
    const before = (): string => JSON.stringify([snapshot(model), opt.stateDict(), rng.state()])
    return { dir, model, opt, rng, before }
  }
  const modelEntries = (model: Module): Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> =>
    Object.fromEntries([...model.stateDict()].map(([k, t]) => [k, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data: t.data as Float32Array }]))

  it.each([
    ['missing key', (e: Record<string, unknown>) => { delete e['3.bias'] }, /model.safetensors\): missing key "3.bias" \(expected shape \[3\]\)/],
    ['unexpected key', (e: Record<string, unknown>) => { e['extra.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, /unexpected key "extra.weight" \(shape \[1\]\)/],
    ['wrong shape', (e: Record<string, any>) => { e['0.weight'] = { dtype: 'F32', shape: [4, 8], data: new Float32Array(32) } }, /key "0.weight": expected shape \[8,4\], found \[4,8\]/],
    ['wrong dtype', (e: Record<string, any>) => { e['0.bias'] = { dtype: 'F64', shape: [8], data: new Float64Array(8) } }, /key "0.bias": file dtype F64 cannot load exactly into a float32 tensor/],
  ])('%s in model.safetensors', (_name, mutate, message) => {
    const { dir, model, opt, rng, before } = setup()
    const state = before()
    const entries = modelEntries(makeModel(4))
    mutate(entries)
    replaceFile(dir, 'model.safetensors', encodeSafetensors(entries))
    expect(() => loadCheckpoint(dir, { model, optimizer: opt, generators: { data: rng } })).toThrow(message)
    expect(before()).toBe(state)
  })

  it('truncated model.safetensors: the error names the byte offsets', () => {
    const { dir, model, opt, before } = setup()
    const state = before()
    const file = path.join(dir, 'model.safetensors')
    fs.writeFileSync(file, new Uint8Array(fs.readFileSync(file)).subarray(0, fs.statSync(file).size - 10))
    expect(() => loadCheckpoint(dir, { model, optimizer: opt })).toThrow(/model.safetensors\).*file byte offset \d+.*truncated/)
    expect(before()).toBe(state)
  })

  it('a bad optimizer buffer is found before the (valid) model is loaded', () => {
    const { dir, model, opt, before } = setup()
    const state = before()
    const { tensors } = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'optimizer.safetensors'))))
    const entries = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data as Float32Array }]))
    entries['state.0.expAvg'] = { dtype: 'F32', shape: [31], data: new Float32Array(31) }
    replaceFile(dir, 'optimizer.safetensors', encodeSafetensors(entries))
    expect(() => loadCheckpoint(dir, { model, optimizer: opt })).toThrow(/optimizer.safetensors\): Adam.loadStateDict: state of param 0: "expAvg" has 31 values, the param has shape \[8,4\]/)
    expect(before()).toBe(state)
    expect(() => loadCheckpoint(dir, { model, optimizer: new SGD(model.parameters(), { lr: 1 }) })).toThrow(/holds Adam state, the optimizer is SGD/)
  })

  it('files mixed from two saves are refused (manifest), as are bad generator states', () => {
    const { dir, model, opt, rng, before } = setup()
    const state = before()
    const other = freshDir()
    saveCheckpoint(other, { model: makeModel(6) })
    fs.copyFileSync(path.join(other, 'model.safetensors'), path.join(dir, 'model.safetensors'))
    expect(() => loadCheckpoint(dir, { model, optimizer: opt })).toThrow(/model.safetensors\): the file does not match the manifest in manifest.json/)
    expect(() => loadCheckpoint(other, { model, generators: { data: rng } })).toThrow(/no state for generator "data" \(saved: none\)/)
    expect(before()).toBe(state)
  })
})

describe('crash safety', () => {
  it('a save that fails at its second write leaves the previous checkpoint loadable', () => {
    const dir = freshDir()
    const model = makeModel(1)
    const opt = new Adam(model.parameters())
    trainSteps(model, opt, new Generator(1), 1)
    saveCheckpoint(dir, { model, optimizer: opt, extra: { epoch: 1 } })
    const old = snapshot(model)
    trainSteps(model, opt, new Generator(2), 2)
    crash.calls = 0
    crash.failAt = 2
    expect(() => saveCheckpoint(dir, { model, optimizer: opt, extra: { epoch: 3 } })).toThrow(/simulated crash; the previous checkpoint \(if any\) is unchanged/)
    crash.failAt = 0
    expect(fs.readdirSync(root).filter((f) => f.includes('staging'))).toEqual([])
    const fresh = makeModel(9)
    expect(loadCheckpoint(dir, { model: fresh, optimizer: new Adam(fresh.parameters()) })).toEqual({ epoch: 1 })
    expect(snapshot(fresh)).toEqual(old)
  })

  it('a crash between the two renames of the swap: the previous checkpoint loads from .prev', () => {
    const dir = freshDir()
    const model = makeModel(1)
    saveCheckpoint(dir, { model, extra: { epoch: 1 } })
    // The state a crash right after `rename(dir, dir.prev)` leaves behind, plus the killed
    // process's (complete) staging dir.
    fs.renameSync(dir, `${dir}.prev`)
    const staging = path.join(root, `.${path.basename(dir)}.staging-${deadPid()}-1`)
    fs.mkdirSync(staging)
    const fresh = makeModel(2)
    expect(loadCheckpoint(dir, { model: fresh })).toEqual({ epoch: 1 })
    expect(snapshot(fresh)).toEqual(snapshot(model))
    expect(fs.existsSync(staging)).toBe(false)
    // The next save completes normally and removes .prev once the new checkpoint is in place.
    saveCheckpoint(dir, { model, extra: { epoch: 2 } })
    expect(fs.existsSync(`${dir}.prev`)).toBe(false)
    expect(loadCheckpoint(dir, { model: fresh })).toEqual({ epoch: 2 })
  })

  // #21: 7 of 20 kill -9s left a `.checkpoint.staging-*` directory that nothing removed.
  it.each(['save', 'load'])('a %s removes staging dirs of dead processes and stale ones of this process, not those of live ones', (op) => {
    const dir = freshDir()
    const model = makeModel(1)
    saveCheckpoint(dir, { model })
    const staging = (pid: number, n: number): string => path.join(root, `.${path.basename(dir)}.staging-${pid}-${n}`)
    const dead = staging(deadPid(), 1)
    const ownStale = staging(process.pid, 999_999)
    const live = staging(process.ppid, 1) // the parent process is alive while this test runs
    const unrelated = path.join(root, `.${path.basename(dir)}.staging-notes`)
    for (const d of [dead, ownStale, live, unrelated]) {
      fs.mkdirSync(d)
      fs.writeFileSync(path.join(d, 'model.safetensors'), 'partial')
    }
    if (op === 'save') saveCheckpoint(dir, { model })
    else loadCheckpoint(dir, { model })
    expect([dead, ownStale, live, unrelated].map((d) => fs.existsSync(d))).toEqual([false, false, true, true])
    for (const d of [live, unrelated]) fs.rmSync(d, { recursive: true })
  })
})

describe('saveStateDict / loadStateDict (weights only)', () => {
  it('round-trips bit-identically and reports missing keys when not strict', () => {
    const file = path.join(root, 'weights.safetensors')
    const model = makeModel(1)
    saveStateDict(file, model)
    const fresh = makeModel(2)
    loadStateDict(file, fresh)
    expect(snapshot(fresh)).toEqual(snapshot(model))
    const small = path.join(root, 'small.safetensors')
    saveStateDict(small, new Sequential(new Linear(4, 8, { generator: new Generator(3) })))
    expect(() => loadStateDict(small, fresh)).toThrow(/loadStateDict\(.*small.safetensors\): missing key "1.weight"/)
    expect(loadStateDict(small, fresh, { strict: false })).toEqual({ missingKeys: expect.arrayContaining(['3.bias']), unexpectedKeys: [] })
    expect(snapshot(fresh)['0.weight']).not.toEqual(snapshot(model)['0.weight'])
  })

  it('loads float32 weights into a float64 model exactly', () => {
    const file = path.join(root, 'f32.safetensors')
    const src = new Linear(3, 2, { generator: new Generator(1) })
    saveStateDict(file, src)
    const dst = new Linear(3, 2, { dtype: 'float64' })
    loadStateDict(file, dst)
    expect(Array.from(dst.weight.data)).toEqual(Array.from(src.weight.data))
  })
})

// #21: every byte of a checkpoint is vouched for, and every field is checked, with errors that
// name loadCheckpoint and the file (a CheckpointError), never a raw TypeError or ENOENT.
describe('hostile and damaged checkpoints (#21)', () => {
  function saved(): { dir: string; load: () => unknown; before: () => string } {
    const dir = freshDir()
    const source = makeModel(1)
    const sourceOpt = new Adam(source.parameters(), { lr: 1e-3 })
    trainSteps(source, sourceOpt, new Generator(3), 2)
    saveCheckpoint(dir, { model: source, optimizer: sourceOpt, generators: { data: new Generator(5) }, extra: { epoch: 2, cursor: { nextBatch: 7 } } })
    const model = makeModel(2)
    const opt = new Adam(model.parameters())
    const rng = new Generator(8)
    const before = (): string => JSON.stringify([snapshot(model), opt.stateDict(), rng.state()])
    return { dir, load: () => loadCheckpoint(dir, { model, optimizer: opt, generators: { data: rng } }), before }
  }
  /** The error `fn` throws; fails the test when it is not a CheckpointError naming loadCheckpoint. */
  function namedError(fn: () => unknown): string {
    try {
      fn()
    } catch (err) {
      expect(err).toBeInstanceOf(CheckpointError)
      expect((err as Error).message).toMatch(/^loadCheckpoint\(/)
      return (err as Error).message
    }
    throw new Error('expected loadCheckpoint to throw')
  }

  it('500 seeded bit flips in any file (state.json and the manifest included) are all refused', () => {
    // Before: 84 of 500 flips in state.json loaded silently (a changed lr, step count, generator or cursor).
    const { dir, load, before } = saved()
    const state = before()
    const files = ['manifest.json', 'model.safetensors', 'optimizer.safetensors', 'state.json']
    const originals = files.map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f))))
    const rng = new Generator(21)
    const accepted: string[] = []
    for (let i = 0; i < 500; i++) {
      const k = rng.int(files.length)
      const bytes = originals[k]!.slice()
      const bit = rng.int(bytes.length * 8)
      bytes[bit >> 3]! ^= 1 << (bit & 7)
      fs.writeFileSync(path.join(dir, files[k]!), bytes)
      try {
        load()
        accepted.push(`${files[k]} bit ${bit}`)
      } catch (err) {
        expect(err).toBeInstanceOf(CheckpointError)
      }
      fs.writeFileSync(path.join(dir, files[k]!), originals[k]!)
    }
    expect(accepted).toEqual([])
    expect(before()).toBe(state)
    expect(load()).toEqual({ epoch: 2, cursor: { nextBatch: 7 } })
  })

  it('a changed learning rate in state.json is refused by the manifest', () => {
    const { dir, load } = saved()
    const file = path.join(dir, 'state.json')
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain('"lr": 0.001')
    fs.writeFileSync(file, text.replace('"lr": 0.001', '"lr": 0.009'))
    expect(namedError(load)).toMatch(/state.json\): the file does not match the manifest in manifest.json \(\d+ bytes as listed, but the SHA-256 differs\)/)
  })

  // Hand-made checkpoints whose checksums match: each field is still checked. `1e400` is written
  // into the JSON text (JSON.parse reads it as Infinity).
  const INF = '"__1e400__"'
  it.each([
    ['generator state 1e400', (s: any) => { s.generators.data.prng.s0 = '__1e400__' }, /state.json\): generator "data": prng.s0 must be a multiple of 2\^-32 in \[0, 1\), got Infinity/],
    ['generator carry not an integer', (s: any) => { s.generators.data.prng.c = 2.5 }, /generator "data": prng.c must be an integer in \[0, 2091639\), got 2.5/],
    ['generator state null', (s: any) => { s.generators.data = null }, /generator "data": expected \{seed, prng: \{c, s0, s1, s2\}\}, got null/],
    ['generators missing', (s: any) => { delete s.generators }, /state.json\): missing field "generators"/],
    ['optimizer null', (s: any) => { s.optimizer = null }, /state.json\): "optimizer" must be an object \{type, paramGroups, state\}, got null/],
    ['lr a string', (s: any) => { s.optimizer.paramGroups[0].lr = '0.1' }, /"optimizer"."paramGroups"\[0\].lr must be a finite number, a boolean or an array of finite numbers, got "0.1"/],
    ['lr 1e400', (s: any) => { s.optimizer.paramGroups[0].lr = '__1e400__' }, /"optimizer"."paramGroups"\[0\].lr must be a finite number.*got Infinity/],
    ['param ids not integers', (s: any) => { s.optimizer.paramGroups[0].params = [0.5] }, /"optimizer"."paramGroups"\[0\].params must be an array of parameter indices/],
    ['step count 1e400', (s: any) => { s.optimizer.state['0'].step = '__1e400__' }, /"optimizer"."state"."0".step must be a finite number, got Infinity/],
    ['step count 1.5', (s: any) => { s.optimizer.state['0'].step = 1.5 }, /Adam.loadStateDict: state of param 0: step must be a non-negative integer, got 1.5/],
    ['data cursor 1e400', (s: any) => { s.extra.cursor.nextBatch = '__1e400__' }, /state.json\): "extra".cursor.nextBatch is Infinity/],
    ['unknown field', (s: any) => { s.files = {} }, /state.json\): unknown field "files" \(expected generators, optimizer, extra\)/],
    ['not an object', () => [], /state.json\): expected an object \{generators, optimizer\?, extra\?\}, got an array/],
  ])('state.json: %s', (_name, mutate, message) => {
    const { dir, load, before } = saved()
    const state = before()
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'))
    const out = mutate(s) ?? s
    replaceFile(dir, 'state.json', JSON.stringify(out).replaceAll(INF, '1e400'))
    expect(namedError(load)).toMatch(message)
    expect(before()).toBe(state)
  })

  it.each([
    ['files.model null', (m: any) => { m.files['model.safetensors'] = null }, /manifest.json\): "files"."model.safetensors" must be an object \{bytes, sha256\}, got null/],
    ['files.model missing', (m: any) => { delete m.files['model.safetensors'] }, /manifest.json\): "files": missing field "model.safetensors"/],
    ['files null', (m: any) => { m.files = null }, /manifest.json\): "files" must be an object, got null/],
    ['bytes negative', (m: any) => { m.files['state.json'].bytes = -1 }, /"files"."state.json".bytes must be a non-negative integer, got -1/],
    ['sha256 upper case', (m: any) => { m.files['state.json'].sha256 = m.files['state.json'].sha256.toUpperCase() }, /"files"."state.json".sha256 must be 64 lowercase hex digits/],
    ['version 3', (m: any) => { m.version = 3 }, /manifest.json\): expected format "priorgrad-checkpoint" version 2, found format "priorgrad-checkpoint" version 3/],
    ['an extra file listed', (m: any) => { m.files['notes.txt'] = m.files['state.json'] }, /"files": unknown field "notes.txt"/],
  ])('manifest.json: %s', (_name, mutate, message) => {
    const { dir, load } = saved()
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
    mutate(m)
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 1) + '\n')
    expect(namedError(load)).toMatch(message)
  })

  it('the manifest must be exactly as written: the same values spelled differently are refused', () => {
    const { dir, load } = saved()
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m))
    expect(namedError(load)).toMatch(/manifest.json\): not in the exact form saveCheckpoint writes/)
  })

  it.each([
    ['model.safetensors missing', (dir: string) => fs.rmSync(path.join(dir, 'model.safetensors')), /model.safetensors\): missing \(manifest.json lists it\)/],
    ['model.safetensors a directory', (dir: string) => { fs.rmSync(path.join(dir, 'model.safetensors')); fs.mkdirSync(path.join(dir, 'model.safetensors')) }, /model.safetensors\): expected a file, found a directory/],
    ['state.json missing', (dir: string) => fs.rmSync(path.join(dir, 'state.json')), /state.json\): missing \(manifest.json lists it\)/],
    ['manifest.json missing', (dir: string) => fs.rmSync(path.join(dir, 'manifest.json')), /manifest.json\): no checkpoint here \(manifest.json is missing\)/],
    ['manifest.json a directory', (dir: string) => { fs.rmSync(path.join(dir, 'manifest.json')); fs.mkdirSync(path.join(dir, 'manifest.json')) }, /manifest.json\): expected a file, found a directory/],
    ['the directory missing', (dir: string) => fs.rmSync(dir, { recursive: true }), /^loadCheckpoint\(.*\): no checkpoint here \(the directory does not exist\)/],
    ['a version 1 checkpoint', (dir: string) => { fs.rmSync(path.join(dir, 'manifest.json')); fs.writeFileSync(path.join(dir, 'state.json'), '{"format":"priorgrad-checkpoint","version":1}') }, /manifest.json\): missing: this checkpoint has format version 1, and this priorgrad reads version 2 .*loadStateDict/],
  ])('%s', (_name, damage, message) => {
    const { dir, load } = saved()
    damage(dir)
    expect(namedError(load)).toMatch(message)
  })

  it('Generator.setState refuses a state alea cannot reach (1e400 made uniform() return Infinity) and stays unchanged', () => {
    const g = new Generator(3)
    const good = g.state()
    const bad = JSON.parse(JSON.stringify(good).replace(/"s1":[^,}]+/, '"s1":1e400'))
    expect(() => g.setState(bad)).toThrow(/^Generator.setState: prng.s1 must be a multiple of 2\^-32 in \[0, 1\), got Infinity/)
    expect(() => g.setState({ seed: 0, prng: { ...good.prng, c: -1 } })).toThrow(/^Generator.setState: prng.c must be an integer in \[0, 2091639\), got -1/)
    expect(() => g.setState({ seed: NaN, prng: good.prng })).toThrow(/^Generator.setState: seed must be a finite number or a string, got NaN/)
    expect(g.state()).toEqual(good)
    expect(Number.isFinite(g.uniform())).toBe(true)
    expect(new Generator(0).setState(good).uniform()).toBe(new Generator(3).uniform())
  })

  it('loadCheckpoint names a bad argument instead of a TypeError', () => {
    const { dir } = saved()
    expect(() => loadCheckpoint(dir, { model: null } as never)).toThrow(/^loadCheckpoint\(.*\): parts.model must have stateDict\(\) and loadStateDict\(\), got null/)
    expect(() => loadCheckpoint(dir, { model: makeModel(1), generators: { data: 5 } } as never)).toThrow(/parts.generators\["data"\] must be a Generator, got 5/)
  })
})

describe('saveStateDict / loadStateDict and PyTorch (#19)', () => {
  it('saving into a missing directory names the directory, not a temp file', () => {
    const file = path.join(root, 'dir', 'that', 'does', 'not', 'exist', 'model.safetensors')
    expect(() => saveStateDict(file, makeModel(1))).toThrow(/^saveStateDict\(.*model.safetensors\): the directory .*dir\/that\/does\/not\/exist does not exist; create it first/)
    expect(() => saveStateDict(file, makeModel(1))).not.toThrow(/tmp-/)
  })

  it('an F64 file loads into a float32 model only with { cast: true }, rounded to nearest as PyTorch copies', () => {
    const file = path.join(root, 'f64.safetensors')
    const w = Float64Array.from({ length: 6 }, (_, i) => 0.1 * (i + 1) + 1e-12)
    fs.writeFileSync(file, encodeSafetensors({ weight: { dtype: 'F64', shape: [2, 3], data: w }, bias: { dtype: 'F64', shape: [2], data: new Float64Array([0.3, -0.7]) } }))
    const model = new Linear(3, 2, { generator: new Generator(1) })
    const before = Array.from(model.weight.data)
    expect(() => loadStateDict(file, model)).toThrow(/key "weight": file dtype F64 cannot load exactly into a float32 tensor \(nothing was loaded; loadStateDict\(.*f64.safetensors, model, \{ cast: true \}\) converts between float dtypes, as PyTorch's load_state_dict does\)/)
    expect(Array.from(model.weight.data)).toEqual(before)
    loadStateDict(file, model, { cast: true })
    expect(model.weight.data).toEqual(Float32Array.from(w))
    expect(Array.from(model.bias!.data)).toEqual([Math.fround(0.3), Math.fround(-0.7)])
    expect(() => loadStateDict(file, model, { cast: 'yes' } as never)).toThrow(/options.cast must be a boolean, got "yes"/)
    expect(() => loadStateDict(path.join(root, 'nope.safetensors'), model)).toThrow(/^(loadStateDict|loadSafetensors)\(.*nope.safetensors\): .*ENOENT/) // named, whichever layer notices
  })

  it('num_batches_tracked is written as I64 (PyTorch int64) and read from I64 or I32 (earlier files)', () => {
    const file = path.join(root, 'bn.safetensors')
    const bn = new BatchNorm1d(2)
    bn.forward(randn([4, 2], { generator: new Generator(1) }))
    saveStateDict(file, bn)
    const { tensors } = decodeSafetensors(new Uint8Array(fs.readFileSync(file)))
    expect(tensors['num_batches_tracked']!.dtype).toBe('I64')
    const fresh = new BatchNorm1d(2)
    loadStateDict(file, fresh)
    expect(Array.from(fresh.numBatchesTracked!.data)).toEqual([1])
    const entries = Object.fromEntries([...bn.stateDict()].map(([k, t]) => [k, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data: t.data }])) as never
    fs.writeFileSync(file, encodeSafetensors(entries))
    const old = new BatchNorm1d(2)
    loadStateDict(file, old)
    expect(snapshot(old)).toEqual(snapshot(bn))
  })
})

describe('run state (#21)', () => {
  it("loadRunState checks the run's cursor and counts field by field, naming the field", async () => {
    const { resolveConfig } = await import('../src/experiments/config.js')
    const { buildExperiment } = await import('../src/experiments/build.js')
    const { freshState, loadRunState, saveRunState } = await import('../src/experiments/run-state.js')
    const out = freshDir()
    fs.mkdirSync(out)
    const make = () => buildExperiment(resolveConfig({ model: 'mlp', reg: 'dynamic-prior', S: 2, backend: 'reference', out }), [1, 28, 28], 10)
    saveRunState(out, make(), { ...freshState(), cursor: { epoch: 1, nextBatch: 3 }, iteration: 7 })
    expect(loadRunState(out, make())).toMatchObject({ cursor: { epoch: 1, nextBatch: 3 }, iteration: 7 })
    const dir = path.join(out, 'checkpoint')
    const original = fs.readFileSync(path.join(dir, 'state.json'), 'utf8')
    for (const [edit, message] of [
      [(e: any) => { e.cursor.nextBatch = 1.5 }, /^loadRunState\(.*\): the checkpoint's run state field cursor.nextBatch must be a non-negative integer, got 1.5/],
      [(e: any) => { delete e.iteration }, /field iteration must be a non-negative integer, got missing/],
      [(e: any) => { e.acc = null }, /field acc must be an object, got null/],
      [(e: any) => { e.metricsBytes.csv = -1 }, /field metricsBytes.csv must be a non-negative integer, got -1/],
      [(e: any) => { e.seconds = 'soon' }, /field seconds must be a finite number, got a string/],
    ] as const) {
      const s = JSON.parse(original)
      edit(s.extra)
      replaceFile(dir, 'state.json', JSON.stringify(s))
      expect(() => loadRunState(out, make())).toThrow(message)
    }
  })
})
