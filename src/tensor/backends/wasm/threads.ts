// A synchronous fork/join pool over helper threads sharing one WebAssembly.Memory.
//
// Each helper instantiates the same compiled module on the shared memory and sleeps in
// Atomics.wait. `run` writes a table of tasks (an export name and i32 arguments each), wakes the
// helpers, and then the caller and the helpers take tasks from the table through one atomic
// counter until it is empty; the caller then blocks until every claimed task has finished, so
// callers keep a plain synchronous API, and a helper that is slow to wake (a busy machine, or a
// Web Worker still loading) costs nothing: the caller simply takes its share.
// NOTE: which thread runs which task varies from run to run (that is what balances the load when
// the machine is busy), but every task writes its own disjoint output with the same instructions,
// and each export receives the executing thread's `lane` only to pick private scratch memory, so
// results do not depend on the assignment.
// How a helper thread starts is the platform's business (a {@link WasmThreading}): Node's
// worker_threads (./threads-node.ts) or a page's Web Workers (./threads-browser.ts); both run
// THREAD_BODY below. The caller blocks in Atomics.wait, which a browser allows in a Web Worker
// only, never on a page's main thread.
import type { WasmMemory, WasmModule } from './wasm-api.js'

// Control words. NEXT packs (task count << 10 | next index) into one word, so a claim made with
// Atomics.add carries the count of the run it was made in: a worker that wakes late claims an
// index past that count and stops, without ever reading a half-written task table. FINISHED
// counts completed tasks; the caller returns when it reaches the count, so it never waits for a
// worker that took no task. Then one slot per worker (error flag, tasks it ran, message), then
// the table.
const NEXT = 0
const FINISHED = 1
const SEQ = 2
const QUIT = 3
const HEADER = 4
const ERR = 0
const TOOK = 1
const MSG = 2
const MSG_WORDS = 64
const SLOT = MSG + MSG_WORDS
const MAX_ARGS = 24
const TASK = 2 + MAX_ARGS
const INDEX_BITS = 10
export const MAX_TASKS = 256

/**
 * Cut [0, total) into about `chunks` consecutive bands, each (but the last) a multiple of
 * `multiple` long (4 keeps f32x4 vectors whole); returns [start, length] pairs.
 * @example bands(10, 2) // [[0, 5], [5, 5]]
 */
export function bands(total: number, chunks: number, multiple = 1): [number, number][] {
  const per = Math.max(multiple, Math.ceil(total / chunks / multiple) * multiple)
  const out: [number, number][] = []
  for (let start = 0; start < total; start += per) out.push([start, Math.min(per, total - start)])
  return out
}

/** What a helper thread receives: the module, the memory, the control words and its slot. */
export interface ThreadInit {
  module: WasmModule
  memory: WasmMemory
  control: SharedArrayBuffer
  slot: number
  /** the exports a task may name, by index */
  names: string[]
  /** where the task table starts in `control` (in words) */
  table: number
}

/** A started helper thread. */
export interface ThreadHandle {
  /** stop the thread (a Worker's terminate()) */
  terminate(): unknown
}

/** Start one helper thread running THREAD_BODY on `init`. */
export type SpawnThread = (init: ThreadInit) => ThreadHandle

/**
 * How a platform runs the WASM backend's threads: how many it offers (including the caller) and
 * how to start a helper; `spawn` null means one thread, and `why` says why.
 * @example const t: WasmThreading = { defaultThreads: () => 1, spawn: null, why: 'a page that is not cross-origin isolated' }
 */
export interface WasmThreading {
  /** threads (the caller included) when the options give none */
  defaultThreads(): number
  spawn: SpawnThread | null
  why?: string
}

/**
 * The helper thread's program, as plain JavaScript statements over a `workerData` (a ThreadInit)
 * in scope: Node evaluates it as a worker_threads script (no file, so it loads the same way under
 * vitest, tsx and node), a page serves it as a Web Worker script (a file: a strict CSP refuses
 * eval and blob: workers). See ./threads-node.ts and ./threads-browser.ts.
 */
export const THREAD_BODY = `
const { module, memory, control, slot, names, table } = workerData
let fns = null
let initError = null
try {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports
  fns = names.map((n) => exports[n])
} catch (e) {
  initError = e
}
const ctrl = new Int32Array(control)
const base = ${HEADER} + slot * ${SLOT}
const lane = slot + 1
let seen = 0
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seen)
  seen = Atomics.load(ctrl, ${SEQ})
  if (Atomics.load(ctrl, ${QUIT})) break
  for (;;) {
    const claim = Atomics.add(ctrl, ${NEXT}, 1)
    const i = claim & ${(1 << INDEX_BITS) - 1}
    const count = claim >>> ${INDEX_BITS}
    if (i >= count) break
    try {
      if (initError) throw initError
      const t = table + i * ${TASK}
      fns[ctrl[t]](lane, ...ctrl.subarray(t + 2, t + 2 + ctrl[t + 1]))
    } catch (e) {
      const msg = new TextEncoder().encode(String(e && e.message || e)).subarray(0, ${MSG_WORDS * 4 - 1})
      new Uint8Array(control, (base + ${MSG}) * 4, ${MSG_WORDS * 4}).fill(0).set(msg)
      Atomics.store(ctrl, base + ${ERR}, 1)
    }
    Atomics.add(ctrl, base + ${TOOK}, 1)
    if (Atomics.add(ctrl, ${FINISHED}, 1) + 1 === count) Atomics.notify(ctrl, ${FINISHED})
  }
}
`

