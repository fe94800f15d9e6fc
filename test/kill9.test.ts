// kill -9 as a test (#21): a real training run (the priorgrad command, mlp with the dynamic prior
// on 64 MNIST images, a checkpoint at every epoch end) is SIGKILLed at seeded random moments,
// half of them in the middle of a checkpoint write, and resumed with --resume after each kill.
// The resumed run must write the same metrics and end with the same weights, optimizer state and
// generator states, bit for bit, as an uninterrupted run, and leave no staging directory behind.
// The moments vary from run to run (they are wall-clock times); what is checked does not.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Generator } from '../src/tensor/generator.js'
import { csvWithoutTime, metricsWithoutTime, tinyMnist } from './experiments-fixtures.js'

const bin = path.join(__dirname, '..', 'bin', 'priorgrad.mjs')
const EPOCHS = 16
const runFlags = (dataDir: string, out: string): string[] => [
  'train', '--model', 'mlp', '--reg', 'dynamic-prior', '--S', '2', '--data-dir', dataDir, '--epochs', String(EPOCHS),
  '--batch-size', '32', '--eval-every', '3', '--test-subset', '16', '--log-every', '1', '--backend', 'reference', '--out', out, '--progress', 'none',
]
// A slow disk, simulated in the killed runs only: every fsync takes 15 ms more, so one checkpoint
// write (about 9 fsyncs) lasts well over 100 ms and a kill aimed into it lands there.
const SLOW_FSYNC = `data:text/javascript,${encodeURIComponent(
  "import fs from 'node:fs'; const f = fs.fsyncSync; const s = new Int32Array(new SharedArrayBuffer(4)); fs.fsyncSync = (fd) => { Atomics.wait(s, 0, 0, 15); return f(fd) }",
)}`

interface Child {
  pid: number
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill: (signal: NodeJS.Signals) => void
  stderr: () => string
  exited: () => boolean
}
function start(args: string[], slow: boolean): Child {
  const child = spawn(process.execPath, [...(slow ? ['--import', SLOW_FSYNC] : []), bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  let done = false
  child.stderr.on('data', (b) => (stderr += b))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true
      resolve({ code, signal })
    }),
  )
  return { pid: child.pid!, exit, kill: (s) => child.kill(s), stderr: () => stderr, exited: () => done }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const stagingIn = (out: string): string[] => (fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.startsWith('.checkpoint.staging-')) : [])
/** Poll every 2 ms until `cond` holds (true) or the child exits (false). */
async function until(child: Child, cond: () => boolean): Promise<boolean> {
  for (;;) {
    if (cond()) return true
    if (child.exited()) return false
    await sleep(2)
  }
}

type Plan = { kind: 'time'; delayMs: number } | { kind: 'write'; skip: number; delayMs: number }

/**
 * Run one process until the plan's moment, then SIGKILL it. 'time': a delay after the process
 * first changes metrics.jsonl (a resume cuts it back, then every step appends), so after startup,
 * in training. 'write': `delayMs` after the (skip+1)-th checkpoint staging directory appears; the
 * process is stopped (SIGSTOP) first, and killed only if its staging directory is still there,
 * i.e. the write is unfinished; otherwise it continues to the next write.
 */
