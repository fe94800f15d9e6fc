// Checkpoints: a directory holding
//   model.safetensors      the model's state dict (F32/F64, I64 for num_batches_tracked as PyTorch,
//                          metadata {format: 'priorgrad'})
//   optimizer.safetensors  the optimizer's buffers, keyed `state.<paramIndex>.<name>` (if any)
//   state.json             optimizer options and step counts, generator states and `extra`
//   manifest.json          format, version, and the byte size and SHA-256 of the three files above.
// Every byte is covered: the manifest checksums the other files (state.json included: a flipped
// bit there would otherwise load as a different learning rate, step count or data cursor), and
// the manifest itself must be exactly the text saveCheckpoint writes, so any change to it either
// breaks a checksum or is refused as not canonical.
// Crash safety: a save writes every file into a fresh staging directory next to the target,
// then swaps directories: target -> `<dir>.prev`, staging -> target, then deletes `<dir>.prev`.
// A crash before the swap leaves the old checkpoint untouched; a crash between the two renames
// leaves only `<dir>.prev`, which loadCheckpoint falls back to. Staging directories left by a
// killed process are removed by the next save or load. Loading checks every file fully before
// changing anything. Not safe for two processes saving into the same directory at once.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Tensor } from '../tensor/tensor.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { checkGeneratorState, Generator, type GeneratorState } from '../tensor/generator.js'
import { decodeSafetensors, encodeSafetensors, saveSafetensors, loadSafetensors, SafetensorsError, type DecodedEntry, type TensorEntry } from '../io/safetensors.js'
import { fsyncDirectory, writeFileAtomic } from '../io/atomic.js'
import type { OptimizerStateDict } from '../optim/optimizer.js'

/** What a checkpoint needs from a model (Module has these). */
export interface CheckpointModel {
  /** Every parameter and buffer by dotted name. */
  stateDict(): Map<string, Tensor>
  /** Copy saved tensors into the model; strict (default) rejects missing or unexpected names. */
  loadStateDict(sd: Map<string, Tensor>, options?: { strict?: boolean }): unknown
}
/** What a checkpoint needs from an optimizer (every priorgrad Optimizer has these). */
export interface CheckpointOptimizer {
  readonly name: string
  /** Options, step counts and buffers (typed-array copies with typedArrays, so float32 stays exact). */
  stateDict(options?: { typedArrays?: boolean }): OptimizerStateDict
  /** Throw if the state dict does not fit this optimizer; called before anything is changed. */
  validateStateDict(sd: OptimizerStateDict): void
  /** Restore a state dict (validated first). */
  loadStateDict(sd: OptimizerStateDict): void
}
/** What saveCheckpoint writes and loadCheckpoint restores in place. */
export interface CheckpointParts {
  model: CheckpointModel
  optimizer?: CheckpointOptimizer
  /** Generators saved by name (their PRNG state), so a resumed run draws the same numbers. */
  generators?: Record<string, Generator>
}

/**
 * A checkpoint that cannot be saved or loaded; the message starts with the function and the file.
 * @example try { loadCheckpoint(dir, { model }) } catch (e) { if (e instanceof CheckpointError) console.error(e.message) }
 */
export class CheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CheckpointError'
  }
}

/**
 * The checkpoint format version written to manifest.json; loading checks it. Version 2 added
 * manifest.json (version 1 kept the checksums in state.json, which they did not cover).
 * @example CHECKPOINT_VERSION // 2
 */
export const CHECKPOINT_VERSION = 2
const FORMAT = 'priorgrad-checkpoint'
const METADATA = { format: 'priorgrad', version: String(CHECKPOINT_VERSION) }
const MODEL_FILE = 'model.safetensors'
const OPTIMIZER_FILE = 'optimizer.safetensors'
const STATE_FILE = 'state.json'
const MANIFEST_FILE = 'manifest.json'
/** Files the manifest lists, in the order it lists them. */
const LISTED_FILES = [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE] as const
const CHECKPOINT_FILES = new Set<string>([...LISTED_FILES, MANIFEST_FILE])
// A manifest lists three files: anything much larger was not written by saveCheckpoint.
const MAX_MANIFEST_BYTES = 4096
const SAFE_DTYPE = { float32: 'F32', float64: 'F64', int32: 'I32' } as const

