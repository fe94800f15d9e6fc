// How saveCheckpoint replaces a checkpoint directory so that a crash loses nothing (#21).
// A save writes every file into a fresh staging directory next to the target, then swaps
// directories: target -> `<dir>.prev`, staging -> target, then deletes `<dir>.prev`.
// A crash before the swap leaves the old checkpoint untouched; a crash between the two renames
// leaves only `<dir>.prev`, which loadCheckpoint falls back to. Staging directories left by a
// killed process are removed by the next save or load. Not safe for two processes saving into
// the same directory at once.
// Kept apart from checkpoint.ts because none of it depends on what the files hold.
import fs from 'node:fs'
import path from 'node:path'
import { fsyncDirectory, processAlive, writeFileAtomic } from '../io/atomic.js'
import { CHECKPOINT_FILES, MANIFEST_FILE } from './checkpoint-format.js'

let stagingCounter = 0
// Staging directories of saves in progress in this process (saves are synchronous, so at most
// one per thread); any other one of this process's pid is left over from a failed save.
const liveStaging = new Set<string>()

/**
 * Write `files` and then `manifest` into a fresh staging directory beside `target`, then swap it
 * into place. On error the staging directory is removed and `wrap(err)` is thrown.
 */
export function writeStagedThenSwap(target: string, files: Record<string, Uint8Array>, manifest: string, wrap: (err: unknown) => Error): void {
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.staging-${process.pid}-${++stagingCounter}`)
  liveStaging.add(staging)
  try {
    fs.mkdirSync(staging)
    for (const [name, bytes] of Object.entries(files)) writeFileAtomic(path.join(staging, name), bytes)
    // The manifest last: a directory without one is never mistaken for a checkpoint.
    writeFileAtomic(path.join(staging, MANIFEST_FILE), manifest)
    swapInto(staging, target)
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true })
    throw wrap(err)
  } finally {
    liveStaging.delete(staging)
  }
}

/** Refuse to replace `dir` unless it is a directory holding only checkpoint files. */
export function checkOnlyCheckpointFiles(dir: string, fail: (msg: string) => never): void {
  if (!fs.statSync(dir).isDirectory()) fail(`${dir} exists and is not a directory`)
  const others = fs.readdirSync(dir).filter((f) => !CHECKPOINT_FILES.has(f))
  if (others.length > 0) {
    fail(`${dir} holds files that are not part of a checkpoint (${others.slice(0, 5).join(', ')}); a save replaces the whole directory, so use a dedicated one such as ${path.join(dir, 'checkpoint')}`)
  }
}

/**
 * Remove `.<name>.staging-<pid>-<n>` siblings of `target` left by saves that died (kill -9, power
 * loss): those of a process that no longer exists, and those of this process that no save of
 * it is writing. A live process's staging directory is left alone. Best effort: a failure to
 * remove one never fails the save or load that noticed it.
 */
export function removeStaleStaging(target: string): void {
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
