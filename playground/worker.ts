// The playground's training worker (a dedicated module worker). All of priorgrad runs here, none
// of it on the page's thread: a GPU.js kernel or a wasm step blocks the thread it runs on, and the
// page must keep drawing and answer the Stop button meanwhile.
//
// Why chunks: a worker handles messages only between tasks, so a loop of 1,000 steps would not
// see "stop" until the end. Training runs in chunks of about CHUNK_MS, and each chunk ends with
// setTimeout(0), which lets queued messages (stop, graph) run before the next chunk. Stopping
// therefore takes at most one chunk plus one step. (Browsers clamp a nested setTimeout(0) to
// ~4 ms: about 4% of a 100 ms chunk.)
import { ImageDataset, browserThreading, listBackends, registerWasmBackend, setBackend } from '../src/browser.js'
import type { WorkerScope } from './dom.js'
import { decodeMnistAsset } from './mnist-asset.js'
import { graphDot } from './graph-build.js'
import type { EnvReport, FromWorker, TestResult, ToWorker } from './protocol.js'
import { backendName, backendReport, EVAL_IMAGES, TrainingRun, validateConfig, type PlaygroundData } from './run.js'

const scope = globalThis as unknown as WorkerScope
const CHUNK_MS = 100
/** Evaluate (accuracy, counts, histogram) every this many steps, and at the end. */
const EVAL_EVERY = 10

// The wasm backend's helper threads are Web Workers running wasm-thread.js (written by the build
// from wasmThreadScript()); the backend uses them only where the page is cross-origin isolated,
// and says otherwise why it runs one thread (getBackendInfo()).
registerWasmBackend({ threading: browserThreading(new URL('wasm-thread.js', scope.location.href)) })

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  scope.postMessage(message, transfer)
}

scope.addEventListener('securitypolicyviolation', (e) => post({ type: 'violation', text: `worker: ${e.violatedDirective}: ${e.blockedURI}` }))

/** Whether GPU.js can have WebGL2 here: in a worker it draws on an OffscreenCanvas. */
function probeWebgl2(): Pick<EnvReport, 'webgl2' | 'webgl2Reason' | 'renderer'> {
  if (scope.OffscreenCanvas === undefined) return { webgl2: false, webgl2Reason: 'this browser has no OffscreenCanvas in workers', renderer: null }
  const gl = new scope.OffscreenCanvas(1, 1).getContext('webgl2')
  if (gl === null) return { webgl2: false, webgl2Reason: 'getContext("webgl2") returned null (WebGL2 is off or unsupported)', renderer: null }
  const dbg = gl.getExtension('WEBGL_debug_renderer_info') as { UNMASKED_RENDERER_WEBGL: number } | null
  const renderer = String(gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '')
  return { webgl2: true, webgl2Reason: 'a WebGL2 context was made on an OffscreenCanvas', renderer }
}

async function loadData(): Promise<PlaygroundData> {
  const res = await fetch('mnist-subset.bin')
  if (!res.ok) throw new Error(`fetch mnist-subset.bin: HTTP ${res.status}`)
  const { train, test } = decodeMnistAsset(new Uint8Array(await res.arrayBuffer()))
  const shape = [1, 28, 28]
  const rawTrain = new ImageDataset({ ...train, shape, numClasses: 10, name: 'mnist/train[10000]' })
  // As the experiments do: standardise both splits with the training images' statistics.
  const stats = rawTrain.channelStats()
  return {
    train: rawTrain.normalized(stats),
    test: new ImageDataset({ ...test, shape, numClasses: 10, name: 'mnist/test[2000]' }).normalized(stats),
  }
}

interface Active {
  id: number
  run: TrainingRun
  stop: boolean
  started: number
  firstStepMs: number | null
  /** Milliseconds spent in steps 2, 3, ... (step 1 compiles the kernels): steps/s counts training only, not evaluations. */
  trainMs: number
}

let data: PlaygroundData | null = null
let active: Active | null = null

function evaluateAndPost(a: Active): void {
  const r = a.run
  const ev = r.evaluate(EVAL_IMAGES)
  const histogram = r.histogram()
  const counts = r.counts()
  post({ type: 'eval', id: a.id, step: r.step, ...ev, histogram, counts }, [histogram.fractions.buffer as ArrayBuffer, ...counts.map((c) => c.values.buffer as ArrayBuffer)])
}