interface FileEntry {
  bytes: number
  sha256: string
}
interface Manifest {
  format: typeof FORMAT
  version: number
  files: Partial<Record<(typeof LISTED_FILES)[number], FileEntry>>
}
interface SavedOptimizer {
  type: string
  paramGroups: OptimizerStateDict['paramGroups']
  state: Record<string, Record<string, number>>
}
interface StateJson {
  optimizer?: SavedOptimizer
  generators: Record<string, GeneratorState>
  extra?: unknown
}

let stagingCounter = 0
// Staging directories of saves in progress in this process (saves are synchronous, so at most
// one per thread); any other one of this process's pid is left over from a failed save.
const liveStaging = new Set<string>()
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const utf8 = new TextEncoder()
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)
// A short rendering of a value read from a file, for messages (never calls its toString).
const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null ? 'null' : v === undefined ? 'missing' : Array.isArray(v) ? 'an array' : 'an object'

/** The exact text of a manifest: loading refuses any other spelling of the same values. */
function manifestText(m: Manifest): string {
  const files: Record<string, FileEntry> = {}
  for (const f of LISTED_FILES) {
    const e = m.files[f]
    if (e !== undefined) files[f] = { bytes: e.bytes, sha256: e.sha256 }
  }
  return JSON.stringify({ format: m.format, version: m.version, files }, null, 1) + '\n'
}

/**
 * Save model weights, optimizer state, generator states and `extra` (any JSON value, e.g. the
 * epoch and data cursor) into directory `dir`, replacing an earlier checkpoint there atomically.
 * `dir` must be dedicated to the checkpoint: a directory holding other files is refused.
 * @example saveCheckpoint('runs/a/checkpoint', { model, optimizer, generators: { data: rng }, extra: { epoch } })
 */
export function saveCheckpoint(dir: string, parts: CheckpointParts & { extra?: unknown }): void {
  const fail = (msg: string): never => {
    throw new CheckpointError(`saveCheckpoint(${dir}): ${msg}`)
  }
  if (typeof dir !== 'string' || dir === '') fail(`dir must be a non-empty string, got ${show(dir)}`)
  checkParts(parts, 'saveCheckpoint', dir)
  const target = path.resolve(dir)
  // Build every byte in memory first: an encoding error then touches no file.
  const files: Record<string, Uint8Array> = { [MODEL_FILE]: encodeSafetensors(toEntries(parts.model.stateDict()), METADATA) }
  const state: StateJson = { generators: {} }
  if (parts.optimizer !== undefined) {
    const sd = parts.optimizer.stateDict({ typedArrays: true })
    const tensors: Record<string, TensorEntry> = {}
    const scalars: Record<string, Record<string, number>> = {}
    for (const [index, entry] of Object.entries(sd.state)) {
      scalars[index] = {}
      for (const [name, v] of Object.entries(entry)) {
        if (typeof v === 'number') scalars[index]![name] = v
        else if (v instanceof Float32Array || v instanceof Float64Array) {
          tensors[`state.${index}.${name}`] = { dtype: v instanceof Float32Array ? 'F32' : 'F64', shape: [v.length], data: v }
        } else fail(`optimizer state ${index}.${name} is neither a number nor a float array`)
      }
    }
    files[OPTIMIZER_FILE] = encodeSafetensors(tensors, METADATA)
    state.optimizer = { type: parts.optimizer.name, paramGroups: sd.paramGroups, state: scalars }
    const problem = jsonProblem(state.optimizer, 'the optimizer state', 0)
    if (problem !== null) fail(problem)
  }
  for (const [name, g] of Object.entries(parts.generators ?? {})) state.generators[name] = g.state()
  if (parts.extra !== undefined) state.extra = parts.extra
  const problem = jsonProblem(parts.extra, 'extra', 0)
  if (problem !== null) fail(`${problem}; extra must survive JSON.stringify/parse unchanged`)
  files[STATE_FILE] = utf8.encode(JSON.stringify(state, null, 1) + '\n')
  const manifest: Manifest = { format: FORMAT, version: CHECKPOINT_VERSION, files: {} }
  for (const [name, bytes] of Object.entries(files)) manifest.files[name as (typeof LISTED_FILES)[number]] = { bytes: bytes.byteLength, sha256: sha256(bytes) }

  if (fs.existsSync(target)) checkOnlyCheckpointFiles(target, fail)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  removeStaleStaging(target)
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.staging-${process.pid}-${++stagingCounter}`)
  liveStaging.add(staging)
  try {
    fs.mkdirSync(staging)
    for (const [name, bytes] of Object.entries(files)) writeFileAtomic(path.join(staging, name), bytes)
    // The manifest last: a directory without one is never mistaken for a checkpoint.
    writeFileAtomic(path.join(staging, MANIFEST_FILE), manifestText(manifest))
    swapInto(staging, target)
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true })
    throw new CheckpointError(`saveCheckpoint(${dir}): ${(err as Error).message}; the previous checkpoint (if any) is unchanged`, { cause: err })
  } finally {
    liveStaging.delete(staging)
  }
}

// Throw a named error unless `parts` has the shape CheckpointParts promises (JS callers, tsx).
function checkParts(parts: unknown, fn: string, dir: string): asserts parts is CheckpointParts {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${fn}(${dir}): ${msg}`)
  }
  if (!isPlainObject(parts) && (typeof parts !== 'object' || parts === null)) fail(`expected parts {model, optimizer?, generators?}, got ${show(parts)}`)
  const { model, optimizer, generators } = parts as Record<string, unknown>
  const has = (o: unknown, ...methods: string[]): boolean => typeof o === 'object' && o !== null && methods.every((m) => typeof (o as Record<string, unknown>)[m] === 'function')
  if (!has(model, 'stateDict', 'loadStateDict')) fail(`parts.model must have stateDict() and loadStateDict(), got ${show(model)}`)
  if (optimizer !== undefined && !has(optimizer, 'stateDict', 'validateStateDict', 'loadStateDict')) fail(`parts.optimizer must be an Optimizer, got ${show(optimizer)}`)
  if (generators !== undefined) {
    if (typeof generators !== 'object' || generators === null) fail(`parts.generators must be an object of Generators, got ${show(generators)}`)
    for (const [name, g] of Object.entries(generators as object)) if (!(g instanceof Generator)) fail(`parts.generators[${show(name)}] must be a Generator, got ${show(g)}`)
  }
}

