// The fuzz harness: runs the cases of every target in fuzz/targets/ (see fuzz/target.ts) in worker
// threads under a time and a memory watchdog, and counts how each case ended.
// - Case i of target T under seed S draws only from `new Generator(`${S}:${T}:${i}`)`, so it
//   reproduces alone: `npm run fuzz -- --target T --seed S --from i --cases 1`.
// - A worker runs a batch of cases one after the other (starting a worker costs ~0.2 s of module
//   loading); it writes the case it is in and its memory at the case's start into shared memory.
//   The main thread samples the process's resident memory every few ms, and the worker measures
//   it again at each case's end: a case over its limit (4x its input plus a fixed base) or over its
//   time is ended by terminating the worker, and a fresh worker goes on with the next case.
// - This file is also the worker's entry: a worker imports it with tsx registered, so targets
//   written in TypeScript load as they do under `tsx fuzz/run.ts` and under vitest.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { Generator } from '../src/tensor/generator.js'
import type { FuzzTarget, Outcome } from './target.js'

/** Every outcome, in the order reports list them. */
export const OUTCOMES: readonly Outcome[] = ['named-error', 'valid', 'silent-acceptance', 'other-exception', 'hang', 'memory']
/** The outcomes that fail a run. */
export const FAILURES: readonly Outcome[] = ['silent-acceptance', 'other-exception', 'hang', 'memory']

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Cases per target (default 10,000). */
  cases?: number
  /** First case index (default 0): with `cases: 1`, reruns one case. */
  from?: number
  seed?: number | string
  /** Only these targets (file names in fuzz/targets without .ts); default all. */
  targets?: string[]
  /** Where the target files are (default fuzz/targets; the harness's own test uses another). */
  targetsDir?: string
  /** Time limit per case in ms (default 5,000). */
  timeoutMs?: number
  /** Fixed part of the memory limit in bytes, added to 4x the case's input (default 64 MB). */
  memoryBaseBytes?: number
  /** Cases per worker before a fresh one starts (default 2,000). */
  batch?: number
  /** Called with progress lines (default: none). */
  log?: (line: string) => void
}

/** One case that failed, with what a reader needs to rerun it. */
export interface FuzzFailure {
  target: string
  index: number
  outcome: Outcome
  what: string
  detail: string
}

/** Counts per target and outcome, the failures, and timings. */
export interface FuzzReport {
  seed: number | string
  counts: Record<string, Record<Outcome, number>>
  /** The longest named-error message per target, in characters (a bound on what a file can make us print). */
  longestMessage: Record<string, number>
  seconds: Record<string, number>
  failures: FuzzFailure[]
}

let abandoned = 0
/** How many workers were left blocked in a system call (see runFuzz); the process must then be killed to end. */
export function abandonedWorkers(): number {
  return abandoned
}

const TARGETS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'targets')
const MB = 1024 * 1024

/**
 * The targets in fuzz/targets/, by file name (a target's `name` should equal its file name).
 * @example listTargets() // ['cifar', 'idx', 'safetensors', ...]
 */
export function listTargets(dir = TARGETS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort()
}

/** The seeded generator of one case: a pure function of (seed, target, index). */
export function caseGenerator(seed: number | string, target: string, index: number): Generator {
  return new Generator(`${seed}:${target}:${index}`)
}

// ---- worker side ---------------------------------------------------------------------------

interface WorkerInput {
  kind: 'priorgrad-fuzz'
  file: string
  target: string
  seed: number | string
  start: number
  end: number
  dir: string
  shared: SharedArrayBuffer
  memoryBaseBytes: number
}

type WorkerMessage =
  | { type: 'ready'; name: string }
  | { type: 'start'; index: number; what: string }
  | { type: 'result'; index: number; outcome: Outcome; what: string; detail: string; messageLength: number }
  | { type: 'done' }
  | { type: 'fatal'; detail: string }

// Shared slots: [0] the case running (-1 between cases), [1] process RSS at its start, [2] its input bytes.
const SLOT_CASE = 0
const SLOT_RSS = 1
const SLOT_BYTES = 2

const memoryDetail = (grown: number, limit: number): string =>
  `resident memory grew by ${Math.round(grown / MB)} MB, limit ${Math.round(limit / MB)} MB (4x the input + base)`
const short = (s: string, n = 300): string => (s.length <= n ? s : `${s.slice(0, n)}… (${s.length} characters)`)
function describeError(err: unknown): string {
  if (err instanceof Error) return short(`${err.name}: ${err.message}`)
  return `a thrown ${typeof err}`
}

