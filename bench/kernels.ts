// Kernel benchmark: SGEMM (N = 128..1024) and cnn2's two conv layers (forward, forward +
// both gradients), priorgrad's wasm backend (1 and 2 threads) and reference loops side by side
// with TensorFlow.js (wasm and cpu backends) and PyTorch (1 and 2 threads, if importable by
// /usr/bin/python3). Run alone: `npx tsx bench/kernels.ts`; or call benchKernels(opts).
// Times are wall-clock medians after warm-up; results are read back (tfjs dataSync) so every
// peer pays for its output. Row peers: 'priorgrad' (the wasm backend, threads '1' and '2'),
// 'priorgrad-reference', 'pytorch' (threads '1'/'2'), 'tfjs-wasm', 'tfjs-cpu'.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Tensor4D } from '@tensorflow/tfjs'
import type { Backend, Conv2dGeometry } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { Generator } from '../src/tensor/generator.js'
import { timeSlow, type Timing } from './timing.js'

export interface KernelBenchOptions {
  /** SGEMM sizes; default [128, 256, 512, 1024] */
  sizes?: number[]
  /** seconds of timed repetitions per case (at least 3 reps); default 1 */
  budgetSeconds?: number
  /** a case whose first repetition takes longer than this is reported from that one rep (tfjs cpu conv backprop ~30 s); default 20 */
  maxSecondsPerRep?: number
  /** print the table (default true when run alone) */
  print?: boolean
}

export interface KernelBenchRow {
  peer: string
  threads: string
  case: string
  medianMs: number | null
  minMs: number | null
  maxMs: number | null
  reps: number
  /** GFLOP/s at the median for SGEMM rows */
  gflops: number | null
  note?: string
}

const CONVS: { name: string; g: Conv2dGeometry }[] = [
  { name: 'conv1 [32,1,28,28]x[32,1,3,3] pad 1', g: geom(32, 1, 28, 32) },
  { name: 'conv2 [32,32,14,14]x[64,32,3,3] pad 1', g: geom(32, 32, 14, 64) },
]

function geom(n: number, c: number, hw: number, o: number): Conv2dGeometry {
  return { batch: n, inChannels: c, inHeight: hw, inWidth: hw, outChannels: o, kernelHeight: 3, kernelWidth: 3,
    strideH: 1, strideW: 1, padH: 1, padW: 1, outHeight: hw, outWidth: hw }
}

function rand(n: number, rng: Generator): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1)
}

function priorgradRows(name: string, threads: string, be: Backend, o: Required<KernelBenchOptions>, maxN: number): KernelBenchRow[] {
  const rows: KernelBenchRow[] = []
  const rng = new Generator(0)
  for (const n of o.sizes) {
    if (n > maxN) continue
    const a = rand(n * n, rng)
    const b = rand(n * n, rng)
    const c = new Float32Array(n * n)
    const t = timeSlow(() => be.matmul(a, b, c, { batch: 1, m: n, n, k: n, transA: false, transB: false }), o.budgetSeconds, o.maxSecondsPerRep)
    rows.push(row(name, threads, `sgemm N=${n}`, t, 2 * n ** 3))
  }
  for (const { name: cname, g } of CONVS) {
    const x = rand(g.batch * g.inChannels * g.inHeight * g.inWidth, rng)
    const w = rand(g.outChannels * g.inChannels * 9, rng)
    const y = new Float32Array(g.batch * g.outChannels * g.outHeight * g.outWidth)
    const dy = rand(y.length, rng)
    const dx = new Float32Array(x.length)
    const dw = new Float32Array(w.length)
    rows.push(row(name, threads, `${cname} fwd`, timeSlow(() => be.conv2d(x, w, null, y, g), o.budgetSeconds, o.maxSecondsPerRep)))
    rows.push(row(name, threads, `${cname} fwd+bwd(dx,dw)`, timeSlow(() => {
      be.conv2d(x, w, null, y, g)
      be.conv2dGradInput(dy, w, dx, g)
      be.conv2dGradWeight(dy, x, dw, g)
    }, o.budgetSeconds, o.maxSecondsPerRep)))
  }
  return rows
}

function row(peer: string, threads: string, name: string, t: Timing | string, flops?: number): KernelBenchRow {
  if (typeof t === 'string') return { peer, threads, case: name, medianMs: null, minMs: null, maxMs: null, reps: 0, gflops: null, note: t }
  return { peer, threads, case: name, ...t, gflops: flops ? flops / t.medianMs / 1e6 : null }
}

