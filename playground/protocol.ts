// The messages between the page (main.ts) and the training worker (worker.ts). The page never
// imports priorgrad: every tensor lives in the worker, so a long training step can never freeze
// the page, and the page's own script stays small. Both sides import this file, so a message the
// worker sends is a type the page has to handle.

/** The models of the form. */
export type ModelName = 'mlp' | 'cnn2'
/** The regularizers of the form ('dynamic-prior' is the paper's). */
export type RegName = 'none' | 'l1' | 'l2' | 'dynamic-prior'
/** 'gpujs' runs GPU.js in WebGL2 mode; 'wasm' priorgrad's WebAssembly backend. */
export type BackendChoice = 'gpujs' | 'wasm'

/** One run's settings, as the form gives them (numbers unchecked: the worker checks them). */
export interface RunConfig {
  model: ModelName
  reg: RegName
  lambda: number
  sp: number
  S: number
  alpha: number
  seed: number
  batchSize: number
  lr: number
  steps: number
  backend: BackendChoice
}

/** A form field: each is named like the RunConfig key it fills. */
export type FieldName = keyof RunConfig

/** An option the worker refused, with the message of the object that refused it. */
export interface FieldError {
  /** The field the message names, or null for an error about no single field. */
  field: FieldName | null
  message: string
}

/** What runs the kernels, from getBackendInfo() (details flattened to clonable values). */
export interface BackendReport {
  name: string
  description: string
  hardwareGpu: boolean
  /** GPU.js's mode that really runs ('webgl2', or a fallback), null on wasm. */
  gpujsMode: string | null
  /** The GL renderer string (WEBGL_debug_renderer_info), null when there is none. */
  renderer: string | null
  /** Worker threads of the wasm backend (1 when the page is not cross-origin isolated), null on gpujs. */
  threads: number | null
  details: Record<string, unknown>
}

/** What the worker found about the browser, before any run. */
export interface EnvReport {
  /** Whether a WebGL2 context can be made inside the worker (GPU.js draws on an OffscreenCanvas there). */
  webgl2: boolean
  webgl2Reason: string
  renderer: string | null
  crossOriginIsolated: boolean
  sharedArrayBuffer: boolean
  hardwareConcurrency: number
  /** Backends the browser entry registered (setBackend names). */
  backends: string[]
  trainImages: number
  testImages: number
}

/**
 * c_j of one parameter from the last evaluation of the dynamic prior. `tile` is how one output
 * unit's counts are drawn: [C, H, W], C planes of H x W (conv1: [1, 3, 3]; mlp fc1: [1, 28, 28]).
 */
export interface CountMap {
  param: string
  shape: number[]
  tile: number[]
  /** Counts lie in [0, S]: the colour scale is fixed to that range. */
  S: number
  values: Float32Array
}

/** The weight-magnitude histogram: fractions of |w| per bin of log10|w|, plus the |w| < 10^lo bin. */
export interface Histogram {
  lo: number
  hi: number
  /** Fraction of weights with lo + i*(hi-lo)/n <= log10|w| < lo + (i+1)*(hi-lo)/n. */
  fractions: Float32Array
  /** Fraction with |w| < 10^lo (zeros included). */
  below: number
}

/** Accuracy and mean cross-entropy on `images` test images. */
export interface TestResult {
  accuracy: number
  testLoss: number
  images: number
}

/** Page -> worker. */
export type ToWorker =
  | { type: 'start'; id: number; config: RunConfig }
  | { type: 'stop' }
  | { type: 'graph'; id: number; expression: string }

/**
 * Worker -> page. Speeds count training steps only (not the evaluations between them) and leave
 * out step 1, which compiles the kernels: imagesPerSec on each step, stepsPerSec at the end.
 * setupMs is the time to build the run (backend, model, optimizer) before step 1. Evaluations
 * use the first 500 test images; a run that ends (not stopped) is also tested on all of them (`test`).
 */
export type FromWorker =
  | { type: 'ready'; env: EnvReport; loadMs: number }
  | { type: 'fatal'; message: string }
  | { type: 'invalid'; id: number; errors: FieldError[] }
  | { type: 'started'; id: number; backend: BackendReport; setupMs: number }
  | { type: 'step'; id: number; step: number; loss: number; penalty: number; imagesPerSec: number }
  | ({ type: 'eval'; id: number; step: number; histogram: Histogram; counts: CountMap[] } & TestResult)
  | { type: 'finished'; id: number; reason: 'done' | 'stopped' | 'error'; message: string | null; steps: number; firstStepMs: number | null; stepsPerSec: number | null; test: TestResult | null }
  | { type: 'graph'; id: number; expression: string; dot: string }
  | { type: 'graph-error'; id: number; message: string }
  | { type: 'violation'; text: string }

/** The expressions the graph tab offers; worker.ts builds each with requiresGrad leaves. */
export const GRAPH_EXPRESSIONS = [
  '(a*b).sum()',
  'relu(x@W+b).mean()',
  'softmax(x).log()',
  'crossEntropy(x@W, y)',
  'tanh(x@W1)@W2',
] as const

const FIELDS: readonly FieldName[] = ['model', 'reg', 'lambda', 'sp', 'S', 'alpha', 'seed', 'batchSize', 'lr', 'steps', 'backend']

/**
 * The form field an error message names. The objects name their options in one of two ways:
 * "DynamicPriorRegularizer: option sp must be in (0, 1], got 2" and "L2: option lambda ..."
 * (the regularizers), or "Adam: lr must be ..." / "DataLoader: batchSize must ..." / "Generator:
 * seed must ..." (the optimizer, the loader, the generator).
 * @example fieldOfError('Adam: lr must be a finite number >= 0, got -1') // 'lr'
 */
export function fieldOfError(message: string): FieldName | null {
  const m = /\boption (\w+)/.exec(message) ?? /^\w+: (\w+) must\b/.exec(message)
  const name = m?.[1]
  return name !== undefined && (FIELDS as readonly string[]).includes(name) ? (name as FieldName) : null
}
