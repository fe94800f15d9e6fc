// The playground page (UI thread): reads the form, hands runs to the training worker, and draws
// what the worker reports. It imports no tensor code: priorgrad lives in worker.ts, and this file
// only turns messages (protocol.ts) into charts, heatmaps and text.
// window.__playground (hook.ts) holds the page's state and every run's numbers.
import type { Canvas, Ev, Field, PageWindow } from './dom.js'
import { graphSvg } from './graph-view.js'
import { createHook, type RunRecord } from './hook.js'
import { GRAPH_EXPRESSIONS, type BackendReport, type EnvReport, type FieldError, type FieldName, type FromWorker, type Histogram, type ModelName, type RunConfig, type ToWorker } from './protocol.js'
import { accuracySvg, drawCounts, histogramSvg, lossSvg } from './views.js'

const win = globalThis as unknown as PageWindow
const doc = win.document
const $ = <T extends Field | Canvas = Field>(id: string): T => {
  const el = doc.getElementById<T>(id)
  if (!el) throw new Error(`playground: the page has no element #${id}`)
  return el
}

const hook = createHook()
win.__playground = hook
doc.addEventListener('securitypolicyviolation', (e) => hook.violations.push(`page: ${e.violatedDirective}: ${e.blockedURI}`))

const NUMBERS = ['lambda', 'sp', 'S', 'alpha', 'seed', 'batchSize', 'lr', 'steps'] as const
const DEFAULT_LAMBDA: Record<string, string> = { l1: '1e-5', l2: '5e-4', 'dynamic-prior': '5e-4', none: '5e-4' }
// the last finished L2 run per model: the honest reference for the histogram (a real run of this page)
const l2Reference = new Map<ModelName, { histogram: Histogram; label: string }>()
let current: RunRecord | null = null
let lastHistogram: Histogram | null = null
let nextId = 1
// set in main(), once the worker exists
let send: (m: ToWorker) => void = () => {}
const COUNTS_NOTE = 'Train with the dynamic prior to see how often each weight was kept (c_j, of S experiments) at its last evaluation.'

function readConfig(): RunConfig {
  const num = (id: string): number => {
    const text = $(id).value.trim()
    return text === '' ? Number.NaN : Number(text)
  }
  const values = Object.fromEntries(NUMBERS.map((k) => [k, num(k)])) as Record<(typeof NUMBERS)[number], number>
  return { ...values, model: $('model').value as ModelName, reg: $('reg').value as RunConfig['reg'], backend: $('backend').value as RunConfig['backend'] }
}

function showErrors(errors: FieldError[]): void {
  for (const k of [...NUMBERS, 'model', 'reg', 'backend'] as FieldName[]) {
    $(`error-${k}`).textContent = ''
    $(k).parentElement?.classList.remove('invalid')
  }
  const general: string[] = []
  for (const e of errors) {
    if (e.field === null) {
      general.push(e.message)
      continue
    }
    const slot = $(`error-${e.field}`)
    slot.textContent = slot.textContent ? `${slot.textContent} ${e.message}` : e.message
    $(e.field).parentElement?.classList.add('invalid')
  }
  $('form-error').textContent = general.join(' ')
}

function setRunning(running: boolean): void {
  for (const el of [...NUMBERS, 'model', 'reg', 'backend', 'train']) $(el).disabled = running
  $('stop').disabled = !running
}

function setState(text: string, state: string): void {
  hook.state = state
  const el = $('state')
  el.textContent = text
  el.className = state === 'running' ? 'state-running' : state === 'error' ? 'bad' : ''
}

function describeBackend(b: BackendReport): string {
  const parts = [`${b.name}: ${b.description}.`]
  if (b.gpujsMode !== null) parts.push(b.hardwareGpu ? 'Hardware GPU.' : `Software rendering, not a hardware GPU${b.renderer ? '' : ' (no renderer string)'}.`)
  if (b.threads !== null && !/thread/.test(b.description)) parts.push(`${b.threads} thread${b.threads === 1 ? '' : 's'}.`)
  return parts.join(' ')
}

function drawLoss(): void {
  if (current) $('chart-loss').innerHTML = lossSvg(current.steps, current.losses)
}
let lossPending = false
function scheduleLoss(): void {
  if (lossPending) return
  lossPending = true
  win.requestAnimationFrame(() => {
    lossPending = false
    drawLoss()
  })
}

function drawHistogram(model: ModelName): void {
  const ref = l2Reference.get(model) ?? null
  $('chart-hist').innerHTML = histogramSvg(lastHistogram, ref)
  $('hist-caption').textContent =
    'Histogram of |w| over the weights of every Linear and Conv2d layer (bins of 0.1 in log10|w|; |w| >= 1 in the last bin). ' +
    (ref ? `Dashed: ${ref.label}, the last L2 run of ${model} on this page, for comparison.` : `No L2 run of ${model} on this page yet: train one with regularizer L2 to get a reference curve.`) +
    (lastHistogram ? ` This run: ${(100 * lastHistogram.below).toFixed(1)}% of weights below 1e-5.` : '')
}

