// Fuzz target: loadCheckpoint. Seeds are two small real checkpoints written by saveCheckpoint (a
// tiny Linear/BatchNorm model, Adam, a generator, `extra`), one step apart so every file differs.
// Mutations: bit flips, truncations and extensions of any file; JSON field deletions, nulls,
// wrong types and 1e400 in state.json or manifest.json (with the manifest left alone, or updated
// as a hand-made checkpoint would be); missing files; a directory in place of a file; a file from
// the other save. The manifest checksums every other file and must be exactly as written, so any
// changed byte is malformed; only a hand-made state.json (manifest updated) may still be valid.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/nn/checkpoint.js'
import { BatchNorm1d, Linear, ReLU, Sequential } from '../../src/nn/index.js'
import { crossEntropy } from '../../src/nn/functional.js'
import { Adam } from '../../src/optim/index.js'
import { Generator } from '../../src/tensor/generator.js'
import { Tensor } from '../../src/tensor/tensor.js'
import type { FuzzCase, FuzzTarget } from '../target.js'

const FILES = ['manifest.json', 'model.safetensors', 'optimizer.safetensors', 'state.json'] as const
type FileName = (typeof FILES)[number]
type Files = Record<FileName, Uint8Array>

const makeModel = (): Sequential =>
  new Sequential(new Linear(3, 4, { generator: new Generator(1) }), new BatchNorm1d(4), new ReLU(), new Linear(4, 2, { generator: new Generator(2) }))

/** What a case loads into: a fresh model, optimizer and generator of the seeds' kinds. */
function loadInto(dir: string): unknown {
  const model = makeModel()
  return loadCheckpoint(dir, { model, optimizer: new Adam(model.parameters()), generators: { data: new Generator(9) } })
}

let seeds: Files[] = []

function readSeed(dir: string): Files {
  return Object.fromEntries(FILES.map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))])) as Files
}

const pick = <T>(rng: Generator, xs: readonly T[]): T => xs[rng.int(xs.length)]!
const utf8 = new TextEncoder()
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Every path to a value inside a JSON value (object keys and array indices), depth first. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (at.length > 0) out.push(at)
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out))
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out)
  return out
}
function getAt(root: unknown, p: (string | number)[]): unknown {
  let v = root as Record<string | number, unknown>
  for (const k of p) v = v[k] as Record<string | number, unknown>
  return v
}

const INF = '__fuzz_1e400__'
type FieldEdit = 'delete' | 'null' | 'string' | 'array' | 'object' | 'boolean' | 'number' | '1e400'
const EDITS: FieldEdit[] = ['delete', 'null', 'string', 'array', 'object', 'boolean', 'number', '1e400']

/** Apply `edit` at path `p` of a parsed JSON document; returns the new JSON text. */
function editJson(doc: unknown, p: (string | number)[], edit: FieldEdit, pretty: boolean): string {
  const parent = getAt(doc, p.slice(0, -1)) as Record<string | number, unknown>
  const key = p[p.length - 1]!
  const value = { null: null, string: 'x', array: [], object: {}, boolean: true, number: 7, '1e400': INF, delete: undefined }[edit]
  if (edit === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1)
    else delete parent[key]
  } else parent[key] = value
  const out = pretty ? JSON.stringify(doc, null, 1) + '\n' : JSON.stringify(doc)
  return out.replaceAll(JSON.stringify(INF), '1e400')
}

/** The type an edit gives, to tell a real change of type from a same-type replacement. */
const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)
const editType: Record<FieldEdit, string> = { delete: 'delete', null: 'null', string: 'string', array: 'array', object: 'object', boolean: 'boolean', number: 'number', '1e400': 'infinity' }

/**
 * Whether a state.json edit, with the manifest updated to match, surely makes the checkpoint
 * invalid. `extra` is any JSON (only non-finite numbers are refused); an optimizer option may be
 * deleted (the optimizer's current value is kept) and a generator's seed may be any string.
 */
function stateEditInvalid(p: (string | number)[], edit: FieldEdit, old: unknown): boolean {
  if (edit === '1e400') return true
  if (p[0] === 'extra') return false
  if (editType[edit] === typeOf(old)) return false // same type, another value: may be valid
  if (p[0] === 'generators' && p[2] === 'seed' && (edit === 'string' || edit === 'number')) return false
  return !(p[0] === 'optimizer' && p[1] === 'paramGroups' && p.length === 4 && p[3] !== 'params' && edit === 'delete')
}

interface Mutation {
  what: string
  malformed: boolean
  apply(dir: string, files: Files): void
}

/** Write `files` into `dir` (fresh), then let `change` alter them. */
function writeAll(dir: string, files: Files): void {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (const f of FILES) fs.writeFileSync(path.join(dir, f), files[f])
}