async function runAndKill(args: string[], out: string, plan: Plan): Promise<{ killed: boolean; midWrite: boolean; child: Child }> {
  const metrics = path.join(out, 'metrics.jsonl')
  const size = (): number => (fs.existsSync(metrics) ? fs.statSync(metrics).size : -1)
  const sizeAtStart = size()
  const child = start(args, true)
  if (plan.kind === 'time') {
    if (await until(child, () => size() !== sizeAtStart)) {
      await Promise.race([sleep(plan.delayMs), child.exit])
      child.kill('SIGKILL')
    }
  } else {
    let seen = 0
    let lastStaging = ''
    for (;;) {
      const appeared = await until(child, () => stagingIn(out).some((s) => s !== lastStaging))
      if (!appeared) break
      lastStaging = stagingIn(out).find((s) => s !== lastStaging)!
      if (seen++ < plan.skip) continue
      await sleep(plan.delayMs)
      child.kill('SIGSTOP')
      await sleep(5) // the signal is delivered asynchronously
      if (stagingIn(out).includes(lastStaging)) {
        child.kill('SIGKILL')
        break
      }
      child.kill('SIGCONT') // the write finished first: aim at the next one
    }
  }
  const { signal } = await child.exit
  // Proof the kill landed inside a write: the killed process's staging directory is still there.
  const own = stagingIn(out).some((s) => s.startsWith(`.checkpoint.staging-${child.pid}-`))
  return { killed: signal === 'SIGKILL', midWrite: signal === 'SIGKILL' && own, child }
}

let data: { dir: string; cleanup: () => void }
beforeAll(() => {
  data = tinyMnist(64, 32)
})
afterAll(() => data.cleanup())

describe('kill -9', () => {
  it('a run SIGKILLed at random moments (also mid-checkpoint-write) and resumed each time ends bit-identical to an uninterrupted one', async () => {
    const straight = path.join(data.dir, 'straight')
    const killedOut = path.join(data.dir, 'killed')
    const reference = start(runFlags(data.dir, straight), false)
    const rng = new Generator(2026_21)
    // Six kills, alternating between a random wall-clock moment and a random checkpoint write.
    const plans: Plan[] = Array.from({ length: 6 }, (_, i) =>
      i % 2 === 0 ? { kind: 'write', skip: rng.int(3), delayMs: rng.int(40) } : { kind: 'time', delayMs: rng.int(600) },
    )
    const log: string[] = []
    let midWrite = 0
    let finished = false
    for (const [i, plan] of plans.entries()) {
      const args = i === 0 ? runFlags(data.dir, killedOut) : ['train', '--resume', killedOut, '--progress', 'none']
      const r = await runAndKill(args, killedOut, plan)
      const { code } = await r.child.exit
      log.push(`${plan.kind}: ${r.killed ? (r.midWrite ? 'killed mid-write' : 'killed') : `exited ${code}`}`)
      if (!r.killed) {
        expect(code, `process ${i} (${plan.kind}) failed:\n${r.child.stderr()}`).toBe(0)
        finished = true // it ran to the end before the kill: nothing left to resume
        break
      }
      if (r.midWrite) midWrite++
    }
    if (!finished) {
      const last = start(['train', '--resume', killedOut, '--progress', 'none'], false)
      const { code } = await last.exit
      expect(code, `the final resume failed:\n${last.stderr()}`).toBe(0)
    }
    const ref = await reference.exit
    expect(ref.code, reference.stderr()).toBe(0)
    console.log(`kill -9: ${log.join('; ')}`)

    expect(midWrite, `no kill landed inside a checkpoint write (${log.join('; ')})`).toBeGreaterThan(0)
    expect(metricsWithoutTime(killedOut)).toBe(metricsWithoutTime(straight))
    expect(csvWithoutTime(killedOut)).toBe(csvWithoutTime(straight))
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const bytes = (dir: string): string => fs.readFileSync(path.join(dir, 'checkpoint', file)).toString('base64')
      expect(bytes(killedOut) === bytes(straight), file).toBe(true)
    }
    // Generator states, optimizer scalars, data cursor: all but the wall-clock seconds and the
    // metrics files' byte lengths (their seconds fields have varying numbers of digits).
    const state = (dir: string): unknown => {
      const s = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'state.json'), 'utf8'))
      delete s.extra.seconds
      delete s.extra.metricsBytes
      return s
    }
    expect(state(killedOut)).toEqual(state(straight))
    expect(stagingIn(killedOut)).toEqual([])
    expect(fs.existsSync(path.join(killedOut, 'checkpoint.prev'))).toBe(false)
  }, 120_000)
})