function onEval(m: Extract<FromWorker, { type: 'eval' }>): void {
  if (!current || m.id !== current.id) return
  current.evals.push({ step: m.step, accuracy: m.accuracy, images: m.images })
  $('chart-accuracy').innerHTML = accuracySvg(current.evals.map((e) => e.step), current.evals.map((e) => e.accuracy))
  lastHistogram = m.histogram
  drawHistogram(current.config.model)
  const maps = $('count-maps')
  if (m.counts.length === 0) return
  $('counts-note').textContent = `c_j of the last evaluation at step ${m.step} (how many of the S = ${m.counts[0]!.S} experiments kept each weight).`
  $('legend-max').textContent = `S = ${m.counts[0]!.S}`
  for (const c of m.counts) {
    const id = `counts-${c.param.replace('.', '-')}`
    let canvas = doc.getElementById<Canvas>(id)
    if (!canvas) {
      const box = maps.appendChild(doc.createElement('div'))
      box.className = 'count-map'
      box.appendChild(doc.createElement('p')).textContent = c.param.startsWith('conv')
        ? `${c.param}: ${c.shape[0]} filters of ${c.tile[1]}x${c.tile[2]}`
        : `${c.param}: ${c.shape[0]} units, each its ${c.shape[1]} input weights as ${c.tile[0] === 1 ? `a ${c.tile[1]}x${c.tile[2]} image` : `${c.tile[0]} maps of ${c.tile[1]}x${c.tile[2]}`}`
      canvas = box.appendChild(doc.createElement<Canvas>('canvas'))
      canvas.id = id
      canvas.className = c.param.startsWith('conv') ? 'heatmap small' : 'heatmap large'
    }
    drawCounts(canvas, c)
    const n = Number(canvas.dataset['updates'] ?? '0') + 1
    canvas.dataset['updates'] = String(n)
  }
  hook.heatmapUpdates++
}

function onFinished(m: Extract<FromWorker, { type: 'finished' }>): void {
  const r = hook.runs.find((x) => x.id === m.id)
  if (!r) return
  r.state = m.reason
  r.message = m.message
  r.workerFirstStepMs = m.firstStepMs
  r.stepsPerSec = m.stepsPerSec
  r.test = m.test
  setRunning(false)
  const speed = m.stepsPerSec === null ? '' : `, ${m.stepsPerSec.toFixed(2)} steps/s after the first step`
  const test = m.test ? ` Test accuracy on all ${m.test.images} test images: ${(100 * m.test.accuracy).toFixed(1)}%.` : ''
  if (m.reason === 'error') setState(`The run stopped with an error: ${m.message}`, 'error')
  else setState(`${m.reason === 'done' ? 'Finished' : 'Stopped'} after ${m.steps} steps${speed}.${test}`, m.reason)
  if (r.config.reg === 'l2' && lastHistogram && m.steps > 0) {
    const c = r.config
    l2Reference.set(c.model, { histogram: lastHistogram, label: `L2 (lambda ${c.lambda}, seed ${c.seed}, ${m.steps} steps, ${r.backend?.name ?? c.backend})` })
  }
}

function onMessage(e: Ev): void {
  const m = e.data as FromWorker
  switch (m.type) {
    case 'ready': return onReady(m.env, m.loadMs)
    case 'fatal':
      hook.errors.push(m.message)
      return setState(m.message, 'error')
    case 'violation':
      hook.violations.push(m.text)
      return
    case 'invalid': {
      const r = hook.runs.find((x) => x.id === m.id)
      if (r) Object.assign(r, { state: 'invalid', errors: m.errors })
      showErrors(m.errors)
      setRunning(false)
      return setState('Not started: some options are out of range (see the messages next to them).', 'invalid')
    }
    case 'started':
      if (current && current.id === m.id) {
        current.state = 'running'
        current.backend = m.backend
        current.setupMs = m.setupMs
        $('backend-info').textContent = describeBackend(m.backend)
        setState(`Training ${current.config.model} on ${m.backend.name}...`, 'running')
      }
      return
    case 'step':
      if (!current || m.id !== current.id) return
      if (current.firstStepAt === null) current.firstStepAt = performance.now()
      current.steps.push(m.step)
      current.losses.push(m.loss)
      current.imagesPerSec = m.imagesPerSec
      $('speed').textContent = `step ${m.step} / ${current.config.steps}: loss ${m.loss.toFixed(4)}` +
        (current.config.reg === 'none' ? '' : `, penalty ${m.penalty.toPrecision(3)}`) + `, ${Math.round(m.imagesPerSec)} images/s`
      return scheduleLoss()
    case 'eval': return onEval(m)
    case 'finished': return onFinished(m)
    case 'graph':
      $('graph-svg').innerHTML = graphSvg(m.dot)
      $('graph-dot').textContent = m.dot
      hook.graphs++
      return
    case 'graph-error':
      $('graph-dot').textContent = m.message
      return
  }
}

