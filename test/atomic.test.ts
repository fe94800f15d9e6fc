// Atomic writes: the target holds either the old or the new content, never a mix, and no temp
// files are left behind, also when a step in the middle fails.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { appendLine, writeFileAtomic, writeJsonAtomic } from '../src/io/index.js'
import { processAlive } from '../src/io/atomic.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-atomic-'))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
afterEach(() => vi.restoreAllMocks())

let dirCount = 0
const freshDir = (): string => {
  dirCount += 1
  const dir = path.join(root, `case-${dirCount}`)
  fs.mkdirSync(dir)
  return dir
}

describe('writeFileAtomic', () => {
  it('replaces the content and leaves no temp file', () => {
    const dir = freshDir()
    const file = path.join(dir, 'ckpt.bin')
    writeFileAtomic(file, 'old')
    writeFileAtomic(file, new Uint8Array([1, 2, 3, 250]))
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3, 250])
    writeFileAtomic(file, 'ünïcode\n')
    expect(fs.readFileSync(file, 'utf8')).toBe('ünïcode\n')
    expect(fs.readdirSync(dir)).toEqual(['ckpt.bin'])
  })

  it('keeps the mode of the file it replaces', () => {
    const file = path.join(freshDir(), 'script.sh')
    fs.writeFileSync(file, 'old')
    fs.chmodSync(file, 0o750)
    writeFileAtomic(file, 'new')
    expect(fs.statSync(file).mode & 0o777).toBe(0o750)
  })

  it('writes everything even when the OS writes a few bytes at a time', () => {
    const file = path.join(freshDir(), 'slow.bin')
    const realWrite = fs.writeSync
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off: number, len: number) =>
      realWrite(fd, buf, off, Math.min(len, 3))) as typeof fs.writeSync)
    const data = new Uint8Array(100).map((_, i) => i)
    writeFileAtomic(file, data)
    expect(spy.mock.calls.length).toBe(34)
    expect([...fs.readFileSync(file)]).toEqual([...data])
  })

  it('a failure mid-write (fsync) leaves the old file intact and removes the temp file', () => {
    const dir = freshDir()
    const file = path.join(dir, 'model.safetensors')
    fs.writeFileSync(file, 'old content')
    vi.spyOn(fs, 'fsyncSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, fsync (simulated)'), { code: 'EIO' })
    })
    let err: NodeJS.ErrnoException | undefined
    try {
      writeFileAtomic(file, 'new content that must not appear')
    } catch (e) {
      err = e as NodeJS.ErrnoException
    }
    expect(err?.message).toBe(`writeFileAtomic(${file}): EIO: i/o error, fsync (simulated)`)
    expect(err?.code).toBe('EIO')
    expect(fs.readFileSync(file, 'utf8')).toBe('old content')
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors'])
  })

  it('a failing rename (target is a directory) removes the temp file and names the path', () => {
    const dir = freshDir()
    const target = path.join(dir, 'taken')
    fs.mkdirSync(target)
    fs.writeFileSync(path.join(target, 'inside'), 'keep')
    expect(() => writeFileAtomic(target, 'x')).toThrow(`writeFileAtomic(${target}):`)
    expect(fs.readdirSync(dir)).toEqual(['taken'])
    expect(fs.readFileSync(path.join(target, 'inside'), 'utf8')).toBe('keep')
  })

  it('a missing directory fails naming the target and the directory, not the temp file (#19)', () => {
    const target = path.join(freshDir(), 'no', 'such', 'dir', 'f.json')
    const message = (fn: () => void): string => {
      try {
        fn()
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toMatch(/^(ENOENT|ENOTDIR)$/)
        return (err as Error).message
      }
      throw new Error('expected a throw')
    }
    const missing = message(() => writeFileAtomic(target, 'x'))
    expect(missing).toBe(`writeFileAtomic(${target}): ENOENT: the directory ${path.dirname(target)} does not exist; create it first`)
    const file = path.join(freshDir(), 'plain-file')
    fs.writeFileSync(file, 'x')
    const under = path.join(file, 'f.json')
    expect(message(() => writeFileAtomic(under, 'x'))).toBe(`writeFileAtomic(${under}): ENOTDIR: ${file} is not a directory`)
  })

  // #21: a kill -9 between creating the temp file and the rename left it behind for good.
  it('removes temp files of the same target left by dead processes, and only those (#21)', () => {
    const dir = freshDir()
    const file = path.join(dir, 'config.json')
    const deadPid = 2 ** 22 + 1 // above Linux's PID_MAX_LIMIT (2^22): no process has it
    const temp = (name: string, pid: number | string, n: number): string => path.join(dir, `.${name}.tmp-${pid}-${n}`)
    const dead = temp('config.json', deadPid, 1)
    const own = temp('config.json', process.pid, 999_999) // this process may be writing it (a worker thread)
    const live = temp('config.json', process.ppid, 1) // the parent process is alive while this test runs
    const otherTarget = temp('other.json', deadPid, 1)
    const notATemp = path.join(dir, '.config.json.tmp-notes')
    for (const f of [dead, own, live, otherTarget, notATemp]) fs.writeFileSync(f, 'partial')
    const deadDir = temp('config.json', deadPid, 2) // never written by writeFileAtomic: left alone
    fs.mkdirSync(deadDir)
    writeFileAtomic(file, 'new')
    expect(fs.readFileSync(file, 'utf8')).toBe('new')
    expect(fs.existsSync(dead)).toBe(false)
    for (const f of [own, live, otherTarget, notATemp, deadDir]) expect(fs.existsSync(f), f).toBe(true)
    expect(processAlive(deadPid)).toBe(false)
    expect(processAlive(process.pid)).toBe(true)
  })

  it('rejects data that is neither a string nor a Uint8Array, leaving the old file', () => {
    const dir = freshDir()
    const file = path.join(dir, 'a.txt')
    fs.writeFileSync(file, 'old')
    expect(() => writeFileAtomic(file, [1, 2] as unknown as Uint8Array)).toThrow(/writeFileAtomic\(.*a\.txt\): expected a string or Uint8Array, found \[object Array\]/)
    expect(fs.readFileSync(file, 'utf8')).toBe('old')
    expect(fs.readdirSync(dir)).toEqual(['a.txt'])
  })
})