async function workerMain(input: WorkerInput): Promise<void> {
  const slots = new Float64Array(input.shared)
  // An error escaping a case later (a promise it left rejected, a timer it left throwing) is
  // caught here and charged to the case it came from, instead of ending the worker.
  let late: unknown = undefined
  process.on('unhandledRejection', (err) => (late ??= err))
  process.on('uncaughtException', (err) => (late ??= err))
  const target = (await import(pathToFileURL(input.file).href)).default as FuzzTarget
  await target.setup(input.dir)
  const post = (m: WorkerMessage): void => parentPort!.postMessage(m)
  post({ type: 'ready', name: target.name })
  for (let index = input.start; index < input.end; index++) {
    slots[SLOT_BYTES] = 0
    slots[SLOT_RSS] = process.memoryUsage.rss()
    slots[SLOT_CASE] = index
    let what = '(makeCase threw)'
    let result: Omit<Extract<WorkerMessage, { type: 'result' }>, 'type' | 'index' | 'what'>
    try {
      const c = await target.makeCase(caseGenerator(input.seed, input.target, index), input.dir, index)
      what = c.what
      slots[SLOT_BYTES] = c.bytes
      // Delivered even if the case then blocks this thread: the main thread can name a hang.
      post({ type: 'start', index, what: short(what) })
      try {
        await c.run()
        result = { outcome: c.malformed ? 'silent-acceptance' : 'valid', detail: '', messageLength: 0 }
      } catch (err) {
        const named = target.isNamedError(err)
        const messageLength = err instanceof Error ? err.message.length : 0
        result = { outcome: named ? 'named-error' : 'other-exception', detail: named ? '' : describeError(err), messageLength }
      }
    } catch (err) {
      result = { outcome: 'other-exception', detail: `makeCase: ${describeError(err)}`, messageLength: 0 }
    }
    // One turn of the event loop lets Node report a rejection the case left unhandled.
    await new Promise((r) => setImmediate(r))
    // The watchdog samples every few ms; a case faster than that is measured here, at its end
    // (what it allocated is still resident: nothing has collected it yet).
    const grown = process.memoryUsage.rss() - slots[SLOT_RSS]!
    const limit = 4 * slots[SLOT_BYTES]! + input.memoryBaseBytes
    if (grown > limit) result = { outcome: 'memory', detail: memoryDetail(grown, limit), messageLength: 0 }
    if (late !== undefined) {
      result = { outcome: 'other-exception', detail: `after the case: ${describeError(late)}`, messageLength: 0 }
      late = undefined
    }
    slots[SLOT_CASE] = -1
    post({ type: 'result', index, what: short(what), ...result })
  }
  // The main thread ends this worker on 'done', even if a target left a timer or a handle open.
  post({ type: 'done' })
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.kind === 'priorgrad-fuzz') {
  // Loading the target or its setup failed: say so, since the worker's own handlers keep it alive.
  await workerMain(workerData as WorkerInput).catch((err: unknown) => parentPort!.postMessage({ type: 'fatal', detail: describeError(err) } satisfies WorkerMessage))
}

// ---- main side -----------------------------------------------------------------------------

/** The code a worker evaluates: register tsx (TypeScript), then import this file. */
function workerSource(): string {
  const api = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')
  if (!existsSync(api)) throw new Error(`fuzz harness: cannot find tsx's ESM API at ${api} (is tsx installed?)`)
  const self = import.meta.url
  return `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(self)}) })`
}

type Result = Extract<WorkerMessage, { type: 'result' }>
/** A case the main thread ended (hang, memory) or that took its worker down. */
interface Ended {
  index: number
  outcome: Outcome
  detail: string
  what: string
}

/**
 * Run one worker over `input`'s cases, passing each finished case to `onResult`. Resolves with the
 * case it had to be ended in (then the caller starts a fresh worker after it), or null.
 */
function runWorker(source: string, input: WorkerInput, timeoutMs: number, onReady: (name: string) => void, onResult: (r: Result) => void): Promise<Ended | null> {
  const slots = new Float64Array(input.shared)
  slots[SLOT_CASE] = -1
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: input, resourceLimits: { maxOldGenerationSizeMb: 1024 } })
    let ready = false
    let current = -1
    let since = 0
    let verdict: Omit<Ended, 'what'> | null = null
    let started = { index: -1, what: '' }
    const finish = (): void => {
      clearInterval(timer)
      resolve(verdict === null ? null : { ...verdict, what: started.index === verdict.index ? started.what : '(in makeCase)' })
    }
    const kill = (outcome: Outcome, detail: string): void => {
      if (verdict !== null) return
      verdict = { index: current, outcome, detail }
      void worker.terminate()
      // NOTE: terminate() stops JavaScript, not a thread blocked in a system call (a read from a
      // FIFO): after 2 s that worker is left behind (unref'd) and the run goes on.
      setTimeout(() => {
        if (verdict === null) return
        verdict.detail += '; the worker did not stop (blocked in a system call?) and was abandoned'
        abandoned++
        worker.unref()
        finish()
      }, 2000).unref()
    }
    // The watchdog: the case in progress, from shared memory (a message would wait for the
    // worker's event loop, which a hanging case never gives back).
    const timer = setInterval(() => {
      if (!ready) return
      const c = slots[SLOT_CASE]!
      if (c !== current) {
        current = c
        since = performance.now()
      }
      if (c < 0) return
      const limit = 4 * slots[SLOT_BYTES]! + input.memoryBaseBytes
      const grown = process.memoryUsage.rss() - slots[SLOT_RSS]!
      if (grown > limit) kill('memory', memoryDetail(grown, limit))
      else if (performance.now() - since > timeoutMs) kill('hang', `still running after ${timeoutMs} ms`)
    }, 5)
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        ready = true
        onReady(m.name)
      } else if (m.type === 'start') started = m
      else if (m.type === 'result') onResult(m)
      else if (m.type === 'done') void worker.terminate()
      else {
        void worker.terminate()
        reject(new Error(`fuzz target ${input.target}: the worker failed: ${m.detail}`))
      }
    })
    worker.on('error', (err) => {
      // The heap limit (other errors a case leaves behind are caught in the worker): the case's fault.
      const c = slots[SLOT_CASE]!
      current = c
      const heap = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
      if (verdict === null) verdict = { index: c, outcome: heap ? 'memory' : 'other-exception', detail: `worker died: ${describeError(err)}` }
    })
    worker.on('exit', finish)
  })
}