function checkOnlyCheckpointFiles(dir: string, fail: (msg: string) => never): void {
  if (!fs.statSync(dir).isDirectory()) fail(`${dir} exists and is not a directory`)
  const others = fs.readdirSync(dir).filter((f) => !CHECKPOINT_FILES.has(f))
  if (others.length > 0) {
    fail(`${dir} holds files that are not part of a checkpoint (${others.slice(0, 5).join(', ')}); a save replaces the whole directory, so use a dedicated one such as ${path.join(dir, 'checkpoint')}`)
  }
}

// Remove `.<name>.staging-<pid>-<n>` siblings of `target` left by saves that died (kill -9, power
// loss): those of a process that no longer exists, and those of this process that no save of
// it is writing. A live process's staging directory is left alone. Best effort: a failure to
// remove one never fails the save or load that noticed it.
function removeStaleStaging(target: string): void {
  const parent = path.dirname(target)
  const prefix = `.${path.basename(target)}.staging-`
  let names: string[]
  try {
    names = fs.readdirSync(parent)
  } catch {
    return
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)-\d+$/.exec(name.slice(prefix.length)) : null
    if (m === null) continue
    const full = path.join(parent, name)
    const pid = Number(m[1])
    if (liveStaging.has(full) || (pid !== process.pid && processAlive(pid))) continue
    try {
      fs.rmSync(full, { recursive: true, force: true })
    } catch {
      // ignored on purpose (see above)
    }
  }
}

function processAlive(pid: number): boolean {
  // NOTE: pid 0 would signal our own process group; such a name was not written by a save.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
}

// The commit: after the second rename the new checkpoint is in place; before it, the old one is
// at `target` or (between the renames) at `target.prev`.
function swapInto(staging: string, target: string): void {
  const prev = `${target}.prev`
  const fail = (msg: string): never => {
    throw new Error(msg)
  }
  if (fs.existsSync(target)) {
    if (fs.existsSync(prev)) {
      checkOnlyCheckpointFiles(prev, fail)
      fs.rmSync(prev, { recursive: true }) // stale: the checkpoint at target is complete
    }
    fs.renameSync(target, prev)
  }
  try {
    fs.renameSync(staging, target)
  } catch (err) {
    if (fs.existsSync(prev) && !fs.existsSync(target)) fs.renameSync(prev, target)
    throw err
  }
  fsyncDirectory(path.dirname(target))
  // Best effort: the new checkpoint is committed, and a leftover .prev is removed by the next save.
  try {
    if (fs.existsSync(prev)) {
      checkOnlyCheckpointFiles(prev, fail)
      fs.rmSync(prev, { recursive: true })
    }
  } catch {
    // ignored on purpose (see above)
  }
}

