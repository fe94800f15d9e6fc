// The playground (playground/, issue #17) in headless Chromium: scripts/playground.ts builds it
// and serves it with the strict CSP and cross-origin isolation, and the test drives the form as a
// reader would: 50 mlp steps with the dynamic prior on GPU.js WebGL2 (SwiftShader here), the same
// run again (same seed: the same losses, bit for bit), out-of-range options (the regularizer's and
// the optimizer's own messages next to their fields, nothing starts), the Stop button, the graph
// tab, and 50 steps on wasm. It reads results from the page's test hook, window.__playground.
// Timings (time to first step, steps/s, bundle size) are printed, not asserted, except the stop.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH, browserSkipReason } from './browser/browser-parity.js'
import { buildPlayground, servePlayground, type PlaygroundBuild } from '../scripts/playground.js'

const skip = browserSkipReason()
if (skip) console.warn(`playground: SKIPPING the Chromium test: ${skip}`)

interface Run {
  id: number
  state: string
  config: Record<string, unknown>
  backend: { name: string; gpujsMode: string | null; threads: number | null; hardwareGpu: boolean; renderer: string | null; details?: Record<string, unknown> } | null
  losses: number[]
  evals: { step: number; accuracy: number; images: number }[]
  message: string | null
  errors: { field: string | null; message: string }[]
  clickedAt: number
  firstStepAt: number | null
  workerFirstStepMs: number | null
  stepsPerSec: number | null
  imagesPerSec: number | null
  stopAtStep: number | null
  test: { accuracy: number; images: number } | null
}
interface Hook {
  ready: boolean
  readyAt: number
  state: string
  env: { webgl2: boolean; crossOriginIsolated: boolean; sharedArrayBuffer: boolean; backends: string[]; hardwareConcurrency: number }
  runs: Run[]
  heatmapUpdates: number
  graphs: number
  violations: string[]
  errors: string[]
}

const hook = (page: Page): Promise<Hook> => page.evaluate(() => (globalThis as unknown as { __playground: Hook }).__playground)
const numbers: Record<string, unknown> = {}