/** One task: the name of a module export and its i32 arguments (after the lane). */
export interface Task {
  fn: string
  args: number[]
}

export class ThreadPool {
  private readonly workers: ThreadHandle[] = []
  private readonly ctrl: Int32Array
  private readonly names: string[]
  private readonly table: number

  /** `workers` helper threads started by `spawn`; with the calling thread (lane 0) that makes workers + 1 lanes. */
  constructor(spawn: SpawnThread, module: WasmModule, memory: WasmMemory, workers: number, names: string[]) {
    this.names = names
    this.table = HEADER + workers * SLOT
    const control = new SharedArrayBuffer((this.table + MAX_TASKS * TASK) * 4)
    this.ctrl = new Int32Array(control)
    for (let slot = 0; slot < workers; slot++) this.workers.push(spawn({ module, memory, control, slot, names, table: this.table }))
  }

  get size(): number {
    return this.workers.length
  }

  /** Tasks the helpers (not the caller) have run so far: 0 means none has started yet. */
  get helperTasks(): number {
    let n = 0
    for (let slot = 0; slot < this.workers.length; slot++) n += Atomics.load(this.ctrl, HEADER + slot * SLOT + TOOK)
    return n
  }

  /**
   * Run all tasks on the caller (via `local(lane 0, task)`) and the workers; returns when all
   * are done. Throws if any task trapped, or `meanwhile` threw (which the caller runs first,
   * while the workers take tasks).
   */
  run(tasks: Task[], local: (lane: number, t: Task) => void, meanwhile?: () => void): void {
    const count = tasks.length
    if (count > MAX_TASKS) throw new Error(`ThreadPool.run: ${count} tasks, at most ${MAX_TASKS}`)
    tasks.forEach((t, i) => {
      const fn = this.names.indexOf(t.fn)
      if (fn < 0 || t.args.length > MAX_ARGS) throw new Error(`ThreadPool.run: unknown export '${t.fn}' or too many args (${t.args.length})`)
      const at = this.table + i * TASK
      this.ctrl[at] = fn
      this.ctrl[at + 1] = t.args.length
      this.ctrl.set(t.args, at + 2)
    })
    Atomics.store(this.ctrl, FINISHED, 0)
    Atomics.store(this.ctrl, NEXT, count << INDEX_BITS) // publishes the table
    Atomics.add(this.ctrl, SEQ, 1)
    Atomics.notify(this.ctrl, SEQ)
    let localError: unknown = null
    try {
      meanwhile?.()
    } catch (e) {
      localError = e
    }
    for (;;) {
      const claim = Atomics.add(this.ctrl, NEXT, 1)
      const i = claim & ((1 << INDEX_BITS) - 1)
      if (i >= count) break
      try {
        if (localError === null) local(0, tasks[i]!)
      } catch (e) {
        localError = e
      }
      Atomics.add(this.ctrl, FINISHED, 1)
    }
    this.waitFinished(count)
    if (localError) throw localError
    for (let slot = 0; slot < this.workers.length; slot++) {
      const base = HEADER + slot * SLOT
      if (Atomics.load(this.ctrl, base + ERR) !== 0) {
        Atomics.store(this.ctrl, base + ERR, 0)
        const bytes = new Uint8Array(this.ctrl.buffer, (base + MSG) * 4, MSG_WORDS * 4)
        const msg = new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0)))
        throw new Error(`ThreadPool.run: worker ${slot} failed running '${tasks.map((t) => t.fn).join(', ')}': ${msg}`)
      }
    }
  }

  private waitFinished(count: number): void {
    // NOTE: spin briefly first: a worker's last task usually ends within microseconds of ours,
    // and a futex sleep/wake costs tens of microseconds.
    for (let spin = 0; spin < 4000; spin++) if (Atomics.load(this.ctrl, FINISHED) === count) return
    for (;;) {
      const done = Atomics.load(this.ctrl, FINISHED)
      if (done === count) return
      Atomics.wait(this.ctrl, FINISHED, done, 1000)
    }
  }

  /** Stop and terminate every worker. */
  dispose(): void {
    Atomics.store(this.ctrl, QUIT, 1)
    Atomics.add(this.ctrl, SEQ, 1)
    Atomics.notify(this.ctrl, SEQ)
    for (const w of this.workers) void w.terminate()
    this.workers.length = 0
  }
}