describe('writeJsonAtomic and appendLine', () => {
  it('writeJsonAtomic writes pretty JSON with a trailing newline', () => {
    const file = path.join(freshDir(), 'config.json')
    writeJsonAtomic(file, { seed: 0, model: 'cnn2', lr: 1e-3 })
    expect(fs.readFileSync(file, 'utf8')).toBe('{\n  "seed": 0,\n  "model": "cnn2",\n  "lr": 0.001\n}\n')
    expect(() => writeJsonAtomic(file, undefined)).toThrow(/has no JSON representation/)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).model).toBe('cnn2')
  })

  it('appendLine appends one row per call with one write call, creating the file', () => {
    const file = path.join(freshDir(), 'metrics.jsonl')
    const spy = vi.spyOn(fs, 'writeSync')
    appendLine(file, JSON.stringify({ step: 1, loss: 2.5 }))
    appendLine(file, JSON.stringify({ step: 2, loss: 2.25 }) + '\n', { fsync: true })
    expect(spy.mock.calls.length).toBe(2)
    expect(fs.readFileSync(file, 'utf8')).toBe('{"step":1,"loss":2.5}\n{"step":2,"loss":2.25}\n')
    expect(() => appendLine(file, 'a\nb')).toThrow(/appendLine\(.*metrics\.jsonl\): line contains a newline at index 1/)
    expect(() => appendLine(path.join(file, 'x'), 'row')).toThrow(/appendLine\(.*metrics\.jsonl\/x\)/)
  })
})
