// The optimizer update primitives (Backend.adamUpdate, sgdUpdate) on the wasm backend against the reference
// loop, bit for bit: the plain case runs the SIMD kernel (float64 arithmetic on float32 lanes,
// wasm/adam-kernels.ts), on lengths that leave a scalar tail and on ones big enough to be split
// over two threads; the other cases (weight decay, AdamW, amsgrad, maximize, float64) fall back
// to the reference loop.
import { afterAll, describe, expect, it } from 'vitest'
import type { AdamUpdate, FloatArray } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { WasmBackend } from '../src/tensor/backends/wasm/index.js'
import { Generator } from '../src/tensor/generator.js'

const reference = new ReferenceBackend()
const wasm = new WasmBackend({ threads: 2 })
afterAll(() => wasm.dispose())

function hyper(step: number, extra: Partial<AdamUpdate> = {}): AdamUpdate {
  const [beta1, beta2, lr] = [0.9, 0.999, 1e-3]
  return { beta1, beta2, stepSize: lr / (1 - beta1 ** step), bc2Sqrt: Math.sqrt(1 - beta2 ** step), eps: 1e-8, weightDecay: 0, decoupled: false, decay: 1, maximize: false, ...extra }
}

// Three steps from the same start on both backends; every array compared after each step.
function agree(n: number, make: (n: number) => FloatArray, extra: Partial<AdamUpdate> = {}, amsgrad = false): void {
  const g = new Generator(n)
  const fill = (a: FloatArray, scale: number): FloatArray => a.map(() => (g.uniform() - 0.5) * scale)
  const start = [fill(make(n), 2), fill(make(n), 0.1), fill(make(n), 1e-3)]
  const [ref, fast] = [0, 1].map(() => ({ p: start[0]!.slice(), m: make(n), v: make(n), vMax: amsgrad ? make(n) : null }))
  for (let step = 1; step <= 3; step++) {
    const grad = fill(make(n), 0.1)
    if (n > 2) grad[1] = 0 // a zero gradient: v stays 0 only through eps
    reference.adamUpdate(ref!.p, grad, ref!.m, ref!.v, ref!.vMax, hyper(step, extra))
    wasm.adamUpdate(fast!.p, grad, fast!.m, fast!.v, fast!.vMax, hyper(step, extra))
    for (const k of ['p', 'm', 'v'] as const) expect(Array.from(fast![k]), `${k} after step ${step}, n=${n}`).toEqual(Array.from(ref![k]))
  }
}

describe('adamUpdate: wasm agrees with the reference loop bit for bit', () => {
  const f32 = (n: number): Float32Array => new Float32Array(n)
  it.each([1, 3, 4, 5, 8, 67, 70001])('plain Adam, float32, %i entries (SIMD kernel)', (n) => agree(n, f32))
  it.each([
    ['Adam with weight decay', { weightDecay: 0.01 }],
    ['AdamW', { weightDecay: 0.01, decoupled: true, decay: 1 - 1e-3 * 0.01 }],
    ['maximize', { maximize: true }],
  ] as const)('%s (reference loop)', (_name, extra) => agree(37, f32, extra))
  it('amsgrad (reference loop)', () => agree(37, f32, {}, true))
  it('float64 (reference loop)', () => agree(37, (n) => new Float64Array(n)))

  it('counts one kernel call per update, with the copies of the SIMD path', () => {
    const b = new WasmBackend({ threads: 1 })
    try {
      const a = (): Float32Array => new Float32Array(10)
      b.adamUpdate(a(), a(), a(), a(), null, hyper(1))
      expect(b.counters()).toMatchObject({ kernelCalls: 1, uploads: 4, downloads: 3, uploadBytes: 160, downloadBytes: 120 })
      b.adamUpdate(a(), a(), a(), a(), a(), hyper(1))
      expect(b.counters()).toMatchObject({ kernelCalls: 2, uploads: 4, downloads: 3 })
    } finally {
      b.dispose()
    }
  })
})

describe('sgdUpdate: every backend runs the reference loop, bit for bit', () => {
  const cases = [
    ['plain', { momentum: 0 }],
    ['momentum 0.9, dampening 0.1, weight decay', { momentum: 0.9, dampening: 0.1, weightDecay: 1e-2 }],
    ['nesterov, maximize', { momentum: 0.9, nesterov: true, maximize: true }],
  ] as const
  it.each(cases)('%s', (_name, extra) => {
    const g = new Generator(3)
    const n = 70001
    const p0 = Float32Array.from({ length: n }, () => g.uniform() - 0.5)
    const runs = [reference, wasm].map((b) => {
      const p = p0.slice()
      const buf = extra.momentum !== 0 ? new Float32Array(n) : null
      for (let step = 0; step < 3; step++) {
        const grad = Float32Array.from({ length: n }, (_, i) => Math.sin(i + step))
        b.sgdUpdate(p, grad, buf, { lr: 0.01, dampening: 0, nesterov: false, weightDecay: 0, maximize: false, ...extra, first: step === 0 })
      }
      return [p, buf]
    })
    expect(Array.from(runs[1]![0]!)).toEqual(Array.from(runs[0]![0]!))
    expect(runs[0]![0]).not.toEqual(p0) // it moved
  })
})
