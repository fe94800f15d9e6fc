// The page's test hook, window.__playground: its state and every run's numbers (losses,
// evaluations, timings), so the browser test (test/playground.test.ts) and a curious reader in the
// devtools console read results instead of scraping the page.
import type { BackendReport, EnvReport, FieldError, RunConfig, TestResult } from './protocol.js'

/** One run as the test hook shows it. */
export interface RunRecord {
  id: number
  config: RunConfig
  state: 'starting' | 'running' | 'done' | 'stopped' | 'error' | 'invalid'
  backend: BackendReport | null
  steps: number[]
  losses: number[]
  evals: { step: number; accuracy: number; images: number }[]
  message: string | null
  errors: FieldError[]
  /** ms since the page opened (navigation start) when Train was clicked, and at the first step. */
  clickedAt: number
  firstStepAt: number | null
  /** From the worker: ms to build the run, ms from receiving it to the end of its first step, and steps/s after it. */
  setupMs: number | null
  workerFirstStepMs: number | null
  stepsPerSec: number | null
  imagesPerSec: number | null
  /** Steps the page had seen when Stop was pressed (null: not stopped). */
  stopAtStep: number | null
  /** The test on all test images at the end of a run that finished. */
  test: TestResult | null
}

/** A fresh hook: no runs yet, the worker not ready. */
export function createHook() {
  return {
    ready: false,
    state: 'loading' as string,
    env: null as EnvReport | null,
    loadMs: null as number | null,
    /** ms since the page opened (navigation start) when the worker was ready (data loaded). */
    readyAt: null as number | null,
    runs: [] as RunRecord[],
    heatmapUpdates: 0,
    graphs: 0,
    violations: [] as string[],
    errors: [] as string[],
  }
}
