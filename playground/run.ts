// One training run inside the worker, built like the CLI's experiments (src/experiments/build.ts):
// the model from Generator('<seed>/init'), the data order from the DataLoader's seed, the dynamic
// prior's sampling from Generator('<seed>/regularizer'), Adam on the weights. Nothing here reads the
// clock or Math.random, so the same seed on the same backend gives the same losses, bit for bit.
// Every step runs in one tidy() scope: its tensors (on gpujs, its textures) are freed when it ends.
import {
  Adam, DataLoader, DynamicPriorRegularizer, F, Generator, L1, L2, createModel, getBackendInfo, noGrad, setBackend, tidy, zeros,
  type ImageDataset, type Module, type Tensor,
} from '../src/browser.js'
import { fieldOfError, type BackendReport, type CountMap, type FieldError, type Histogram, type RunConfig } from './protocol.js'

/** The two in-memory datasets the worker built from mnist-subset.bin, normalised. */
export interface PlaygroundData {
  train: ImageDataset
  test: ImageDataset
}

/** Test images per periodic evaluation (the first ones of the 2,000): small, so training goes on. */
export const EVAL_IMAGES = 500
const EVAL_BATCH = 250
const MAX_STEPS = 100_000

/**
 * Check every option by constructing the object that owns it, one option at a time, so each bad
 * field gets its own message (the objects stop at their first bad option). Empty means valid.
 */
export function validateConfig(c: RunConfig, data: PlaygroundData): FieldError[] {
  const errors: FieldError[] = []
  const attempt = (field: FieldError['field'], f: () => unknown): void => {
    try {
      f()
    } catch (e) {
      const message = (e as Error).message
      errors.push({ field: fieldOfError(message) ?? field, message })
    }
  }
  if (c.reg === 'dynamic-prior') {
    for (const k of ['lambda', 'S', 'sp', 'alpha'] as const) attempt(k, () => new DynamicPriorRegularizer({ [k]: c[k] }))
  } else if (c.reg === 'l1') attempt('lambda', () => new L1({ lambda: c.lambda }))
  else if (c.reg === 'l2') attempt('lambda', () => new L2({ lambda: c.lambda }))
  attempt('lr', () => new Adam([zeros(1).requiresGrad_()], { lr: c.lr }))
  attempt('batchSize', () => new DataLoader(data.train, { batchSize: c.batchSize }))
  attempt('seed', () => new Generator(c.seed))
  // The page's own limits, stated the way the library states its own.
  if (!(Number.isInteger(c.batchSize) && c.batchSize <= data.train.length) && !errors.some((e) => e.field === 'batchSize')) {
    errors.push({ field: 'batchSize', message: `playground: batchSize must be at most ${data.train.length}, the training images, got ${c.batchSize}` })
  }
  if (!(Number.isInteger(c.steps) && c.steps >= 1 && c.steps <= MAX_STEPS)) {
    errors.push({ field: 'steps', message: `playground: steps must be an integer in [1, ${MAX_STEPS}], got ${c.steps}` })
  }
  if (c.model !== 'mlp' && c.model !== 'cnn2') errors.push({ field: 'model', message: `playground: model must be 'mlp' or 'cnn2', got ${JSON.stringify(c.model)}` })
  if (c.backend !== 'gpujs' && c.backend !== 'wasm') errors.push({ field: 'backend', message: `playground: backend must be 'gpujs' or 'wasm', got ${JSON.stringify(c.backend)}` })
  return errors
}

/** The backend name for the form's choice: an explicit GPU.js mode, so a silent fallback to WebAssembly cannot pass for WebGL2. */
export function backendName(choice: RunConfig['backend']): string {
  return choice === 'gpujs' ? 'gpujs-webgl2' : 'wasm'
}

/** getBackendInfo() as a plain, clonable report. */
export function backendReport(): BackendReport {
  const info = getBackendInfo()
  const details = JSON.parse(JSON.stringify(info.details ?? {})) as Record<string, unknown>
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
  const threads = typeof details['threads'] === 'number' ? details['threads'] : null
  return { name: info.name, description: info.description, hardwareGpu: info.hardwareGpu, gpujsMode: str(details['gpujsMode']), renderer: str(details['renderer']), threads, details: { ...details, reason: info.reason } }
}

/** A run: call step() until it returns false; evaluate() and views() between steps. */
export class TrainingRun {
  readonly model: Module
  readonly steps: number
  step = 0
  private readonly opt: Adam
  private readonly reg: L1 | L2 | DynamicPriorRegularizer | null
  private readonly loader: DataLoader
  private batches: IterableIterator<{ x: Tensor; y: Tensor }>
  private epoch = 0