function finish(a: Active, reason: 'done' | 'stopped' | 'error', message: string | null, test: TestResult | null = null): void {
  active = null
  const stepsPerSec = a.run.step > 1 ? (a.run.step - 1) / (a.trainMs / 1000) : null
  post({ type: 'finished', id: a.id, reason, message, steps: a.run.step, firstStepMs: a.firstStepMs, stepsPerSec, test })
}

/** One chunk of steps; schedules the next unless the run is over. */
function pump(): void {
  const a = active
  if (!a) return
  const r = a.run
  const t0 = performance.now()
  try {
    while (!a.stop && r.step < r.steps && performance.now() - t0 < CHUNK_MS) {
      const s0 = performance.now()
      const { loss, penalty } = r.trainStep()
      const now = performance.now()
      if (a.firstStepMs === null) a.firstStepMs = now - a.started
      else a.trainMs += now - s0
      const imagesPerSec = r.step > 1 ? ((r.step - 1) * r.config.batchSize) / (a.trainMs / 1000) : r.config.batchSize / ((now - s0) / 1000)
      post({ type: 'step', id: a.id, step: r.step, loss, penalty, imagesPerSec })
      if (r.step % EVAL_EVERY === 0 || r.step === r.steps) evaluateAndPost(a)
    }
    if (a.stop || r.step >= r.steps) {
      // The views show the last step's state; a run that ended (not one stopped: stopping is
      // prompt) is also tested on every test image the page has.
      if (a.stop && r.step > 0 && r.step % EVAL_EVERY !== 0) evaluateAndPost(a)
      finish(a, a.stop ? 'stopped' : 'done', null, a.stop ? null : r.evaluate(Number.POSITIVE_INFINITY))
      return
    }
  } catch (e) {
    finish(a, 'error', (e as Error).message)
    return
  }
  setTimeout(pump, 0)
}

/** A run that could not start: it ends at once with the reason. */
function refuse(id: number, message: string): void {
  post({ type: 'finished', id, reason: 'error', message, steps: 0, firstStepMs: null, stepsPerSec: null, test: null })
}

function start(id: number, msg: Extract<ToWorker, { type: 'start' }>): void {
  if (active) return refuse(id, 'a run is in progress: stop it first')
  if (!data) return refuse(id, 'the data is not loaded yet')
  const errors = validateConfig(msg.config, data)
  if (errors.length > 0) return post({ type: 'invalid', id, errors })
  const started = performance.now()
  let run: TrainingRun
  try {
    run = new TrainingRun(msg.config, data)
  } catch (e) {
    return refuse(id, (e as Error).message)
  }
  active = { id, run, stop: false, started, firstStepMs: null, trainMs: 0 }
  post({ type: 'started', id, backend: backendReport(), setupMs: performance.now() - started })
  setTimeout(pump, 0)
}

scope.addEventListener('message', (e) => {
  const msg = e.data as ToWorker
  if (msg.type === 'start') start(msg.id, msg)
  else if (msg.type === 'stop') {
    if (active) active.stop = true
  } else if (msg.type === 'graph') {
    try {
      post({ type: 'graph', id: msg.id, expression: msg.expression, dot: graphDot(msg.expression) })
    } catch (err) {
      post({ type: 'graph-error', id: msg.id, message: (err as Error).message })
    }
  }
})

async function init(): Promise<void> {
  const t0 = performance.now()
  try {
    const env0 = probeWebgl2()
    const loading = loadData()
    // While the data downloads, make the GPU.js backend (its GL context and a probe kernel, ~0.2 s
    // under SwiftShader), so the first step of the default run does not wait for it.
    if (env0.webgl2) {
      try {
        setBackend(backendName('gpujs'))
      } catch {
        // the run itself will report why, if the reader picks gpujs
      } finally {
        setBackend('reference')
      }
    }
    data = await loading
    const env: EnvReport = {
      ...env0,
      crossOriginIsolated: scope.crossOriginIsolated === true,
      sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
      hardwareConcurrency: scope.navigator.hardwareConcurrency,
      backends: listBackends(),
      trainImages: data.train.length,
      testImages: data.test.length,
    }
    post({ type: 'ready', env, loadMs: performance.now() - t0 })
  } catch (e) {
    post({ type: 'fatal', message: `the worker could not start: ${(e as Error).message}` })
  }
}
void init()
