// A synchronous fork/join pool over worker_threads sharing one WebAssembly.Memory.
//
// Each worker instantiates the same compiled module on the shared memory and sleeps in
// Atomics.wait on its control slot. `run` writes one task per worker (an export name and i32
// arguments), wakes them, computes task 0 on the calling thread, then blocks until every worker
// has signalled done, so callers keep a plain synchronous API. Workers are unref()ed (a process
// exits normally with the pool alive) and terminated by dispose().
import { Worker } from 'node:worker_threads'

// control slot layout (Int32 words): sequence number, done sequence, status (0 ok, 1 error),
// export index, argument count, arguments..., then an error message as UTF-8 bytes
const SEQ = 0
const DONE = 1
const STATUS = 2
const FN = 3
const NARGS = 4
const ARGS = 5
const MAX_ARGS = 24
const MSG_WORDS = 64
const SLOT = ARGS + MAX_ARGS + MSG_WORDS

// Plain JS (not TypeScript) so the worker loads the same way under vitest, tsx and node.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { module, memory, control, slot, names } = workerData
let fns = null
let initError = null
try {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports
  fns = names.map((n) => exports[n])
} catch (e) {
  initError = e
}
const ctrl = new Int32Array(control)
const base = slot * ${SLOT}
let seen = 0
for (;;) {
  Atomics.wait(ctrl, base + ${SEQ}, seen)
  const seq = Atomics.load(ctrl, base + ${SEQ})
  if (seq === seen) continue
  seen = seq
  const fn = ctrl[base + ${FN}]
  if (fn < 0) break
  const args = Array.from(ctrl.subarray(base + ${ARGS}, base + ${ARGS} + ctrl[base + ${NARGS}]))
  try {
    if (initError) throw initError
    fns[fn](...args)
    ctrl[base + ${STATUS}] = 0
  } catch (e) {
    const msg = new TextEncoder().encode(String(e && e.message || e)).subarray(0, ${MSG_WORDS * 4 - 1})
    new Uint8Array(control, (base + ${ARGS + MAX_ARGS}) * 4, ${MSG_WORDS * 4}).fill(0).set(msg)
    ctrl[base + ${STATUS}] = 1
  }
  Atomics.store(ctrl, base + ${DONE}, seq)
  Atomics.notify(ctrl, base + ${DONE})
}
`

/** One task: the name of a module export and its i32 arguments. */
export interface Task {
  fn: string
  args: number[]
}

export class ThreadPool {
  private readonly workers: Worker[] = []
  private readonly ctrl: Int32Array
  private readonly names: string[]
  private seq = 0

  /** `workers` helper threads; with the calling thread that makes workers + 1 lanes of work. */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, workers: number, names: string[]) {
    this.names = names
    const control = new SharedArrayBuffer(Math.max(1, workers) * SLOT * 4)
    this.ctrl = new Int32Array(control)
    for (let slot = 0; slot < workers; slot++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, slot, names } })
      w.unref()
      this.workers.push(w)
    }
  }

  get size(): number {
    return this.workers.length
  }

  /**
   * Run tasks[i + 1] on worker i and tasks[0] on the calling thread (via `local`); returns when all
   * are done. Throws if any worker's task trapped.
   */
  run(tasks: Task[], local: (t: Task) => void): void {
    if (tasks.length - 1 > this.workers.length) throw new Error(`ThreadPool.run: ${tasks.length} tasks for ${this.workers.length} workers + caller`)
    const seq = ++this.seq
    for (let i = 1; i < tasks.length; i++) {
      const t = tasks[i]!
      const base = (i - 1) * SLOT
      const fn = this.names.indexOf(t.fn)
      if (fn < 0 || t.args.length > MAX_ARGS) throw new Error(`ThreadPool.run: unknown export '${t.fn}' or too many args (${t.args.length})`)
      this.ctrl[base + FN] = fn
      this.ctrl[base + NARGS] = t.args.length
      this.ctrl.set(t.args, base + ARGS)
      Atomics.store(this.ctrl, base + SEQ, seq)
      Atomics.notify(this.ctrl, base + SEQ)
    }
    let localError: unknown = null
    try {
      if (tasks[0]) local(tasks[0])
    } catch (e) {
      localError = e
    }
    for (let i = 1; i < tasks.length; i++) this.waitDone(i - 1, seq)
    if (localError) throw localError
    for (let i = 1; i < tasks.length; i++) {
      const base = (i - 1) * SLOT
      if (this.ctrl[base + STATUS] !== 0) {
        const bytes = new Uint8Array(this.ctrl.buffer, (base + ARGS + MAX_ARGS) * 4, MSG_WORDS * 4)
        const msg = new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0)))
        throw new Error(`ThreadPool.run: worker ${i - 1} failed in '${tasks[i]!.fn}(${tasks[i]!.args.join(', ')})': ${msg}`)
      }
    }
  }

  private waitDone(slot: number, seq: number): void {
    const idx = slot * SLOT + DONE
    // NOTE: spin briefly first: the other share usually finishes within microseconds of ours,
    // and a futex sleep/wake costs tens of microseconds.
    for (let spin = 0; spin < 20000; spin++) if (Atomics.load(this.ctrl, idx) === seq) return
    for (;;) {
      const cur = Atomics.load(this.ctrl, idx)
      if (cur === seq) return
      Atomics.wait(this.ctrl, idx, cur, 1000)
    }
  }

  /** Stop and terminate every worker. */
  dispose(): void {
    for (let slot = 0; slot < this.workers.length; slot++) {
      const base = slot * SLOT
      this.ctrl[base + FN] = -1
      Atomics.store(this.ctrl, base + SEQ, ++this.seq)
      Atomics.notify(this.ctrl, base + SEQ)
    }
    for (const w of this.workers) void w.terminate()
    this.workers.length = 0
  }
}
