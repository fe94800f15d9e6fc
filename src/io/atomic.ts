// Crash-safe file writes: a reader sees either the old file or the complete new one, never a
// prefix. Write a temp file in the same directory, fsync it, rename it over the target (rename is
// atomic within one file system), then fsync the directory so the rename itself is durable.
// All functions are synchronous: checkpoints are written between steps, and a synchronous write
// cannot interleave with a Ctrl-C handler that saves another checkpoint.
// A process killed between creating its temp file and the rename (kill -9, power loss) leaves the
// temp file behind; the next write of the same target removes it once its writer is gone (#21).
import fs from 'node:fs'
import path from 'node:path'

const utf8 = new TextEncoder()

// Unique per process; the pid makes it unique across processes writing into the same directory.
let tempCounter = 0

function tempPathFor(target: string): string {
  tempCounter += 1
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${tempCounter}`)
}

/**
 * Whether a process with this pid exists (signal 0 probes without signalling). Used to tell a
 * temp file or staging directory left by a dead writer from one a live writer is still using.
 * @example processAlive(process.pid) // true
 */
export function processAlive(pid: number): boolean {
  // NOTE: pid 0 would signal our own process group; such a name was not written by us.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
}

// Remove the temp files of `target` (see tempPathFor) whose process no longer exists. Those of
// this process are kept: a worker thread shares our pid and may be writing the same target.
// Only plain files are removed. Best effort: a failure here never fails the write.
function removeStaleTemps(target: string): void {
  const dir = path.dirname(target)
  const prefix = `.${path.basename(target)}.tmp-`
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return // the write itself reports a missing directory
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)-\d+$/.exec(name.slice(prefix.length)) : null
    if (m === null) continue
    const pid = Number(m[1])
    if (pid === process.pid || processAlive(pid)) continue
    try {
      const full = path.join(dir, name)
      if (fs.lstatSync(full).isFile()) fs.unlinkSync(full)
    } catch {
      // ignored on purpose (see above)
    }
  }
}

/** Write all of `bytes`: `writeSync` may write fewer bytes than asked. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0
  while (done < bytes.byteLength) {
    const n = fs.writeSync(fd, bytes, done, bytes.byteLength - done)
    if (n <= 0) throw new Error(`write returned ${n} after ${done} of ${bytes.byteLength} bytes`)
    done += n
  }
}

/** fsync a directory so a rename inside it survives a power loss. @example fsyncDirectory('runs/a') */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    // NOTE: Windows cannot open or fsync a directory (EISDIR/EPERM); the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  if (typeof data === 'string') return utf8.encode(data)
  if (data instanceof Uint8Array) return data
  throw new TypeError(`expected a string or Uint8Array, found ${Object.prototype.toString.call(data)}`)
}

function wrapError(fn: string, target: string, err: unknown): Error {
  const cause = err as NodeJS.ErrnoException
  const wrapped = new Error(`${fn}(${target}): ${cause?.message ?? String(err)}`, { cause: err })
  if (cause?.code !== undefined) (wrapped as NodeJS.ErrnoException).code = cause.code
  return wrapped
}

/**
 * Atomically replace `target` with `data` (string as UTF-8). On any failure the old file is left
 * untouched, the temp file is removed and the error names `target`. An existing file's mode is kept.
 * Temp files of `target` left by processes that died mid-write are removed first.
 * @example writeFileAtomic('run/config.json', JSON.stringify(config))
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  let tmp: string | undefined
  let fd: number | undefined
  try {
    const bytes = toBytes(data)
    let mode: number | undefined
    try {
      mode = fs.statSync(target).mode & 0o7777
    } catch {
      mode = undefined // no old file: default mode from the umask
    }
    removeStaleTemps(target)
    tmp = tempPathFor(target)
    // 'wx' fails rather than clobbering a temp file that somehow exists already.
    fd = fs.openSync(tmp, 'wx')
    if (mode !== undefined) fs.fchmodSync(fd, mode)
    writeAll(fd, bytes)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = undefined
    fs.renameSync(tmp, target)
    tmp = undefined
    fsyncDirectory(path.dirname(target))
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd)
      } catch {
        // already failing; the original error is the one worth reporting
      }
    }
    if (tmp !== undefined) {
      try {
        fs.rmSync(tmp, { force: true })
      } catch {
        // e.g. ENOTDIR when the parent is a file: there is no temp file to remove
      }
    }
    const code = (err as NodeJS.ErrnoException)?.code
    const parent = code === 'ENOENT' || code === 'ENOTDIR' ? parentProblem(target) : null
    // The raw error names our temp file, which the caller never asked for: name the directory.
    if (parent !== null) throw wrapError('writeFileAtomic', target, Object.assign(new Error(`${code}: ${parent}`), { code, cause: err }))
    throw wrapError('writeFileAtomic', target, err)
  }
}

/** What is wrong with the directory `target` would be written into (null when it is a directory). */
function parentProblem(target: string): string | null {
  const dir = path.dirname(path.resolve(target))
  try {
    return fs.statSync(dir).isDirectory() ? null : `${dir} is not a directory`
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return `the directory ${dir} does not exist; create it first`
    if (code === 'ENOTDIR') return `${dir} is not a directory (a path component above it is a file)`
    return null
  }
}

/**
 * Atomically write `value` as pretty JSON (2-space indent) with a trailing newline.
 * @example writeJsonAtomic('run/optimizer.json', { step: 10, lr: 1e-3 })
 */
export function writeJsonAtomic(target: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2)
  if (text === undefined) {
    throw new Error(`writeJsonAtomic(${target}): value ${String(value)} has no JSON representation`)
  }
  writeFileAtomic(target, text + '\n')
}

/** Options of appendLine. */
export interface AppendLineOptions {
  /** fsync after the write (default false: metrics rows are cheap to lose, slow to sync). */
  fsync?: boolean
}

/**
 * Append one line to a log such as metrics.jsonl or metrics.csv, creating the file if needed.
 * A trailing newline is added when missing; an embedded newline is an error because it would
 * split one record across two lines.
 * @example appendLine('run/metrics.jsonl', JSON.stringify({ step: 1, loss: 2.3 }))
 */
export function appendLine(target: string, line: string, opts: AppendLineOptions = {}): void {
  const body = line.endsWith('\n') ? line.slice(0, -1) : line
  if (body.includes('\n') || body.includes('\r')) {
    throw new Error(`appendLine(${target}): line contains a newline at index ${body.search(/[\r\n]/)}`)
  }
  let fd: number | undefined
  try {
    fd = fs.openSync(target, 'a')
    // NOTE: one write call on an O_APPEND descriptor, so rows from two writers never interleave
    // (writeAll only loops on a short write, which regular files do not produce in practice).
    writeAll(fd, utf8.encode(body + '\n'))
    if (opts.fsync === true) fs.fsyncSync(fd)
  } catch (err) {
    throw wrapError('appendLine', target, err)
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}
