// One full training step (zero grads, forward, cross-entropy, backward, Adam) of mlp (batch
// 32 and 256), cnn2 (batch 32), vgg11 (batch 32, with BatchNorm) and resnet18 (CIFAR, batch 32),
// for priorgrad and, in the same run, TensorFlow.js and PyTorch (1 and 2 threads, when
// /usr/bin/python3 has torch; with OMP_WAIT_POLICY=PASSIVE, see torchRows).
// Also the peak resident memory of a long cnn2 run. Run alone: `npx tsx bench/train-steps.ts`.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Adam, F, Generator, backendStats, createModel, getBackend, getBackendInfo, randint, randn, tidy, type Module, type Tensor } from '../src/index.js'
import type { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { time, timeSlow, type Timing } from './timing.js'

export interface StepRow {
  peer: string
  case: string
  timing: Timing | null
  note?: string
}

interface StepCase {
  model: 'mlp' | 'cnn2' | 'vgg11' | 'resnet18'
  batch: number
}

const CASES: StepCase[] = [
  { model: 'mlp', batch: 32 },
  { model: 'mlp', batch: 256 },
  { model: 'cnn2', batch: 32 },
  { model: 'vgg11', batch: 32 },
  { model: 'resnet18', batch: 32 },
]

const caseName = (c: StepCase): string => `${c.model} b=${c.batch}`

function stepRow(peer: string, c: StepCase, t: Timing): StepRow {
  return { peer, case: caseName(c), timing: t, ...(t.reps === 1 ? { note: 'one repetition (too slow to repeat)' } : {}) }
}

/**
 * A priorgrad training step on a fixed random batch; returns the step function and the model.
 * `penalty`, if given, is called each step and what it returns (if anything) is added to the loss.
 */
export function priorgradStep(c: StepCase, seed = 0, penalty?: (model: Module) => Tensor | null): { step: () => number; model: Module } {
  const g = new Generator(seed)
  const cifar = c.model === 'vgg11' || c.model === 'resnet18'
  // As the library's trainer builds it: weights (and optimizer state) in the backend's memory.
  const model = createModel(c.model, { numClasses: 10, inChannels: cifar ? 3 : 1, generator: g }).to()
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 })
  const x = randn(cifar ? [c.batch, 3, 32, 32] : [c.batch, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [c.batch], { generator: g })
  // In a tidy() scope, as the library's own training loop runs a step: on wasm the step's tensors
  // then live in WASM memory and are freed when it ends.
  const step = (): number => tidy(() => {
    optimizer.zeroGrad()
    const data = F.crossEntropy(model.forward(x), y)
    const extra = penalty?.(model) ?? null
    const loss = extra ? data.add(extra) : data
    loss.backward()
    optimizer.step()
    optimizer.zeroGrad() // the gradients go with the scope (on gpujs, their textures)
    return loss.item()
  })
  return { step, model }
}

function torchRows(budgetS: number): StepRow[] {
  const rows: StepRow[] = []
  const script = fileURLToPath(new URL('./torch_train.py', import.meta.url))
  for (const threads of [1, 2]) {
    // NOTE: OpenMP's default spin-wait makes PyTorch ~10x slower whenever another process holds a
    // core (measured here); PASSIVE waits sleep instead, so the peer is timed at its real speed.
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' }
    const r = spawnSync('/usr/bin/python3', [script, String(threads), String(budgetS)], { encoding: 'utf8', env, timeout: 600_000 })
    if (r.status !== 0) {
      const why = /No module named 'torch'/.test(r.stderr ?? '') ? "Debian's python3-torch is not installed" : (r.error?.message ?? r.stderr?.trim().split('\n').pop() ?? 'failed')
      return [{ peer: 'pytorch', case: 'all', timing: null, note: `skipped: ${why}` }]
    }
    for (const line of r.stdout.trim().split('\n')) {
      const j = JSON.parse(line) as Timing & { case: string }
      rows.push({ peer: `pytorch ${threads}t`, case: j.case, timing: j })
    }
  }
  return rows
}