function onReady(env: EnvReport, loadMs: number): void {
  Object.assign(hook, { env, loadMs, readyAt: performance.now(), ready: true })
  const gl = $('env-webgl2')
  if (env.webgl2) gl.textContent = `WebGL2 in the worker: yes (renderer: ${env.renderer || 'not reported'}).`
  else {
    gl.textContent = `No WebGL2 in a Web Worker here (${env.webgl2Reason}), so the gpujs backend is off; wasm trains on the CPU instead.`
    gl.className = 'warn'
    const gpujs = $('backend').options?.[0]
    if (gpujs) gpujs.disabled = true
    $('backend').value = 'wasm'
  }
  const threads = $('env-threads')
  threads.textContent = env.crossOriginIsolated && env.sharedArrayBuffer
    ? `Cross-origin isolated: SharedArrayBuffer is available, so wasm can share its memory with helper threads (${env.hardwareConcurrency} cores here); a wasm run says how many it uses.`
    : 'Not cross-origin isolated (no SharedArrayBuffer): wasm runs in one thread (still SIMD).'
  if (!env.backends.includes('wasm')) threads.textContent += ` This build of priorgrad registers no 'wasm' backend for pages (it has ${env.backends.join(', ')}), so a wasm run will fail.`
  $('train').disabled = false
  setState(`Ready: ${env.trainImages} training and ${env.testImages} test images loaded in ${Math.round(loadMs)} ms.`, 'idle')
}

function start(): void {
  const config = readConfig()
  showErrors([])
  const r: RunRecord = {
    id: nextId++, config, state: 'starting', backend: null, steps: [], losses: [], evals: [], message: null, errors: [],
    clickedAt: performance.now(), firstStepAt: null, setupMs: null, workerFirstStepMs: null, stepsPerSec: null, imagesPerSec: null, stopAtStep: null, test: null,
  }
  hook.runs.push(r)
  current = r
  lastHistogram = null
  $('count-maps').replaceChildren()
  $('counts-note').textContent = COUNTS_NOTE
  $('chart-accuracy').innerHTML = accuracySvg([], [])
  drawLoss()
  drawHistogram(config.model)
  setRunning(true)
  setState('Starting...', 'starting')
  send({ type: 'start', id: r.id, config })
}

function showRegFields(): void {
  const reg = $('reg').value
  $('row-lambda').hidden = reg === 'none'
  for (const k of ['sp', 'S', 'alpha']) $(`row-${k}`).hidden = reg !== 'dynamic-prior'
  $('lambda').value = DEFAULT_LAMBDA[reg] ?? '5e-4'
}

function selectTab(name: 'training' | 'graph'): void {
  for (const t of ['training', 'graph'] as const) {
    $(`tab-${t}`).setAttribute('aria-selected', String(t === name))
    $(`panel-${t}`).hidden = t !== name
  }
  if (name === 'graph' && hook.graphs === 0) send({ type: 'graph', id: nextId++, expression: $('expression').value })
}

function main(): void {
  const worker = new win.Worker('worker.js', { type: 'module', name: 'priorgrad-training' })
  worker.addEventListener('message', onMessage)
  worker.addEventListener('error', (e) => {
    const text = `the training worker failed: ${e.message ?? 'its script did not load'}`
    hook.errors.push(text)
    setState(text, 'error')
  })
  send = (m) => worker.postMessage(m)
  $('form').addEventListener('submit', (e) => {
    e.preventDefault()
    if (hook.state !== 'running' && hook.state !== 'starting') start()
  })
  $('stop').addEventListener('click', () => {
    if (current) current.stopAtStep = current.steps.length
    send({ type: 'stop' })
    $('stop').disabled = true
    setState('Stopping after the current step...', 'stopping')
  })
  $('reg').addEventListener('change', showRegFields)
  for (const k of NUMBERS) {
    $(k).addEventListener('input', () => {
      $(`error-${k}`).textContent = ''
      $(k).parentElement?.classList.remove('invalid')
    })
  }
  const select = $('expression')
  for (const x of GRAPH_EXPRESSIONS) {
    const o = select.appendChild(doc.createElement<Field>('option'))
    o.value = x
    o.textContent = x
  }
  select.addEventListener('change', () => send({ type: 'graph', id: nextId++, expression: select.value }))
  $('tab-training').addEventListener('click', () => selectTab('training'))
  $('tab-graph').addEventListener('click', () => selectTab('graph'))
  $('counts-note').textContent = COUNTS_NOTE
  $('chart-loss').innerHTML = lossSvg([], [])
  $('chart-accuracy').innerHTML = accuracySvg([], [])
  drawHistogram('mlp')
}
main()