/** Fill the form (fields by id), press Train, wait until that run ends; returns its record. */
async function train(page: Page, fields: Record<string, string>, timeoutMs = 40_000): Promise<Run> {
  for (const [id, value] of Object.entries(fields)) {
    if (['model', 'reg', 'backend'].includes(id)) await page.selectOption(`#${id}`, value)
    else await page.fill(`#${id}`, value)
  }
  const before = (await hook(page)).runs.length
  await page.click('#train')
  await page.waitForFunction(
    (n) => {
      const h = (globalThis as unknown as { __playground: Hook }).__playground
      const r = h.runs[n]
      return r !== undefined && ['done', 'stopped', 'error', 'invalid'].includes(r.state)
    },
    before,
    { timeout: timeoutMs },
  )
  return (await hook(page)).runs[before]!
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

interface Opened {
  browser: Browser
  page: Page
  /** Console errors, CSP reports in the console and uncaught page errors. */
  consoleErrors: string[]
  close(): Promise<void>
}

/** Launch Chromium (extra `args`), serve the build, open the page and wait until its worker is ready. */
async function openPlayground(dir: string, options: { args?: string[]; crossOriginIsolated?: boolean } = {}): Promise<Opened> {
  const server = await servePlayground(dir, 0, { crossOriginIsolated: options.crossOriginIsolated ?? true })
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...(options.args ?? [])], timeout: 30_000 })
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  const consoleErrors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/.test(m.text())) consoleErrors.push(`${m.type()}: ${m.text()}`) })
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`))
  await page.goto(server.url)
  await page.waitForFunction(() => (globalThis as unknown as { __playground?: Hook }).__playground?.ready === true, null, { timeout: 20_000 })
  return { browser, page, consoleErrors, close: async () => { await browser.close(); await server.close() } }
}

describe.skipIf(skip !== null)(`the playground in Chromium${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let built: PlaygroundBuild

  beforeAll(async () => {
    built = await buildPlayground(fs.mkdtempSync(path.join(os.tmpdir(), 'priorgrad-playground-')))
    numbers['gzippedJsKiB'] = +(built.gzipTotal / 1024).toFixed(1)
  })

  afterAll(() => {
    console.log(`playground numbers (headless Chromium, SwiftShader): ${JSON.stringify(numbers)}`)
    if (built) fs.rmSync(built.outDir, { recursive: true, force: true })
  })

  describe('served as npm run playground serves it: strict CSP, cross-origin isolated; Chromium with WebGL2', () => {
    let opened: Opened
    let page: Page

    beforeAll(async () => {
      opened = await openPlayground(built.outDir)
      page = opened.page
    }, 60_000)

    afterAll(async () => {
      await opened?.close()
    })

    const expectClean = async (): Promise<void> => {
      const h = await hook(page)
      expect(opened.consoleErrors).toEqual([])
      expect(h.violations).toEqual([])
      expect(h.errors).toEqual([])
    }

    it('is served cross-origin isolated under the strict CSP, with WebGL2 in the worker', async () => {
      const h = await hook(page)
      expect(h.env.crossOriginIsolated).toBe(true)
      expect(h.env.sharedArrayBuffer).toBe(true)
      expect(h.env.webgl2).toBe(true)
      await expectClean()
    })

    it('gpujs: 50 mlp steps with the dynamic prior on WebGL2; the loss falls and the count heatmap updates', async () => {
      // the form's defaults but for the number of steps, as a reader who opens the page and presses Train
      const run = await train(page, { steps: '50' })
      expect(run.config).toEqual({ model: 'mlp', reg: 'dynamic-prior', lambda: 5e-4, sp: 0.01, S: 10, alpha: 0.9, seed: 0, batchSize: 64, lr: 1e-3, steps: 50, backend: 'gpujs' })
      expect(run.message, run.message ?? '').toBeNull()
      expect(run.state).toBe('done')
      expect(run.backend?.name).toBe('gpujs-webgl2')
      expect(run.backend?.gpujsMode).toBe('webgl2')
      expect(run.losses).toHaveLength(50)
      expect(mean(run.losses.slice(-10))).toBeLessThan(0.6 * mean(run.losses.slice(0, 10)))
      expect(run.evals.map((e) => [e.step, e.images])).toEqual([[10, 500], [20, 500], [30, 500], [40, 500], [50, 500]])
      expect(run.test?.images).toBe(2000)
      const h = await hook(page)
      expect(h.heatmapUpdates).toBe(5) // steps 10, 20, 30, 40 and the last evaluation
      expect(await page.getAttribute('#counts-fc1-weight', 'data-updates')).toBe('5')
      expect(await page.textContent('#backend-info')).toMatch(/gpujs-webgl2: GPU\.js webgl2 .*Software rendering/)
      Object.assign(numbers, {
        readyAtMs: Math.round((await hook(page)).readyAt),
        firstStepSinceOpenMs: Math.round(run.firstStepAt!),
        firstStepAfterClickMs: Math.round(run.firstStepAt! - run.clickedAt),
        gpujsMlpStepsPerSec: +run.stepsPerSec!.toFixed(2),
        gpujsMlpImagesPerSec: Math.round(run.imagesPerSec!),
        gpujsTestAccuracy: run.test!.accuracy,
        renderer: run.backend?.renderer,
      })
      await expectClean()
    })

    it('gpujs: the same seed gives the same losses, bit for bit', async () => {
      const [first] = (await hook(page)).runs
      const again = await train(page, {})
      expect(again.state).toBe('done')
      expect(again.losses).toEqual(first!.losses)
      numbers['gpujsMlpStepsPerSecWarm'] = +again.stepsPerSec!.toFixed(2)
      await expectClean()
    })

    it("options out of range: the regularizer's and the optimizer's messages next to their fields, and nothing starts", async () => {
      const run = await train(page, { sp: '2', lr: '-1' })
      expect(run.state).toBe('invalid')
      expect(run.backend).toBeNull()
      expect(run.losses).toEqual([])
      expect(await page.textContent('#error-sp')).toBe('DynamicPriorRegularizer: option sp must be in (0, 1], got 2')
      expect(await page.textContent('#error-lr')).toBe('Adam: lr must be a finite number >= 0, got -1')
      expect(await page.textContent('#error-S')).toBe('')
      await page.fill('#sp', '0.01')
      await page.fill('#lr', '1e-3')
      await expectClean()
    })

    it('the Stop button stops a long run after at most the step in flight', async () => {
      await page.fill('#steps', '100000')
      await page.click('#train')
      await page.waitForFunction(() => ((globalThis as unknown as { __playground: Hook }).__playground.runs.at(-1)?.losses.length ?? 0) >= 3, null, { timeout: 20_000 })
      const t = Date.now()
      await page.click('#stop')
      await page.waitForFunction(() => (globalThis as unknown as { __playground: Hook }).__playground.runs.at(-1)?.state === 'stopped', null, { timeout: 10_000 })
      numbers['stopMs'] = Date.now() - t
      const run = (await hook(page)).runs.at(-1)!
      // the worker sees "stop" between chunks: at most the step in flight (and one posted before the click landed) follows it
      expect(run.losses.length - run.stopAtStep!).toBeLessThanOrEqual(2)
      expect(numbers['stopMs']).toBeLessThan(2500)
      await page.fill('#steps', '50')
      await expectClean()
    })

    it('the graph tab draws the DAG of toDot and shows its DOT text', async () => {
      await page.click('#tab-graph')
      await page.waitForFunction(() => (globalThis as unknown as { __playground: Hook }).__playground.graphs >= 1, null, { timeout: 10_000 })
      expect(await page.textContent('#graph-dot')).toMatch(/^digraph priorgrad \{/)
      await page.selectOption('#expression', 'relu(x@W+b).mean()')
      await page.waitForFunction(() => (globalThis as unknown as { __playground: Hook }).__playground.graphs >= 2, null, { timeout: 10_000 })
      const labels = await page.$$eval('#graph-svg text', (ts) => ts.map((t) => t.textContent))
      expect(labels).toEqual(expect.arrayContaining(['matmul', 'relu', 'x [4,3] grad', 'W [3,2] grad']))
      expect(await page.$$eval('#graph-svg path[marker-end]', (ps) => ps.length)).toBeGreaterThan(4)
      await page.click('#tab-training')
      await expectClean()
    })

    it("wasm: 50 mlp steps with the dynamic prior", async () => {
      const before = (await hook(page)).heatmapUpdates
      const run = await train(page, { backend: 'wasm', steps: '50' })
      expect(run.message, run.message ?? '').toBeNull()
      expect(run.state).toBe('done')
      expect(run.backend?.name).toBe('wasm')
      // cross-origin isolated, in a worker, with the helper script served: as many threads as cores
      expect(run.backend?.threads).toBe((await hook(page)).env.hardwareConcurrency)
      expect(mean(run.losses.slice(-10))).toBeLessThan(0.6 * mean(run.losses.slice(0, 10)))
      expect((await hook(page)).heatmapUpdates).toBe(before + 5)
      Object.assign(numbers, {
        wasmThreads: run.backend?.threads, wasmMlpStepsPerSec: +run.stepsPerSec!.toFixed(2),
        wasmFirstStepAfterClickMs: Math.round(run.firstStepAt! - run.clickedAt), wasmTestAccuracy: run.test!.accuracy,
      })
      await expectClean()
    })

    it("wasm: cnn2 shows conv1's 32 filters and fc1 as count maps", async () => {
      const run = await train(page, { model: 'cnn2', steps: '20' })
      expect(run.state).toBe('done')
      expect(await page.getAttribute('#counts-conv1-weight', 'data-updates')).toBe('2')
      expect(await page.getAttribute('#counts-fc1-weight', 'data-updates')).toBe('2')
      // 32 filters of 3x3 in a 6x6 grid with 1-pixel gaps: 6 * 4 + 1 pixels a side
      expect(await page.$eval('#counts-conv1-weight', (c) => [(c as unknown as { width: number }).width, (c as unknown as { height: number }).height])).toEqual([25, 25])
      Object.assign(numbers, { wasmCnn2StepsPerSec: +run.stepsPerSec!.toFixed(2), wasmCnn2TestAccuracy: run.test!.accuracy })
      await page.selectOption('#model', 'mlp')
      await expectClean()
    })

    it("wasm: an L2 run becomes the weight histogram's reference", async () => {
      const l2 = await train(page, { reg: 'l2', steps: '50' })
      expect(l2.state).toBe('done')
      const run = await train(page, { reg: 'dynamic-prior', steps: '50' })
      expect(run.state).toBe('done')
      // the same seed on wasm: the same losses as the first wasm run, bit for bit
      const firstWasm = (await hook(page)).runs.find((r) => r.backend?.name === 'wasm' && r.config['reg'] === 'dynamic-prior')!
      expect(run.losses).toEqual(firstWasm.losses)
      expect(await page.textContent('#hist-caption')).toMatch(/Dashed: L2 \(lambda 0\.0005, seed 0, 50 steps, wasm\), the last L2 run of mlp/)
      expect(await page.$$eval('#chart-hist [stroke-dasharray]', (ps) => ps.length)).toBeGreaterThanOrEqual(1)
      const shot = process.env['PRIORGRAD_UPDATE_SCREENSHOT'] === '1' ? path.resolve('docs/figures/playground.png') : path.join(os.tmpdir(), 'priorgrad-playground.png')
      await page.screenshot({ path: shot, fullPage: true })
      await expectClean()
    })
  })

  describe('bad input: no WebGL2, not cross-origin isolated', () => {
    let opened: Opened

    beforeAll(async () => {
      opened = await openPlayground(built.outDir, { args: ['--disable-gpu', '--disable-software-rasterizer'], crossOriginIsolated: false })
    }, 60_000)

    afterAll(async () => {
      await opened?.close()
    })

    it('says there is no WebGL2 and offers wasm; says wasm runs one thread; wasm trains', async () => {
      const { page } = opened
      const h = await hook(page)
      expect(h.env.webgl2).toBe(false)
      expect(h.env.crossOriginIsolated).toBe(false)
      expect(await page.textContent('#env-webgl2')).toMatch(/^No WebGL2 in a Web Worker here .* the gpujs backend is off; wasm trains on the CPU instead\.$/)
      expect(await page.$eval('#backend option[value="gpujs"]', (o) => (o as unknown as { disabled: boolean }).disabled)).toBe(true)
      expect(await page.inputValue('#backend')).toBe('wasm')
      expect(await page.textContent('#env-threads')).toMatch(/one thread/)
      const run = await train(page, { steps: '20' })
      expect(run.state).toBe('done')
      expect(run.backend?.name).toBe('wasm')
      expect(run.backend?.threads).toBe(1)
      expect(await page.textContent('#backend-info')).toMatch(/not cross-origin isolated/)
      // cnn2 and its evaluations (batches of 250) in the fixed-size memory a page without SharedArrayBuffer gets
      const cnn2 = await train(page, { model: 'cnn2', steps: '20' })
      expect(cnn2.message, cnn2.message ?? '').toBeNull()
      expect(cnn2.state).toBe('done')
      expect(cnn2.backend?.details?.['memory']).toBe('fixed 512 MiB')
      expect(opened.consoleErrors).toEqual([])
      expect((await hook(page)).violations).toEqual([])
    })
  })
})