async function tfjsRows(budgetS: number, maxRepS: number): Promise<StepRow[]> {
  const { tfjsStep } = await import('./tfjs-train.js')
  const rows: StepRow[] = []
  for (const c of CASES) {
    if (c.model === 'vgg11' || c.model === 'resnet18') {
      rows.push({ peer: 'tfjs', case: caseName(c), timing: null, note: 'not run: tfjs-cpu took over 7 min for one step here; tfjs-wasm has no Conv2DBackpropFilter' })
      continue
    }
    // wasm has every kernel the mlp needs; CNNs need the cpu backend (no conv weight gradient on wasm).
    const backend = c.model === 'mlp' ? 'wasm' : 'cpu'
    const step = await tfjsStep(c.model, c.batch, backend)
    rows.push(stepRow(`tfjs-${backend}`, c, timeSlow(step, budgetS, maxRepS)))
  }
  return rows
}

/** Peak RSS while training cnn2 at batch 32 for `steps` steps, sampled every 50 steps. */
export function cnn2Memory(steps: number): { samplesMb: number[]; peakMb: number; wasmMemoryMb: number[]; liveBuffers: number[] } {
  const { step } = priorgradStep({ model: 'cnn2', batch: 32 })
  const samplesMb: number[] = []
  // the backend's own memory and the blocks tensors hold at the end of each step (0 outside a scope)
  const wasmMemoryMb: number[] = []
  const liveBuffers: number[] = []
  const engine = (getBackend() as Partial<WasmBackend>).wasmEngine
  for (let i = 1; i <= steps; i++) {
    step()
    if (i % 50 === 0) {
      samplesMb.push(process.memoryUsage().rss / 2 ** 20)
      if (engine) wasmMemoryMb.push(engine.memory.buffer.byteLength / 2 ** 20)
      liveBuffers.push(backendStats().liveBuffers)
    }
  }
  return { samplesMb, peakMb: process.resourceUsage().maxRSS / 1024, wasmMemoryMb, liveBuffers }
}

export interface TrainBenchOptions {
  budgetSeconds?: number
  maxSecondsPerRep?: number
  memorySteps?: number
  peers?: boolean
}

export async function benchTrainSteps(opts: TrainBenchOptions = {}): Promise<StepRow[]> {
  const budget = opts.budgetSeconds ?? 3
  const rows: StepRow[] = []
  for (const c of CASES) {
    const { step } = priorgradStep(c)
    const slow = c.model === 'vgg11' || c.model === 'resnet18'
    rows.push(stepRow('priorgrad', c, slow ? timeSlow(step, budget, 120) : time(step, budget)))
  }
  if (opts.peers ?? true) {
    rows.push(...torchRows(budget))
    rows.push(...(await tfjsRows(budget, opts.maxSecondsPerRep ?? 60)))
  }
  return rows
}

export function printStepRows(rows: StepRow[]): void {
  const ours = new Map(rows.filter((r) => r.peer === 'priorgrad' && r.timing).map((r) => [r.case, r.timing!.medianMs]))
  console.log(`\nTraining steps (backend: ${getBackendInfo().description})`)
  console.log('peer           case          median ms    min ms    max ms  reps   img/s   priorgrad / peer')
  for (const r of rows) {
    if (!r.timing) {
      console.log(`${r.peer.padEnd(14)} ${r.case.padEnd(12)}  ${r.note}`)
      continue
    }
    const batch = Number(r.case.split('b=')[1])
    const mine = ours.get(r.case)
    const ratio = mine !== undefined && r.peer !== 'priorgrad' ? `${(mine / r.timing.medianMs).toFixed(2)}x the time` : ''
    const t = r.timing
    console.log(
      `${r.peer.padEnd(14)} ${r.case.padEnd(12)} ${t.medianMs.toFixed(2).padStart(10)} ${t.minMs.toFixed(2).padStart(9)} ${t.maxMs.toFixed(2).padStart(9)} ${String(t.reps).padStart(5)} ${Math.round((batch * 1000) / t.medianMs).toString().padStart(7)}   ${ratio}`,
    )
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await benchTrainSteps()
  printStepRows(rows)
  const mem = cnn2Memory(Number(process.env['MEMORY_STEPS'] ?? 1000))
  console.log(`\ncnn2 b=32 resident memory every 50 steps (MB): ${mem.samplesMb.map((m) => m.toFixed(0)).join(' ')}; peak ${mem.peakMb.toFixed(0)} MB`)
}