function byteMutation(rng: Generator, files: Files): Mutation {
  const f = pick(rng, FILES)
  const b = files[f].slice()
  switch (rng.int(3)) {
    case 0: {
      const bit = rng.int(b.length * 8)
      b[bit >> 3]! ^= 1 << (bit & 7)
      return { what: `${f}: flip bit ${bit}`, malformed: true, apply: (dir) => fs.writeFileSync(path.join(dir, f), b) }
    }
    case 1: {
      const n = rng.int(b.length)
      return { what: `${f}: truncate to ${n} of ${b.length} bytes`, malformed: true, apply: (dir) => fs.writeFileSync(path.join(dir, f), b.subarray(0, n)) }
    }
    default: {
      const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))
      const out = new Uint8Array(b.length + extra.length)
      out.set(b)
      out.set(extra, b.length)
      return { what: `${f}: append ${extra.length} bytes`, malformed: true, apply: (dir) => fs.writeFileSync(path.join(dir, f), out) }
    }
  }
}

function fieldMutation(rng: Generator, files: Files): Mutation {
  const f = rng.int(2) === 0 ? 'state.json' : 'manifest.json'
  const doc = JSON.parse(text(files[f])) as unknown
  const p = pick(rng, paths(doc))
  const old = getAt(doc, p)
  const edit = pick(rng, EDITS)
  const updateManifest = f === 'state.json' && rng.int(2) === 0
  const newText = editJson(doc, p, edit, f === 'manifest.json')
  const what = `${f}: ${edit} at ${p.join('.')}${updateManifest ? ' (manifest updated)' : ''}`
  return {
    what,
    // Without a manifest update the checksum no longer matches; every manifest field is required.
    malformed: updateManifest ? stateEditInvalid(p, edit, old) : true,
    apply(dir) {
      const bytes = utf8.encode(newText)
      fs.writeFileSync(path.join(dir, f), bytes)
      if (updateManifest) {
        const m = JSON.parse(text(files['manifest.json'])) as { files: Record<string, { bytes: number; sha256: string }> }
        m.files['state.json'] = { bytes: bytes.byteLength, sha256: sha256(bytes) }
        fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 1) + '\n')
      }
    },
  }
}

function fileMutation(rng: Generator, files: Files, other: Files): Mutation {
  const f = pick(rng, FILES)
  switch (rng.int(3)) {
    case 0:
      return { what: `${f}: missing`, malformed: true, apply: (dir) => fs.rmSync(path.join(dir, f)) }
    case 1:
      return {
        what: `${f}: a directory in its place`,
        malformed: true,
        apply(dir) {
          fs.rmSync(path.join(dir, f))
          fs.mkdirSync(path.join(dir, f))
        },
      }
    default:
      return { what: `${f}: from the other save`, malformed: true, apply: (dir) => fs.writeFileSync(path.join(dir, f), other[f]) }
  }
}

const target: FuzzTarget = {
  name: 'checkpoint',
  setup(dir) {
    const model = makeModel()
    const opt = new Adam(model.parameters(), { lr: 1e-2 })
    const data = new Generator(5)
    const step = (): void => {
      const x = new Tensor(Float32Array.from({ length: 12 }, () => data.normal()), [4, 3])
      const y = new Tensor(Int32Array.from({ length: 4 }, () => data.int(2)), [4])
      opt.zeroGrad()
      crossEntropy(model.forward(x), y).backward()
      opt.step()
    }
    seeds = []
    for (const epoch of [1, 2]) {
      step()
      const out = path.join(dir, `seed-${epoch}`)
      saveCheckpoint(out, { model, optimizer: opt, generators: { data }, extra: { epoch, cursor: { nextBatch: epoch * 3 }, loss: 0.5 / epoch, tags: ['a', null, true] } })
      seeds.push(readSeed(out))
      loadInto(out) // a seed must load, or every case would be a named error for the wrong reason
    }
  },
  makeCase(rng, dir, index): FuzzCase {
    const which = rng.int(2)
    const files = seeds[which]!
    const kind = rng.int(32)
    const m: Mutation =
      kind === 0
        ? { what: 'unchanged', malformed: false, apply: () => {} }
        : kind < 14
          ? byteMutation(rng, files)
          : kind < 28
            ? fieldMutation(rng, files)
            : fileMutation(rng, files, seeds[1 - which]!)
    const caseDir = path.join(dir, `case-${index % 8}`, 'checkpoint')
    return {
      what: `seed ${which + 1}: ${m.what}`,
      malformed: m.malformed,
      bytes: FILES.reduce((n, f) => n + files[f].byteLength, 0),
      run() {
        writeAll(caseDir, files)
        m.apply(caseDir, files)
        return loadInto(caseDir)
      },
    }
  },
  isNamedError: (err) => err instanceof CheckpointError,
}

export default target
