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
import { loadCheckpoint, loadStateDict, saveCheckpoint, saveStateDict } from '../src/nn/checkpoint.js'
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
const sha = (file: string): string => createHash('sha256').update(new Uint8Array(fs.readFileSync(file))).digest('hex')

/** Rewrite one file of a checkpoint and its manifest entry, so only the content is wrong. */
function replaceFile(dir: string, file: string, bytes: Uint8Array): void {
  fs.writeFileSync(path.join(dir, file), bytes)
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'))
  state.files[file] = { bytes: bytes.byteLength, sha256: sha(path.join(dir, file)) }
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state))
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
    expect(fs.readdirSync(dir).sort()).toEqual(['model.safetensors', 'optimizer.safetensors', 'state.json'])
  })

  it('model.safetensors is a plain safetensors file with the model dtypes and metadata', () => {
    const dir = freshDir()
    const model = makeModel(1)
    saveCheckpoint(dir, { model })
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))))
    expect(metadata).toEqual({ format: 'priorgrad', version: '1' })
    expect(tensors['0.weight']!.dtype).toBe('F32')
    expect(tensors['0.weight']!.shape).toEqual([8, 4])
    expect(tensors['1.num_batches_tracked']!.dtype).toBe('I32')
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
    expect(() => loadCheckpoint(dir, { model, optimizer: opt })).toThrow(/model.safetensors\): the file does not match the manifest in state.json/)
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
    // The state a crash right after `rename(dir, dir.prev)` leaves behind, plus a stale staging dir.
    fs.renameSync(dir, `${dir}.prev`)
    fs.mkdirSync(path.join(root, `.${path.basename(dir)}.staging-1-1`))
    const fresh = makeModel(2)
    expect(loadCheckpoint(dir, { model: fresh })).toEqual({ epoch: 1 })
    expect(snapshot(fresh)).toEqual(snapshot(model))
    // The next save completes normally and removes .prev once the new checkpoint is in place.
    saveCheckpoint(dir, { model, extra: { epoch: 2 } })
    expect(fs.existsSync(`${dir}.prev`)).toBe(false)
    expect(loadCheckpoint(dir, { model: fresh })).toEqual({ epoch: 2 })
    fs.rmSync(path.join(root, `.${path.basename(dir)}.staging-1-1`), { recursive: true })
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
