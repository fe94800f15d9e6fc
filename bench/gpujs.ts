// Benchmark of the gpujs backend: matmul (N = 128, 256, 512) and conv2d at cnn2's two conv
// shapes, for every GPU.js mode available, side by side with the reference kernels and the
// fast CPU 'wasm' backend (when present). headlessgl needs an X display: without one, and when
// gl is built and xvfb-run exists, its rows come from a child process under `xvfb-run -a`;
// the webgl2 rows come from headless Chromium (/usr/bin/chromium) when it is installed.
// Then a whole cnn2 training step (batch 32, Adam) on each GPU.js mode available in Node and on
// 'wasm', with what one step moves (backendStats(): kernel calls, uploads, downloads, bytes),
// and, on headlessgl, the live textures over 1,000 steps (batch 1): they must not grow.
// The browser has no step row: the library does not load in a page yet.
//
//   npx tsx bench/gpujs.ts               # all modes available here
//   npx tsx bench/gpujs.ts --no-browser  # without the (slow) Chromium webgl2 rows
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Backend } from '../src/tensor/backends/backend.js'
import { backendStats, getBackendInfo, setBackend, statsSince, type BackendStats } from '../src/index.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import type { GpujsMode } from '../src/tensor/backends/gpujs/modes.js'
import { benchGpujsModes, tasks, timeTask, wantFloat64, type GpujsBenchRow } from './gpujs-tasks.js'
import { timeSlow } from './timing.js'
import { priorgradStep } from './train-steps.js'

export type { GpujsBenchRow } from './gpujs-tasks.js'

// The fast CPU backend ('wasm'), when it is there, for the side-by-side rows.
async function fastCpuBackend(): Promise<Backend[]> {
  try {
    const { WasmBackend } = await import('../src/tensor/backends/wasm/index.js')
    return [new WasmBackend()]
  } catch (e) {
    console.warn(`bench/gpujs: no 'wasm' backend rows: ${(e as Error).message}`)
    return []
  }
}

/** One cnn2 training step (batch 32, Adam) on one backend: its time and what it moved. */
export interface GpujsStepRow {
  backend: string
  /** GPU.js mode that really ran ('-' for other backends) */
  mode: string
  medianMs: number
  reps: number
  /** backendStats() difference over one step */
  perStep: BackendStats
}

/** Time a cnn2 training step on each named backend and count what one step moves. */
export function cnn2StepRows(backends: string[], budgetS = 2): GpujsStepRow[] {
  return backends.map((name) => {
    setBackend(name)
    const { step } = priorgradStep({ model: 'cnn2', batch: 32 })
    step() // compiles the kernels
    const before = backendStats()
    step()
    const perStep = statsSince(before, backendStats())
    const t = timeSlow(step, budgetS, 60)
    return { backend: name, mode: String(getBackendInfo().details?.['gpujsMode'] ?? '-'), medianMs: t.medianMs, reps: t.reps, perStep }
  })
}

/** backendStats().liveBuffers over many cnn2 steps on one backend: after the first step, after the last, and the largest. */
export interface LiveBuffersRow {
  backend: string
  steps: number
  batch: number
  afterFirst: number
  afterLast: number
  max: number
}

/** Run `steps` cnn2 training steps at `batch` and follow the live buffers (textures on gpujs). */
export function liveBuffersOver(backend: string, steps: number, batch: number): LiveBuffersRow {
  setBackend(backend)
  const { step } = priorgradStep({ model: 'cnn2', batch })
  step()
  const afterFirst = backendStats().liveBuffers
  let max = afterFirst
  for (let s = 1; s < steps; s++) {
    step()
    max = Math.max(max, backendStats().liveBuffers)
  }
  return { backend, steps, batch, afterFirst, afterLast: backendStats().liveBuffers, max }
}

type GlRows = { kernels: GpujsBenchRow[]; steps: GpujsStepRow[]; live?: LiveBuffersRow }

function headlessglRowsViaXvfb(): GlRows | string {
  if (!existsSync('node_modules/gl/build/Release/webgl.node')) return 'gl not built (bash scripts/setup-gl.sh)'
  if (spawnSync('sh', ['-c', 'command -v xvfb-run']).status !== 0) return 'xvfb-run missing'
  const self = fileURLToPath(import.meta.url)
  const child = spawnSync('xvfb-run', ['-a', process.execPath, '--import', 'tsx', self, '--child', 'headlessgl'], { encoding: 'utf8', timeout: 900_000 })
  const line = child.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (!line) return `child failed (status ${child.status}): ${child.stderr.slice(-500)}`
  return JSON.parse(line.slice('BENCH_JSON '.length)) as GlRows
}

