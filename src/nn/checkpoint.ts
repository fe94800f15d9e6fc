// Checkpoints, as torch.save/torch.load: saveCheckpoint writes a model, its optimizer, generator
// states and `extra` (epoch, data cursor) into one directory, loadCheckpoint restores them in
// place, and saveStateDict/loadStateDict read and write a model's weights as one safetensors file.
// Loading checks every file fully before changing anything. The rest lives beside this file:
//   checkpoint-format.ts   what each file holds, the manifest and its checksums, and the
//                          field-by-field checks of state.json
//   checkpoint-staging.ts  how a save replaces the directory so that a crash loses nothing
import fs from 'node:fs'
import path from 'node:path'
import { Tensor } from '../tensor/tensor.js'
import { formatShape, shapesEqual } from '../tensor/shape.js'
import { Generator, type GeneratorState } from '../tensor/generator.js'
import { decodeSafetensors, encodeSafetensors, saveSafetensors, loadSafetensors, SafetensorsError, type DecodedEntry, type TensorEntry } from '../io/safetensors.js'
import type { OptimizerStateDict } from '../optim/optimizer.js'
import { isPlainObject, jsonProblem, manifestFor, METADATA, MODEL_FILE, MANIFEST_FILE, OPTIMIZER_FILE, parseState, readCheckedFiles, show, STATE_FILE, type StateJson } from './checkpoint-format.js'
import { checkOnlyCheckpointFiles, removeStaleStaging, writeStagedThenSwap } from './checkpoint-staging.js'

export { CHECKPOINT_VERSION } from './checkpoint-format.js'

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

const SAFE_DTYPE = { float32: 'F32', float64: 'F64', int32: 'I32' } as const
const utf8 = new TextEncoder()

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
  const manifest = manifestFor(files)

  if (fs.existsSync(target)) checkOnlyCheckpointFiles(target, fail)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  removeStaleStaging(target)
  writeStagedThenSwap(target, files, manifest, (err) =>
    new CheckpointError(`saveCheckpoint(${dir}): ${(err as Error).message}; the previous checkpoint (if any) is unchanged`, { cause: err }))
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

  const raw = readCheckedFiles(root, fail)
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