async function tfjsRows(backend: 'wasm' | 'cpu', o: Required<KernelBenchOptions>): Promise<KernelBenchRow[]> {
  const peer = `tfjs-${backend}`
  // tfjs-backend-wasm in Node has no thread pool (WASM_HAS_MULTITHREAD_SUPPORT=false)
  const threads = '1'
  let tf: typeof import('@tensorflow/tfjs')
  try {
    tf = await import('@tensorflow/tfjs')
    if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm')
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`)
    await tf.ready()
  } catch (e) {
    return [row(peer, threads, 'all', `n/a: ${(e as Error).message}`)]
  }
  const rows: KernelBenchRow[] = []
  for (const n of o.sizes) {
    const a = tf.randomUniform([n, n])
    const b = tf.randomUniform([n, n])
    const t = timeSlow(() => tf.tidy(() => tf.matMul(a, b)).dataSync(), o.budgetSeconds, o.maxSecondsPerRep)
    rows.push(row(peer, threads, `sgemm N=${n}`, t, 2 * n ** 3))
    tf.dispose([a, b])
  }
  for (const { name, g } of CONVS) {
    // NHWC input, HWIO weights: the same math as NCHW/OIHW
    const x = tf.randomUniform([g.batch, g.inHeight, g.inWidth, g.inChannels])
    const w = tf.randomUniform([3, 3, g.inChannels, g.outChannels])
    const dy = tf.randomUniform([g.batch, g.outHeight, g.outWidth, g.outChannels])
    rows.push(row(peer, threads, `${name} fwd`, timeSlow(() => {
      const y = tf.conv2d(x as Tensor4D, w as Tensor4D, 1, 'same')
      y.dataSync()
      y.dispose()
    }, o.budgetSeconds, o.maxSecondsPerRep)))
    const grads = tf.grads((xi, wi) => tf.conv2d(xi as Tensor4D, wi as Tensor4D, 1, 'same'))
    let t: Timing | string
    try {
      t = timeSlow(() => {
        const [gx, gw] = grads([x, w], dy)
        gx!.dataSync()
        gw!.dataSync()
        tf.dispose([gx!, gw!])
      }, o.budgetSeconds, o.maxSecondsPerRep)
    } catch (e) {
      t = `n/a: ${(e as Error).message}`
    }
    rows.push(row(peer, threads, `${name} fwd+bwd(dx,dw)`, t))
    tf.dispose([x, w, dy])
  }
  return rows
}

function torchRows(threads: number, o: Required<KernelBenchOptions>): KernelBenchRow[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_bench.py')
  const spec = { threads, sgemm: o.sizes, budget_s: o.budgetSeconds,
    convs: CONVS.map(({ g }) => [g.batch, g.inChannels, g.inHeight, g.inWidth, g.outChannels, 3, 1]) }
  // OMP_WAIT_POLICY=PASSIVE: see torchRows in train-steps.ts (spin-waiting collapses on a shared machine).
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' }
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify(spec)], { env, encoding: 'utf8', timeout: 600_000 })
  if (r.status !== 0) {
    const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()
    return [row('pytorch', String(threads), 'all', `n/a: PyTorch not runnable via /usr/bin/python3 (${why})`)]
  }
  return r.stdout.trim().split('\n').map((line) => {
    const j = JSON.parse(line) as { case: string; median_ms: number; min_ms: number; max_ms: number; reps: number }
    // python names convs by shape; map to our names so rows line up
    const conv = CONVS.find(({ g }) => j.case.startsWith(`conv [${g.batch},${g.inChannels},`))
    const name = conv ? `${conv.name} ${j.case.slice(j.case.indexOf(' pad 1 ') + 7)}` : j.case
    const n = /sgemm N=(\d+)/.exec(j.case)
    return row('pytorch', String(threads), name, { medianMs: j.median_ms, minMs: j.min_ms, maxMs: j.max_ms, reps: j.reps }, n ? 2 * Number(n[1]) ** 3 : undefined)
  })
}

/**
 * Time SGEMM and cnn2's conv layers for priorgrad and its peers; returns one row per (peer, case).
 * @example const rows = await benchKernels({ sizes: [256], budgetSeconds: 0.5 })
 */
export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const o: Required<KernelBenchOptions> = { sizes: [128, 256, 512, 1024], budgetSeconds: 1, maxSecondsPerRep: 20, print: false, ...opts }
  const rows: KernelBenchRow[] = []
  const log = (r: KernelBenchRow[]): void => {
    rows.push(...r)
    if (o.print) for (const x of r) process.stderr.write(`  ${x.peer} (${x.threads}t) ${x.case}: ${x.medianMs?.toFixed(3) ?? x.note} ms\n`)
  }
  for (const threads of [2, 1]) {
    const be = new WasmBackend({ threads })
    log(priorgradRows('priorgrad', String(threads), be, o, Infinity))
    be.dispose()
  }
  log(priorgradRows('priorgrad-reference', '1', new ReferenceBackend(), { ...o, budgetSeconds: Math.min(o.budgetSeconds, 0.5) }, 256))
  log(torchRows(2, o))
  log(torchRows(1, o))
  log(await tfjsRows('wasm', o))
  log(await tfjsRows('cpu', o))
  if (o.print) printKernelTable(rows)
  return rows
}

const fmt = (x: number | null, d = 3): string => (x === null ? '' : x >= 100 ? x.toFixed(1) : x.toFixed(d))

/** Print rows as a markdown table with ratios to PyTorch (time / PyTorch time; > 1 = slower). */
export function printKernelTable(rows: KernelBenchRow[]): void {
  const torch = (t: string, c: string): number | null => rows.find((r) => r.peer === 'pytorch' && r.threads === t && r.case === c)?.medianMs ?? null
  const ratio = (r: KernelBenchRow, t: string): string => {
    const p = torch(t, r.case)
    return r.medianMs !== null && p ? `${(r.medianMs / p).toFixed(2)}x` : ''
  }
  const lines = ['| peer | threads | case | median ms | min ms | max ms | GFLOP/s | reps | vs torch 2t | vs torch 1t |', '|---|---|---|---|---|---|---|---|---|---|']
  const cases = [...new Set(rows.map((r) => r.case))]
  for (const c of cases) {
    for (const r of rows.filter((x) => x.case === c)) {
      if (r.medianMs === null) {
        lines.push(`| ${r.peer} | ${r.threads} | ${r.case} | ${r.note} |||||||`)
        continue
      }
      lines.push(`| ${r.peer} | ${r.threads} | ${r.case} | ${fmt(r.medianMs)} | ${fmt(r.minMs)} | ${fmt(r.maxMs)} | ${fmt(r.gflops, 2)} | ${r.reps} | ${ratio(r, '2')} | ${ratio(r, '1')} |`)
    }
  }
  console.log(lines.join('\n'))
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchKernels({ print: true })
}