async function webgl2RowsViaChromium(): Promise<GpujsBenchRow[] | string> {
  const { browserSkipReason, runInChromium } = await import('../test/browser/browser-parity.js')
  const skip = browserSkipReason()
  if (skip) return skip
  const r = await runInChromium('./bench-page.ts', {}, 300_000)
  return (r['rows'] as GpujsBenchRow[] | undefined) ?? `page failed: ${String(r['error'])}`
}

export interface BenchGpujsOptions {
  /** backends to time beside the reference; default: the 'wasm' backend when it loads */
  others?: Backend[]
  /** print a table (default true) */
  print?: boolean
  /** headlessgl rows (default true; needs gl and Xvfb) */
  headlessgl?: boolean
  /** webgl2 rows from headless Chromium (default true; SwiftShader makes them take about 2 minutes) */
  browser?: boolean
  /** cnn2 training-step rows with their per-step transfers (default true) */
  steps?: boolean
}

/**
 * Benchmark every available GPU.js mode against the reference kernels and `others`.
 * @example const rows = await benchGpujs()
 */
export async function benchGpujs(options: BenchGpujsOptions = {}): Promise<GpujsBenchRow[]> {
  const list = tasks()
  for (const t of list) t.want = wantFloat64(t)
  const rows: GpujsBenchRow[] = []
  const others = options.others ?? (await fastCpuBackend())
  for (const b of [new ReferenceBackend(), ...others]) for (const t of list) rows.push(timeTask(t, b, '-'))
  if (!options.others) for (const b of others) b.dispose()
  rows.push(...benchGpujsModes(['webasm', 'cpu']))
  const stepRows = options.steps === false ? [] : cnn2StepRows(['wasm', 'gpujs-webasm', 'gpujs-cpu'])
  let live: LiveBuffersRow | undefined
  const display = typeof process.env['DISPLAY'] === 'string' && process.env['DISPLAY'] !== ''
  if (options.headlessgl !== false) {
    const gl: GlRows | string = display ? glRows(options.steps !== false) : headlessglRowsViaXvfb()
    if (typeof gl === 'string') console.warn(`bench/gpujs: no headlessgl rows: ${gl}`)
    else {
      rows.push(...gl.kernels)
      stepRows.push(...gl.steps)
      live = gl.live
    }
  }
  if (options.browser !== false) {
    const web = await webgl2RowsViaChromium()
    if (typeof web === 'string') console.warn(`bench/gpujs: no webgl2 rows: ${web}`)
    else rows.push(...web)
  }
  rows.sort((a, b) => a.kernel.localeCompare(b.kernel) || a.shape.localeCompare(b.shape) || a.medianMs - b.medianMs)
  if (options.print !== false) {
    console.log('gpujs benchmark (median ms incl. upload and readback; GFLOP/s; max abs err vs float64 reference)')
    console.table(rows.map((r) => ({ ...r, maxAbsErr: r.maxAbsErr.toExponential(1) })))
    if (stepRows.length) {
      console.log('\ncnn2 training step, batch 32, Adam (median ms; what one step moves, from backendStats())')
      console.table(stepRows.map(({ perStep: p, ...r }) => ({
        ...r, medianMs: Number(r.medianMs.toFixed(1)), kernelCalls: p.kernelCalls, uploads: p.uploads, downloads: p.downloads,
        uploadMB: Number((p.uploadBytes / 1e6).toFixed(1)), downloadMB: Number((p.downloadBytes / 1e6).toFixed(1)), liveBuffers: p.liveBuffers,
      })))
    }
    if (live) {
      console.log(`\nlive textures over ${live.steps} cnn2 steps (batch ${live.batch}) on ${live.backend}: ${live.afterFirst} after the first, ` +
        `${live.afterLast} after the last, at most ${live.max} (${live.max === live.afterFirst ? 'flat' : 'GROWING'})`)
    }
  }
  return rows
}

// The headlessgl rows in a process that has an X display: kernels, the step, and the live textures over 1,000 steps.
function glRows(steps: boolean): GlRows {
  return { kernels: benchGpujsModes(['headlessgl']), steps: steps ? cnn2StepRows(['gpujs-headlessgl']) : [], live: steps ? liveBuffersOver('gpujs-headlessgl', 1000, 1) : undefined }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (isMain) {
  const i = process.argv.indexOf('--child')
  if (i >= 0) {
    const mode = process.argv[i + 1] as GpujsMode
    const out: GlRows = mode === 'headlessgl' ? glRows(true) : { kernels: benchGpujsModes([mode]), steps: cnn2StepRows([`gpujs-${mode}`]) }
    console.log(`BENCH_JSON ${JSON.stringify(out)}`)
    process.exit(0)
  } else {
    await benchGpujs({ browser: !process.argv.includes('--no-browser') })
    process.exit(0)
  }
}