const emptyCounts = (): Record<Outcome, number> => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>

/**
 * Run `cases` cases of each target and count the outcomes.
 * @example const report = await runFuzz({ cases: 1000, seed: 0 }); console.log(formatReport(report))
 */
export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzReport> {
  const cases = opts.cases ?? 10_000
  const from = opts.from ?? 0
  const seed = opts.seed ?? 0
  const timeoutMs = opts.timeoutMs ?? 5_000
  const base = opts.memoryBaseBytes ?? 64 * MB
  const batch = opts.batch ?? 2_000
  const log = opts.log ?? (() => {})
  const targetsDir = opts.targetsDir ?? TARGETS_DIR
  const all = listTargets(targetsDir)
  const names = opts.targets ?? all
  const unknown = names.filter((n) => !all.includes(n))
  if (unknown.length > 0) throw new Error(`runFuzz: unknown target(s) ${unknown.join(', ')}; ${targetsDir} has ${all.join(', ')}`)

  const report: FuzzReport = { seed, counts: {}, longestMessage: {}, seconds: {}, failures: [] }
  const source = workerSource()
  for (const file of names) {
    const t0 = performance.now()
    const counts = emptyCounts()
    let name = file
    let longest = 0
    const done = new Set<number>()
    const record = (index: number, outcome: Outcome, what: string, detail: string): void => {
      done.add(index)
      counts[outcome]++
      if (FAILURES.includes(outcome)) report.failures.push({ target: name, index, outcome, what, detail })
    }
    const end = from + cases
    for (let next = from; next < end; ) {
      const stop = Math.min(end, next + batch)
      const dir = mkdtempSync(join(tmpdir(), `priorgrad-fuzz-${file}-`))
      const input: WorkerInput = {
        kind: 'priorgrad-fuzz', file: join(targetsDir, `${file}.ts`), target: file, seed, start: next, end: stop, dir,
        shared: new SharedArrayBuffer(3 * 8), memoryBaseBytes: base,
      }
      const ended = await runWorker(source, input, timeoutMs, (n) => (name = n), (r) => {
        longest = Math.max(longest, r.messageLength)
        record(r.index, r.outcome, r.what, r.detail)
      }).finally(() => rmSync(dir, { recursive: true, force: true }))
      if (ended !== null && ended.index >= 0 && !done.has(ended.index)) record(ended.index, ended.outcome, ended.what, ended.detail)
      // Go on after the last case that finished or was ended, in a fresh worker.
      while (next < stop && done.has(next)) next++
      if (next < stop && ended === null) throw new Error(`fuzz target ${file}: the worker exited before case ${next}`)
      log(`${name}: ${next - from}/${cases}`)
    }
    report.counts[name] = counts
    report.longestMessage[name] = longest
    report.seconds[name] = (performance.now() - t0) / 1000
  }
  return report
}

/** Whether a report has any failing outcome. */
export function hasFailures(report: FuzzReport): boolean {
  return Object.values(report.counts).some((c) => FAILURES.some((o) => c[o] > 0))
}

/**
 * A table of counts per target and outcome, then the first failures.
 * @example console.log(formatReport(report, 5))
 */
export function formatReport(report: FuzzReport, maxFailures = 10): string {
  const head = ['target', ...OUTCOMES, 'longest msg', 'seconds']
  const rows = Object.entries(report.counts).map(([t, c]) => [
    t,
    ...OUTCOMES.map((o) => String(c[o])),
    String(report.longestMessage[t] ?? 0),
    (report.seconds[t] ?? 0).toFixed(1),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]): string => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ')
  const out = [`seed ${report.seed}`, line(head), ...rows.map(line)]
  const shown = report.failures.slice(0, maxFailures)
  if (shown.length > 0) out.push('', `first ${shown.length} of ${report.failures.length} failures:`)
  for (const f of shown) out.push(`  ${f.target} #${f.index} ${f.outcome}: ${f.what}${f.detail ? ` -> ${f.detail}` : ''}`)
  return out.join('\n')
}