  constructor(readonly config: RunConfig, private readonly data: PlaygroundData) {
    setBackend(backendName(config.backend))
    const { seed } = config
    this.model = createModel(config.model, { numClasses: 10, inChannels: 1, generator: new Generator(`${seed}/init`) }).to()
    this.opt = new Adam(this.model.parameters(), { lr: config.lr })
    const { lambda } = config
    this.reg =
      config.reg === 'l1' ? new L1({ lambda })
      : config.reg === 'l2' ? new L2({ lambda })
      : config.reg === 'dynamic-prior' ? new DynamicPriorRegularizer({ lambda, S: config.S, sp: config.sp, alpha: config.alpha, generator: new Generator(`${seed}/regularizer`) })
      : null
    this.loader = new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed })
    this.batches = this.loader.epochBatches(0)
    this.steps = config.steps
  }

  /** One Adam step on the next batch (a new epoch starts when one ends); returns the data loss and the penalty. */
  trainStep(): { loss: number; penalty: number } {
    let next = this.batches.next()
    if (next.done === true) {
      this.batches = this.loader.epochBatches(++this.epoch)
      next = this.batches.next()
    }
    const { x, y } = next.value as { x: Tensor; y: Tensor }
    const out = tidy(() => {
      this.opt.zeroGrad()
      const dataLoss = F.crossEntropy(this.model.forward(x), y)
      const pen = this.reg ? this.reg.penalty(this.model) : null
      const loss = dataLoss.item()
      const penalty = pen ? pen.item() : 0
      if (!Number.isFinite(loss) || !Number.isFinite(penalty)) {
        throw new Error(`step ${this.step + 1}: the loss is ${loss} and the penalty ${penalty}; stopped before updating the weights (try a smaller learning rate)`)
      }
      ;(pen ? dataLoss.add(pen) : dataLoss).backward()
      this.opt.step()
      this.opt.zeroGrad()
      return { loss, penalty }
    })
    this.step++
    return out
  }

  /** Accuracy and mean cross-entropy on the first `images` test images, eval mode, no graph. */
  evaluate(images: number): { accuracy: number; testLoss: number; images: number } {
    const n = Math.min(images, this.data.test.length)
    const set = this.data.test.subset(n)
    let correct = 0
    let lossSum = 0
    this.model.eval()
    try {
      noGrad(() => {
        for (const { x, y } of new DataLoader(set, { batchSize: EVAL_BATCH }).epochBatches(0)) {
          tidy(() => {
            const logits = this.model.forward(x)
            lossSum += F.crossEntropy(logits, y).item() * y.shape[0]!
            const pred = logits.argmax(1).toArray() as number[]
            const labels = y.toArray() as number[]
            pred.forEach((p, i) => { if (p === labels[i]) correct++ })
          })
        }
      })
    } finally {
      this.model.train()
    }
    return { accuracy: correct / n, testLoss: lossSum / n, images: n }
  }

  /** The dynamic prior's counts of its last evaluation (conv1 for cnn2, fc1 for both), or none. */
  counts(): CountMap[] {
    const reg = this.reg
    if (!(reg instanceof DynamicPriorRegularizer) || this.step === 0) return []
    const S = reg.options.S
    const tiles: Record<string, number[]> =
      this.config.model === 'cnn2' ? { 'conv1.weight': [1, 3, 3], 'fc1.weight': [64, 7, 7] } : { 'fc1.weight': [1, 28, 28] }
    return Object.entries(tiles).map(([param, tile]) => {
      const c = reg.lastCounts(param)
      return { param, shape: [...c.shape], tile, S, values: Float32Array.from(c.data) }
    })
  }

  /** Histogram of log10|w| over the regularized weights (those of Linear and Conv2d: names ending in 'weight'). */
  histogram(lo = -5, hi = 0, bins = 50): Histogram {
    const fractions = new Float32Array(bins)
    let below = 0
    let total = 0
    for (const [name, w] of this.model.namedParameters()) {
      if (!name.endsWith('weight')) continue
      // a copy read back from the backend: the parameter's own device copy stays in place
      const values = w.toTypedArray()
      for (let i = 0; i < values.length; i++) {
        const a = Math.log10(Math.abs(values[i]!))
        const b = Math.floor(((a - lo) / (hi - lo)) * bins)
        if (b < 0) below++
        else fractions[Math.min(b, bins - 1)]!++
      }
      total += values.length
    }
    for (let b = 0; b < bins; b++) fractions[b]! /= total
    return { lo, hi, fractions, below: below / total }
  }
}
