// Checkpoints: a directory holding
//   model.safetensors      the model's state dict (F32/F64/I32, metadata {format: 'priorgrad'})
//   optimizer.safetensors  the optimizer's buffers, keyed `state.<paramIndex>.<name>` (if any)
//   state.json             optimizer options and step counts, generator states, `extra`, and a
//                          manifest with the byte size and SHA-256 of both safetensors files.
// Crash safety: a save writes every file into a fresh staging directory next to the target,
// then swaps directories: target -> `<dir>.prev`, staging -> target, then deletes `<dir>.prev`.
// A crash before the swap leaves the old checkpoint untouched; a crash between the two renames
// leaves only `<dir>.prev`, which loadCheckpoint falls back to. The manifest catches files mixed
// from two saves by hand. Loading validates every file fully before changing anything.
// Not safe for two processes saving into the same directory at once.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Tensor } from '../tensor/tensor.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { Generator, type GeneratorState } from '../tensor/generator.js'
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, type DecodedEntry, type TensorEntry } from '../io/safetensors.js'
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
 * The checkpoint format version written to state.json and the safetensors metadata; loading checks it.
 * @example CHECKPOINT_VERSION // 1
 */
export const CHECKPOINT_VERSION = 1
const METADATA = { format: 'priorgrad', version: String(CHECKPOINT_VERSION) }
const MODEL_FILE = 'model.safetensors'
const OPTIMIZER_FILE = 'optimizer.safetensors'
const STATE_FILE = 'state.json'
const CHECKPOINT_FILES = new Set([MODEL_FILE, OPTIMIZER_FILE, STATE_FILE])
const SAFE_DTYPE = { float32: 'F32', float64: 'F64', int32: 'I32' } as const

interface StateJson {
  format: 'priorgrad-checkpoint'
  version: number
  files: Record<string, { bytes: number; sha256: string }>
  optimizer?: { type: string; paramGroups: OptimizerStateDict['paramGroups']; state: Record<string, Record<string, number>> }
  generators: Record<string, GeneratorState>
  extra?: unknown
}

let stagingCounter = 0
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * Save model weights, optimizer state, generator states and `extra` (any JSON value, e.g. the
 * epoch and data cursor) into directory `dir`, replacing an earlier checkpoint there atomically.
 * `dir` must be dedicated to the checkpoint: a directory holding other files is refused.
 * @example saveCheckpoint('runs/a/checkpoint', { model, optimizer, generators: { data: rng }, extra: { epoch } })
 */