/**
 * Load a checkpoint written by `saveCheckpoint` into the model (and optimizer and generators
 * when given). Every file is checked against the manifest (size and SHA-256), then decoded and
 * checked field by field (keys, shapes, dtypes, optimizer options and sizes, generator states)
 * before anything changes; errors are CheckpointErrors naming the file and the field. Returns `extra`.
 * @example const { epoch } = loadCheckpoint('runs/a/checkpoint', { model, optimizer }) as { epoch: number }
 */
export function loadCheckpoint(dir: string, parts: CheckpointParts): unknown {
  if (typeof dir !== 'string' || dir === '') throw new CheckpointError(`loadCheckpoint(${show(dir)}): dir must be a non-empty string`)
  checkParts(parts, 'loadCheckpoint', dir)
  const target = path.resolve(dir)
  removeStaleStaging(target)
  let root = target
  // A crash between the two renames of a save leaves only the previous checkpoint, at .prev.
  if (!fs.existsSync(root) && fs.existsSync(`${root}.prev`)) root = `${root}.prev`
  const where = (file: string): string => `loadCheckpoint(${path.join(root, file)})`
  const fail = (file: string, msg: string, cause?: unknown): never => {
    throw new CheckpointError(`${where(file)}: ${msg}`, cause === undefined ? undefined : { cause })
  }
  let rootStat: fs.Stats | undefined
  try {
    rootStat = fs.statSync(root)
  } catch {
    throw new CheckpointError(`loadCheckpoint(${root}): no checkpoint here (the directory does not exist)`)
  }
  if (!rootStat.isDirectory()) throw new CheckpointError(`loadCheckpoint(${root}): expected a checkpoint directory, found a file`)
  if (!fs.existsSync(path.join(root, MANIFEST_FILE))) refuseWithoutManifest(root, fail)

  const manifest = parseManifest(readFileIn(root, MANIFEST_FILE, MAX_MANIFEST_BYTES, fail), fail)
  // Checksums first: no decoder or JSON parser sees bytes the manifest does not vouch for.
  const raw: Partial<Record<(typeof LISTED_FILES)[number], Uint8Array>> = {}
  for (const file of LISTED_FILES) {
    const expected = manifest.files[file]
    if (expected !== undefined) raw[file] = readListed(root, file, expected, fail)
  }
  const state = parseState(raw[STATE_FILE]!, fail)
  if ((state.optimizer === undefined) !== (raw[OPTIMIZER_FILE] === undefined)) {
    fail(MANIFEST_FILE, state.optimizer === undefined ? `lists ${OPTIMIZER_FILE} but ${STATE_FILE} holds no optimizer state` : `does not list ${OPTIMIZER_FILE} but ${STATE_FILE} holds ${show(state.optimizer.type)} optimizer state`)
  }
  const decode = (file: string, bytes: Uint8Array): Record<string, DecodedEntry> => {
    try {
      return decodeSafetensors(bytes, path.join(root, file)).tensors
    } catch (err) {
      return fail(file, (err as Error).message, err)
    }
  }

  const modelSd = checkModelStateDict(decode(MODEL_FILE, raw[MODEL_FILE]!), parts.model, where(MODEL_FILE), { strict: true, cast: false, castHint: null })
  let optimizerSd: OptimizerStateDict | undefined
  if (parts.optimizer !== undefined) {
    const saved = state.optimizer
    if (saved === undefined) return fail(STATE_FILE, 'the checkpoint holds no optimizer state')
    if (saved.type !== parts.optimizer.name) fail(STATE_FILE, `the checkpoint holds ${saved.type} state, the optimizer is ${parts.optimizer.name}`)
    const sd: OptimizerStateDict = { paramGroups: saved.paramGroups, state: {} }
    for (const [index, scalars] of Object.entries(saved.state)) sd.state[index] = { ...scalars }
    for (const [key, entry] of Object.entries(decode(OPTIMIZER_FILE, raw[OPTIMIZER_FILE]!))) {
      const m = /^state\.(\d+)\.([A-Za-z]\w*)$/.exec(key)
      if (m === null || !(entry.data instanceof Float32Array || entry.data instanceof Float64Array)) {
        fail(OPTIMIZER_FILE, `unexpected tensor ${show(key)} (${entry.dtype}); expected state.<paramIndex>.<name> holding F32 or F64`)
      }
      ;(sd.state[m![1]!] ??= {})[m![2]!] = entry.data as Float32Array | Float64Array
    }
    try {
      parts.optimizer.validateStateDict(sd)
    } catch (err) {
      fail(OPTIMIZER_FILE, (err as Error).message, err)
    }
    optimizerSd = sd
  }
  const generatorStates: Array<[Generator, GeneratorState]> = []
  for (const [name, g] of Object.entries(parts.generators ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(state.generators, name)) {
      fail(STATE_FILE, `no state for generator "${name}" (saved: ${Object.keys(state.generators).join(', ') || 'none'})`)
    }
    generatorStates.push([g, state.generators[name]!])
  }

  // Everything is valid: apply. The model validates again itself and changes nothing on error.
  parts.model.loadStateDict(modelSd, { strict: true })
  if (optimizerSd !== undefined) parts.optimizer!.loadStateDict(optimizerSd)
  for (const [g, s] of generatorStates) g.setState(s)
  return state.extra
}

