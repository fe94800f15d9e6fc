// Driving the Adam kernel (./adam-kernels.ts): the hyperparameters as float64 in WASM memory,
// the four arrays used in place or copied in, big parameters split into ranges over the
// threads, and the three updated arrays copied out unless updated in place.
import type { AdamUpdate } from '../backend.js'
import type { WasmEngine } from './engine.js'
import { bands, type Task } from './threads.js'
import { ADAM_HYPER } from './adam-kernels.js'

// Below this many entries one thread does the update (a fork/join costs ~20 us).
const PARALLEL_ENTRIES = 1 << 15

/** True for the update the kernel implements: no weight decay, amsgrad or maximize. */
export const isPlainAdam = (h: AdamUpdate, vMax: unknown): boolean => vMax === null && h.weightDecay === 0 && !h.maximize

/** One plain Adam step in place (float32; see {@link isPlainAdam}). */
export function adamWasm(e: WasmEngine, p: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, h: AdamUpdate): void {
  const n = p.length
  if (n === 0) return
  const [hp, ps, gs, ms, vs] = e.reserve([2 * ADAM_HYPER.length, ...[p, grad, m, v].map((x) => e.scratchFor(x, n))]) as [number, number, number, number, number]
  const hyper: Record<(typeof ADAM_HYPER)[number], number> = {
    beta1: h.beta1, c1: 1 - h.beta1, beta2: h.beta2, c2: 1 - h.beta2, negStepSize: -h.stepSize, bc2Sqrt: h.bc2Sqrt, eps: h.eps,
  }
  new Float64Array(e.f32.buffer, hp, ADAM_HYPER.length).set(ADAM_HYPER.map((k) => hyper[k]))
  const [pp, gp, mp, vp] = [e.input(p, ps), e.input(grad, gs), e.input(m, ms), e.input(v, vs)]
  const chunks = n < PARALLEL_ENTRIES ? 1 : 2 * e.threads
  e.run(bands(n, chunks, 4).map(([i, len]): Task => ({ fn: 'adam', args: [pp + 4 * i, gp + 4 * i, mp + 4 * i, vp + 4 * i, len, hp] })))
  e.copyOut(p, pp)
  e.copyOut(m, mp)
  e.copyOut(v, vp)
}