export function saveCheckpoint(dir: string, parts: CheckpointParts & { extra?: unknown }): void {
  const target = path.resolve(dir)
  const fail = (msg: string): never => {
    throw new Error(`saveCheckpoint(${dir}): ${msg}`)
  }
  // Build every byte in memory first: an encoding error then touches no file.
  const modelBytes = encodeSafetensors(toEntries(parts.model.stateDict()), METADATA)
  const files: Record<string, Uint8Array> = { [MODEL_FILE]: modelBytes }
  const state: StateJson = { format: 'priorgrad-checkpoint', version: CHECKPOINT_VERSION, files: {}, generators: {} }
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
  }
  for (const [name, g] of Object.entries(parts.generators ?? {})) state.generators[name] = g.state()
  if (parts.extra !== undefined) state.extra = parts.extra
  for (const [name, bytes] of Object.entries(files)) state.files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) }
  const problem = jsonProblem(parts.extra, 'extra', 0)
  if (problem !== null) fail(`${problem}; extra must survive JSON.stringify/parse unchanged`)
  const stateText = JSON.stringify(state, null, 1)

  if (fs.existsSync(target)) checkOnlyCheckpointFiles(target, fail)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.staging-${process.pid}-${++stagingCounter}`)
  try {
    fs.mkdirSync(staging)
    for (const [name, bytes] of Object.entries(files)) writeFileAtomic(path.join(staging, name), bytes)
    writeFileAtomic(path.join(staging, STATE_FILE), stateText + '\n')
    swapInto(staging, target)
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true })
    throw new Error(`saveCheckpoint(${dir}): ${(err as Error).message}; the previous checkpoint (if any) is unchanged`, { cause: err })
  }
}

function checkOnlyCheckpointFiles(dir: string, fail: (msg: string) => never): void {
  if (!fs.statSync(dir).isDirectory()) fail(`${dir} exists and is not a directory`)
  const others = fs.readdirSync(dir).filter((f) => !CHECKPOINT_FILES.has(f))
  if (others.length > 0) {
    fail(`${dir} holds files that are not part of a checkpoint (${others.slice(0, 5).join(', ')}); a save replaces the whole directory, so use a dedicated one such as ${path.join(dir, 'checkpoint')}`)
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
 * when given). Every file is decoded and checked (manifest, keys, shapes, dtypes, optimizer sizes,
 * generator states) before anything changes; errors name the file and the key. Returns `extra`.
 * @example const { epoch } = loadCheckpoint('runs/a/checkpoint', { model, optimizer }) as { epoch: number }
 */
export function loadCheckpoint(dir: string, parts: CheckpointParts): unknown {
  let root = path.resolve(dir)
  // A crash between the two renames of a save leaves only the previous checkpoint, at .prev.
  if (!fs.existsSync(root) && fs.existsSync(`${root}.prev`)) root = `${root}.prev`
  const where = (file: string): string => `loadCheckpoint(${path.join(root, file)})`
  const statePath = path.join(root, STATE_FILE)
  if (!fs.existsSync(statePath)) throw new Error(`${where(STATE_FILE)}: no checkpoint here (${STATE_FILE} is missing)`)
  let state: StateJson
  try {
    state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as StateJson
  } catch (err) {
    throw new Error(`${where(STATE_FILE)}: not valid JSON: ${(err as Error).message}`)
  }
  if (state?.format !== 'priorgrad-checkpoint' || state.version !== CHECKPOINT_VERSION || typeof state.files !== 'object' || state.files === null) {
    throw new Error(`${where(STATE_FILE)}: expected format "priorgrad-checkpoint" version ${CHECKPOINT_VERSION}, found ${String(state?.format)} version ${String(state?.version)}`)
  }
  const readChecked = (file: string): Record<string, DecodedEntry> => {
    const expected = state.files[file]
    if (expected === undefined) throw new Error(`${where(STATE_FILE)}: the manifest does not list ${file}`)
    const buf = fs.readFileSync(path.join(root, file))
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    // Decode first: a truncated or malformed file gets the decoder's error naming the byte offsets.
    const { tensors } = decodeSafetensors(bytes, path.join(root, file))
    if (bytes.byteLength !== expected.bytes || sha256(bytes) !== expected.sha256) {
      throw new Error(`${where(file)}: the file does not match the manifest in ${STATE_FILE} (${bytes.byteLength} bytes, ${STATE_FILE} lists ${expected.bytes}; SHA-256 differs): the files come from different saves`)
    }
    return tensors
  }

  const modelSd = checkModelStateDict(readChecked(MODEL_FILE), parts.model, where(MODEL_FILE), true)
  let optimizerSd: OptimizerStateDict | undefined
  if (parts.optimizer !== undefined) {
    const saved = state.optimizer
    if (saved === undefined) throw new Error(`${where(STATE_FILE)}: the checkpoint holds no optimizer state`)
    if (saved.type !== parts.optimizer.name) throw new Error(`${where(STATE_FILE)}: the checkpoint holds ${saved.type} state, the optimizer is ${parts.optimizer.name}`)
    const sd: OptimizerStateDict = { paramGroups: saved.paramGroups, state: {} }
    for (const [index, scalars] of Object.entries(saved.state ?? {})) sd.state[index] = { ...scalars }
    for (const [key, entry] of Object.entries(readChecked(OPTIMIZER_FILE))) {
      const m = /^state\.(\d+)\.([A-Za-z]\w*)$/.exec(key)
      if (m === null || !(entry.data instanceof Float32Array || entry.data instanceof Float64Array)) {
        throw new Error(`${where(OPTIMIZER_FILE)}: unexpected tensor "${key}" (${entry.dtype}); expected state.<paramIndex>.<name> holding F32 or F64`)
      }
      ;(sd.state[m[1]!] ??= {})[m[2]!] = entry.data
    }
    try {
      parts.optimizer.validateStateDict(sd)
    } catch (err) {
      throw new Error(`${where(OPTIMIZER_FILE)}: ${(err as Error).message}`, { cause: err })
    }
    optimizerSd = sd
  }
  const generatorStates: Array<[Generator, GeneratorState]> = []
  for (const [name, g] of Object.entries(parts.generators ?? {})) {
    const s = state.generators?.[name]
    if (s === undefined) throw new Error(`${where(STATE_FILE)}: no state for generator "${name}" (saved: ${Object.keys(state.generators ?? {}).join(', ') || 'none'})`)
    try {
      new Generator().setState(s) // validates without touching g
    } catch (err) {
      throw new Error(`${where(STATE_FILE)}: generator "${name}": ${(err as Error).message}`)
    }
    generatorStates.push([g, s])
  }

  // Everything is valid: apply. The model validates again itself and changes nothing on error.
  parts.model.loadStateDict(modelSd, { strict: true })
  if (optimizerSd !== undefined) parts.optimizer!.loadStateDict(optimizerSd)
  for (const [g, s] of generatorStates) g.setState(s)
  return state.extra
}

/**
 * Save the model's state dict alone as a safetensors file (atomic write).
 * @example saveStateDict('mlp.safetensors', model)
 */
export function saveStateDict(file: string, model: CheckpointModel): void {
  saveSafetensors(file, toEntries(model.stateDict()), METADATA)
}

/**
 * Load weights from a safetensors file (priorgrad's or PyTorch's). With `strict` (default) missing
 * and unexpected keys are errors; shapes and dtypes must always agree. The model is untouched on error.
 * @example loadStateDict('mlp.safetensors', model)
 */
export function loadStateDict(file: string, model: CheckpointModel, options: { strict?: boolean } = {}): unknown {
  const strict = options.strict ?? true
  const sd = checkModelStateDict(loadSafetensors(file).tensors, model, `loadStateDict(${file})`, strict)
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

function toEntries(sd: Map<string, Tensor>): Record<string, TensorEntry> {
  const out: Record<string, TensorEntry> = {}
  for (const [key, t] of sd) out[key] = { dtype: SAFE_DTYPE[t.dtype], shape: [...t.shape], data: t.data }
  return out
}

// Compare decoded tensors with the model's own, and build tensors of the model's dtypes.
// Widening conversions (F16/BF16/F32 to float64, small ints to int32) are exact and allowed.
function checkModelStateDict(tensors: Record<string, DecodedEntry>, model: CheckpointModel, where: string, strict: boolean): Map<string, Tensor> {
  const own = model.stateDict()
  const errors: string[] = []
  if (strict) {
    for (const [key, t] of own) if (!(key in tensors)) errors.push(`missing key "${key}" (expected shape ${formatShape(t.shape)})`)
    for (const key of Object.keys(tensors)) if (!own.has(key)) errors.push(`unexpected key "${key}" (shape ${formatShape(tensors[key]!.shape)})`)
  }
  const out = new Map<string, Tensor>()
  for (const [key, entry] of Object.entries(tensors)) {
    const target = own.get(key)
    if (target === undefined) continue
    if (!shapesEqual(entry.shape, target.shape)) {
      errors.push(`key "${key}": expected shape ${formatShape(target.shape)}, found ${formatShape(entry.shape)}`)
      continue
    }
    const d = entry.data
    const floatSrc = d instanceof Float32Array || d instanceof Float64Array
    const exact =
      (target.dtype === 'float64' && floatSrc) ||
      (target.dtype === 'float32' && d instanceof Float32Array) ||
      (target.dtype === 'int32' && (d instanceof Int32Array || d instanceof Int16Array || d instanceof Int8Array || d instanceof Uint8Array))
    if (!exact) {
      errors.push(`key "${key}": file dtype ${entry.dtype} cannot load exactly into a ${target.dtype} tensor`)
      continue
    }
    const data = target.dtype === 'float64' ? (d instanceof Float64Array ? d : Float64Array.from(d as Float32Array)) : target.dtype === 'float32' ? (d as Float32Array) : Int32Array.from(d as Int32Array)
    out.set(key, new Tensor(data, entry.shape))
  }
  if (errors.length > 0) throw new Error(`${where}: ${errors.join('; ')} (nothing was loaded)`)
  return out
}