// No manifest: say whether this is an older checkpoint (version 1 kept its manifest in
// state.json, outside any checksum) or no checkpoint at all.
function refuseWithoutManifest(root: string, fail: (file: string, msg: string) => never): never {
  let old: unknown
  try {
    // Only a small file is read: this is a guess at an old version, not a load.
    const file = path.join(root, STATE_FILE)
    old = fs.statSync(file).size <= 1_000_000 ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined
  } catch {
    old = undefined
  }
  if (isPlainObject(old) && old['format'] === FORMAT && typeof old['version'] === 'number') {
    return fail(MANIFEST_FILE, `missing: this checkpoint has format version ${old['version']}, and this priorgrad reads version ${CHECKPOINT_VERSION} (which checksums state.json too); its weights still load with loadStateDict(${path.join(root, MODEL_FILE)}, model)`)
  }
  return fail(MANIFEST_FILE, `no checkpoint here (${MANIFEST_FILE} is missing)`)
}

// Read `file` in `root`, refusing a missing file, a directory, or more than `limit` bytes, with
// errors naming the file (not the raw ENOENT/EISDIR).
function readFileIn(root: string, file: string, limit: number, fail: (file: string, msg: string, cause?: unknown) => never): Uint8Array {
  const p = path.join(root, file)
  let st: fs.Stats
  try {
    st = fs.statSync(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return fail(file, code === 'ENOENT' ? `missing (${file === MANIFEST_FILE ? 'every checkpoint has one' : `${MANIFEST_FILE} lists it`})` : `cannot be read: ${(err as Error).message}`, err)
  }
  if (!st.isFile()) fail(file, `expected a file, found ${st.isDirectory() ? 'a directory' : 'something else'}`)
  if (st.size > limit) fail(file, `is ${st.size} bytes, more than the ${limit} expected`)
  let buf: Buffer
  try {
    buf = fs.readFileSync(p)
  } catch (err) {
    return fail(file, `cannot be read: ${(err as Error).message}`, err)
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

// Read a file the manifest lists and check its size and SHA-256 before anything parses it.
function readListed(root: string, file: string, expected: FileEntry, fail: (file: string, msg: string, cause?: unknown) => never): Uint8Array {
  const bytes = readFileIn(root, file, Number.MAX_SAFE_INTEGER, fail)
  if (bytes.byteLength === expected.bytes && sha256(bytes) === expected.sha256) return bytes
  // A shorter safetensors file is most often a truncated one: the decoder's message says where.
  let detail = ''
  if (file.endsWith('.safetensors') && bytes.byteLength < expected.bytes) {
    try {
      decodeSafetensors(bytes, path.join(root, file))
    } catch (err) {
      if (err instanceof SafetensorsError) detail = `; ${err.message}`
    }
  }
  const sizes = bytes.byteLength === expected.bytes ? `${bytes.byteLength} bytes as listed, but the SHA-256 differs` : `${bytes.byteLength} bytes, ${MANIFEST_FILE} lists ${expected.bytes}`
  return fail(file, `the file does not match the manifest in ${MANIFEST_FILE} (${sizes}): it was changed, truncated, or comes from another save${detail}`)
}

function decodeJson(bytes: Uint8Array, file: string, fail: (file: string, msg: string, cause?: unknown) => never): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    return fail(file, `not valid JSON: ${(err as Error).message}`, err)
  }
}

function checkKeys(o: Record<string, unknown>, required: string[], optional: string[], fail: (msg: string) => never): void {
  for (const k of required) if (!Object.prototype.hasOwnProperty.call(o, k)) fail(`missing field "${k}"`)
  const unknown = Object.keys(o).filter((k) => !required.includes(k) && !optional.includes(k))
  if (unknown.length > 0) fail(`unknown field ${show(unknown[0])} (expected ${[...required, ...optional].join(', ')})`)
}

function parseManifest(bytes: Uint8Array, fail: (file: string, msg: string, cause?: unknown) => never): Manifest {
  const bad = (msg: string): never => fail(MANIFEST_FILE, msg)
  const m = decodeJson(bytes, MANIFEST_FILE, fail)
  if (!isPlainObject(m)) return bad(`expected an object {format, version, files}, got ${show(m)}`)
  checkKeys(m, ['format', 'version', 'files'], [], bad)
  if (m['format'] !== FORMAT || m['version'] !== CHECKPOINT_VERSION) {
    bad(`expected format "${FORMAT}" version ${CHECKPOINT_VERSION}, found format ${show(m['format'])} version ${show(m['version'])}`)
  }
  const files = m['files']
  if (!isPlainObject(files)) return bad(`"files" must be an object, got ${show(files)}`)
  checkKeys(files, [MODEL_FILE, STATE_FILE], [OPTIMIZER_FILE], (msg) => bad(`"files": ${msg}`))
  for (const [name, e] of Object.entries(files)) {
    const at = `"files"."${name}"`
    if (!isPlainObject(e)) return bad(`${at} must be an object {bytes, sha256}, got ${show(e)}`)
    checkKeys(e, ['bytes', 'sha256'], [], (msg) => bad(`${at}: ${msg}`))
    if (!Number.isSafeInteger(e['bytes']) || (e['bytes'] as number) < 0) bad(`${at}.bytes must be a non-negative integer, got ${show(e['bytes'])}`)
    if (typeof e['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(e['sha256'])) bad(`${at}.sha256 must be 64 lowercase hex digits, got ${show(e['sha256'])}`)
  }
  const manifest = m as unknown as Manifest
  const text = new TextDecoder().decode(bytes)
  if (text !== manifestText(manifest)) bad(`not in the exact form saveCheckpoint writes (edited by hand?); its values may have been changed`)
  return manifest
}

// state.json, field by field: its bytes already match the manifest, so this guards against a
// writer bug or a hand-made checkpoint rather than a flipped bit.
function parseState(bytes: Uint8Array, fail: (file: string, msg: string, cause?: unknown) => never): StateJson {
  const bad = (msg: string): never => fail(STATE_FILE, msg)
  const s = decodeJson(bytes, STATE_FILE, fail)
  if (!isPlainObject(s)) return bad(`expected an object {generators, optimizer?, extra?}, got ${show(s)}`)
  checkKeys(s, ['generators'], ['optimizer', 'extra'], bad)
  const generators = s['generators']
  if (!isPlainObject(generators)) return bad(`"generators" must be an object, got ${show(generators)}`)
  for (const [name, g] of Object.entries(generators)) {
    try {
      checkGeneratorState(g, `generator ${show(name)}`)
    } catch (err) {
      bad((err as Error).message)
    }
  }
  if (Object.prototype.hasOwnProperty.call(s, 'optimizer')) checkSavedOptimizer(s['optimizer'], bad)
  if (Object.prototype.hasOwnProperty.call(s, 'extra')) {
    const problem = jsonProblem(s['extra'], '"extra"', 0)
    if (problem !== null) bad(problem)
  }
  return s as unknown as StateJson
}

function checkSavedOptimizer(o: unknown, bad: (msg: string) => never): asserts o is SavedOptimizer {
  if (!isPlainObject(o)) return bad(`"optimizer" must be an object {type, paramGroups, state}, got ${show(o)}`)
  checkKeys(o, ['type', 'paramGroups', 'state'], [], (msg) => bad(`"optimizer": ${msg}`))
  if (typeof o['type'] !== 'string') bad(`"optimizer"."type" must be a string, got ${show(o['type'])}`)
  const groups = o['paramGroups']
  if (!Array.isArray(groups)) return bad(`"optimizer"."paramGroups" must be an array, got ${show(groups)}`)
  groups.forEach((g, i) => {
    const at = `"optimizer"."paramGroups"[${i}]`
    if (!isPlainObject(g)) return bad(`${at} must be an object, got ${show(g)}`)
    const params = g['params']
    if (!Array.isArray(params) || !params.every((id) => Number.isSafeInteger(id) && (id as number) >= 0)) bad(`${at}.params must be an array of parameter indices, got ${show(params)}`)
    // Options are numbers, booleans or number pairs (betas); the optimizer checks their ranges.
    for (const [k, v] of Object.entries(g)) {
      const ok = typeof v === 'boolean' || v === null || Number.isFinite(v) || (Array.isArray(v) && v.every((x) => Number.isFinite(x)))
      if (k !== 'params' && !ok) bad(`${at}.${k} must be a finite number, a boolean or an array of finite numbers, got ${show(v)}`)
    }
  })
  const state = o['state']
  if (!isPlainObject(state)) return bad(`"optimizer"."state" must be an object, got ${show(state)}`)
  for (const [index, entry] of Object.entries(state)) {
    const at = `"optimizer"."state".${show(index)}`
    if (!/^\d+$/.test(index)) bad(`${at}: expected a parameter index as key`)
    if (!isPlainObject(entry)) return bad(`${at} must be an object, got ${show(entry)}`)
    for (const [k, v] of Object.entries(entry)) if (!Number.isFinite(v)) bad(`${at}.${k} must be a finite number, got ${show(v)}`)
  }
}

/**
 * Save the model's state dict alone as a safetensors file (atomic write). The directory must
 * exist (as for torch.save); a missing one is named in the error.
 * @example saveStateDict('mlp.safetensors', model)
 */
export function saveStateDict(file: string, model: CheckpointModel): void {
  const fail = (msg: string, cause?: unknown): never => {
    throw new CheckpointError(`saveStateDict(${file}): ${msg}`, cause === undefined ? undefined : { cause })
  }
  if (typeof file !== 'string' || file === '') fail(`file must be a non-empty string, got ${show(file)}`)
  if (typeof model?.stateDict !== 'function') fail(`model must have stateDict(), got ${show(model)}`)
  const dir = path.dirname(path.resolve(file))
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(dir)
  } catch {
    st = undefined
  }
  if (st === undefined) fail(`the directory ${dir} does not exist; create it first (fs.mkdirSync(dir, { recursive: true }))`)
  if (!st!.isDirectory()) fail(`${dir} is not a directory`)
  try {
    saveSafetensors(file, toEntries(model.stateDict()), METADATA)
  } catch (err) {
    fail((err as Error).message, err)
  }
}

/** Options of {@link loadStateDict}. */
export interface LoadStateDictFileOptions {
  /** Missing and unexpected keys are errors (default true), as PyTorch's load_state_dict. */
  strict?: boolean
  /**
   * Convert between float dtypes (F64 into a float32 model rounds to nearest, as PyTorch's
   * load_state_dict copies with a cast). Default false: only exact loads (F16/BF16/F32 into
   * float32 or float64, F64 into float64, integers into int32).
   */
  cast?: boolean
}

/**
 * Load weights from a safetensors file (priorgrad's or PyTorch's). With `strict` (default) missing
 * and unexpected keys are errors; shapes must always agree, and dtypes must load exactly unless
 * `cast` is true. The model is untouched on error.
 * @example loadStateDict('resnet.safetensors', model, { cast: true }) // an F64 file into float32
 */
export function loadStateDict(file: string, model: CheckpointModel, options: LoadStateDictFileOptions = {}): unknown {
  const where = `loadStateDict(${file})`
  if (!isPlainObject(options)) throw new CheckpointError(`${where}: options must be an object {strict?, cast?}, got ${show(options)}`)
  for (const k of ['strict', 'cast'] as const) {
    if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new CheckpointError(`${where}: options.${k} must be a boolean, got ${show(options[k])}`)
  }
  const { strict = true, cast = false } = options as LoadStateDictFileOptions
  let tensors: Record<string, DecodedEntry>
  try {
    tensors = loadSafetensors(file).tensors
  } catch (err) {
    // The decoder names the file; a raw fs error (ENOENT, EISDIR) does not.
    if (err instanceof SafetensorsError) throw err
    throw new CheckpointError(`${where}: ${(err as Error).message}`, { cause: err })
  }
  const sd = checkModelStateDict(tensors, model, where, { strict, cast, castHint: `loadStateDict(${file}, model, { cast: true })` })
  return model.loadStateDict(sd, { strict })
}

// Why a value would not survive JSON (null when it would): NaN, undefined, Maps, typed arrays...
function jsonProblem(v: unknown, at: string, depth: number): string | null {
  if (depth > 100) return `${at} is nested too deeply (a cycle?)`
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || v === undefined) return null
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${at} is ${v}`
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = v[i] === undefined ? `${at}[${i}] is undefined` : jsonProblem(v[i], `${at}[${i}]`, depth + 1)
      if (p !== null) return p
    }
    return null
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) {
      const p = x === undefined ? `${at}.${k} is undefined` : jsonProblem(x, `${at}.${k}`, depth + 1)
      if (p !== null) return p
    }
    return null
  }
  return `${at} is a ${typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v}`
}

// NOTE: num_batches_tracked is int32 in memory but written as I64, the dtype PyTorch gives it,
// so torch's load_state_dict sees the same dtype it saved; the reader narrows I64 back to int32
// (checked), so files written as I32 by earlier versions load too.
function toEntries(sd: Map<string, Tensor>): Record<string, TensorEntry> {
  const out: Record<string, TensorEntry> = {}
  for (const [key, t] of sd) {
    const dtype = t.dtype === 'int32' && (key === 'num_batches_tracked' || key.endsWith('.num_batches_tracked')) ? 'I64' : SAFE_DTYPE[t.dtype]
    out[key] = { dtype, shape: [...t.shape], data: t.data }
  }
  return out
}

// Compare decoded tensors with the model's own, and build tensors of the model's dtypes.
// Widening conversions (F16/BF16/F32 to float64, small ints and I64 within range to int32) are
// exact and always allowed; `cast` also allows narrowing between float dtypes (F64 to float32,
// rounded to nearest), and `castHint` (null for checkpoints, which are always exact) says how to ask.
function checkModelStateDict(
  tensors: Record<string, DecodedEntry>,
  model: CheckpointModel,
  where: string,
  options: { strict: boolean; cast: boolean; castHint: string | null },
): Map<string, Tensor> {
  const own = model.stateDict()
  const errors: string[] = []
  if (options.strict) {
    for (const [key, t] of own) if (!Object.prototype.hasOwnProperty.call(tensors, key)) errors.push(`missing key "${key}" (expected shape ${formatShape(t.shape)})`)
    for (const key of Object.keys(tensors)) if (!own.has(key)) errors.push(`unexpected key ${show(key)} (shape ${formatShape(tensors[key]!.shape)})`)
  }
  const out = new Map<string, Tensor>()
  let castable = false
  for (const [key, entry] of Object.entries(tensors)) {
    const target = own.get(key)
    if (target === undefined) continue
    if (!shapesEqual(entry.shape, target.shape)) {
      errors.push(`key "${key}": expected shape ${formatShape(target.shape)}, found ${formatShape(entry.shape)}`)
      continue
    }
    const d = entry.data
    // F16 and BF16 arrive widened to Float32Array, I64 narrowed (checked) to Int32Array.
    const floatSrc = d instanceof Float32Array || d instanceof Float64Array
    const floatDst = target.dtype === 'float32' || target.dtype === 'float64'
    const exact =
      (target.dtype === 'float64' && floatSrc) ||
      (target.dtype === 'float32' && d instanceof Float32Array) ||
      (target.dtype === 'int32' && (d instanceof Int32Array || d instanceof Int16Array || d instanceof Int8Array || d instanceof Uint8Array))
    if (!exact && !(options.cast && floatSrc && floatDst)) {
      castable ||= floatSrc && floatDst
      errors.push(`key "${key}": file dtype ${entry.dtype} cannot load exactly into a ${target.dtype} tensor`)
      continue
    }
    // Float32Array.from rounds float64 to nearest (ties to even), as torch's copy_ with a cast.
    const data = target.dtype === 'float64' ? (d instanceof Float64Array ? d : Float64Array.from(d as Float32Array)) : target.dtype === 'float32' ? (d instanceof Float32Array ? d : Float32Array.from(d as Float64Array)) : Int32Array.from(d as Int32Array)
    out.set(key, new Tensor(data, entry.shape))
  }
  if (errors.length > 0) {
    const hint = castable && options.castHint !== null ? `; ${options.castHint} converts between float dtypes, as PyTorch's load_state_dict does` : ''
    throw new CheckpointError(`${where}: ${errors.join('; ')} (nothing was loaded${hint})`)
  }
  return out
}
