// The on-disk checkpoint format, and the checks its bytes pass before any of them reach a model.
// A checkpoint is a directory holding
//   model.safetensors      the model's state dict (F32/F64, I64 for num_batches_tracked as PyTorch,
//                          metadata {format: 'priorgrad'})
//   optimizer.safetensors  the optimizer's buffers, keyed `state.<paramIndex>.<name>` (if any)
//   state.json             optimizer options and step counts, generator states and `extra`
//   manifest.json          format, version, and the byte size and SHA-256 of the three files above.
// Every byte is covered: the manifest checksums the other files (state.json included: a flipped
// bit there would otherwise load as a different learning rate, step count or data cursor), and
// the manifest itself must be exactly the text saveCheckpoint writes, so any change to it either
// breaks a checksum or is refused as not canonical.
// These rules live apart from checkpoint.ts so that saveCheckpoint and loadCheckpoint read as a
// few steps. Each check reports through the `fail` its caller passes, so every message starts with
// the caller's name and the file (tests pin the messages).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { checkGeneratorState, type GeneratorState } from '../tensor/generator.js'
import { decodeSafetensors, SafetensorsError } from '../io/safetensors.js'
import type { OptimizerStateDict } from '../optim/optimizer.js'

/**
 * The checkpoint format version written to manifest.json; loading checks it. Version 2 added
 * manifest.json (version 1 kept the checksums in state.json, which they did not cover).
 * @example CHECKPOINT_VERSION // 2
 */
export const CHECKPOINT_VERSION = 2
const FORMAT = 'priorgrad-checkpoint'
/** Metadata of every safetensors file priorgrad writes. */
export const METADATA = { format: 'priorgrad', version: String(CHECKPOINT_VERSION) }
export const MODEL_FILE = 'model.safetensors'
export const OPTIMIZER_FILE = 'optimizer.safetensors'
export const STATE_FILE = 'state.json'
export const MANIFEST_FILE = 'manifest.json'
/** Files the manifest lists, in the order it lists them. */
const LISTED_FILES = [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE] as const
export type ListedFile = (typeof LISTED_FILES)[number]
/** Every file a checkpoint directory may hold. */
export const CHECKPOINT_FILES = new Set<string>([...LISTED_FILES, MANIFEST_FILE])
// A manifest lists three files: anything much larger was not written by saveCheckpoint.
const MAX_MANIFEST_BYTES = 4096

interface FileEntry {
  bytes: number
  sha256: string
}
interface Manifest {
  format: typeof FORMAT
  version: number
  files: Partial<Record<ListedFile, FileEntry>>
}
interface SavedOptimizer {
  type: string
  paramGroups: OptimizerStateDict['paramGroups']
  state: Record<string, Record<string, number>>
}
/** What state.json holds. */
export interface StateJson {
  optimizer?: SavedOptimizer
  generators: Record<string, GeneratorState>
  extra?: unknown
}
/** Throws an error naming `file`, in a checkpoint the caller is reading. */
export type Fail = (file: string, msg: string, cause?: unknown) => never

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)
/** A short rendering of a value read from a file, for messages (never calls its toString). */
export const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null ? 'null' : v === undefined ? 'missing' : Array.isArray(v) ? 'an array' : 'an object'

/** The manifest of `files` (name -> bytes, listed files only), as the text saveCheckpoint writes. */
export function manifestFor(files: Record<string, Uint8Array>): string {
  const manifest: Manifest = { format: FORMAT, version: CHECKPOINT_VERSION, files: {} }
  for (const [name, bytes] of Object.entries(files)) manifest.files[name as ListedFile] = { bytes: bytes.byteLength, sha256: sha256(bytes) }
  return manifestText(manifest)
}

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
 * The bytes of every file the manifest in `root` lists, each checked against the size and SHA-256
 * listed there. Checksums first: no decoder or JSON parser sees bytes the manifest does not vouch for.
 */
export function readCheckedFiles(root: string, fail: Fail): Partial<Record<ListedFile, Uint8Array>> {
  if (!fs.existsSync(path.join(root, MANIFEST_FILE))) refuseWithoutManifest(root, fail)
  const manifest = parseManifest(readFileIn(root, MANIFEST_FILE, MAX_MANIFEST_BYTES, fail), fail)
  const raw: Partial<Record<ListedFile, Uint8Array>> = {}
  for (const file of LISTED_FILES) {
    const expected = manifest.files[file]
    if (expected !== undefined) raw[file] = readListed(root, file, expected, fail)
  }
  return raw
}

// No manifest: say whether this is an older checkpoint (version 1 kept its manifest in
// state.json, outside any checksum) or no checkpoint at all.
function refuseWithoutManifest(root: string, fail: Fail): never {
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
function readFileIn(root: string, file: string, limit: number, fail: Fail): Uint8Array {
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
function readListed(root: string, file: string, expected: FileEntry, fail: Fail): Uint8Array {
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

function decodeJson(bytes: Uint8Array, file: string, fail: Fail): unknown {
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

function parseManifest(bytes: Uint8Array, fail: Fail): Manifest {
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

/**
 * state.json, field by field: its bytes already match the manifest, so this guards against a
 * writer bug or a hand-made checkpoint rather than a flipped bit.
 */
export function parseState(bytes: Uint8Array, fail: Fail): StateJson {
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

/** Why a value would not survive JSON (null when it would): NaN, undefined, Maps, typed arrays... */
export function jsonProblem(v: unknown, at: string, depth: number): string | null {
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
