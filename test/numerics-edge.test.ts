// Numerical edge cases pinned by known answers from PyTorch 1.13 (test/fixtures/edge-cases.json,
// written by tools/fixtures/gen_edge.py): logsumexp/softmax/logSoftmax/crossEntropy on rows with
// -inf (all or some), +inf, NaN and huge logits, and maxPool2d with its gradient on tied windows.
// Backend-vs-backend tests cannot pin these rules (a change made everywhere passes them), so every
// backend runs every case against the same answers, in float64 and in float32 (the inputs are
// dyadic, exact in float32, so ties stay ties; float32 maxPool2d runs each backend's own kernels).
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as pg from '../src/index.js'
import { F, Tensor, disposeBackends, getBackend, setBackend, tensor, type GpujsStats } from '../src/index.js'

type Num = number | 'inf' | '-inf' | 'nan'
interface Arr {
  shape: number[]
  data: Num[]
  dtype?: 'float64' | 'int32'
  requiresGrad?: boolean
}
interface Case {
  id: string
  op: string
  args: Record<string, any>
  inputs: Arr[]
  output: Arr
  gradOut: Arr
  grads: (Arr | null)[]
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/edge-cases.json', import.meta.url), 'utf8')) as { cases: Case[] }

// JSON holds no -inf/inf/NaN: the generator writes them as strings.
const NON_FINITE: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN }
function decode(v: Num): number {
  if (typeof v === 'number') return v
  if (!(v in NON_FINITE)) throw new Error(`edge-cases.json: unknown value ${JSON.stringify(v)} (expected a number, "inf", "-inf" or "nan")`)
  return NON_FINITE[v]!
}

type Run = (xs: Tensor[], a: Record<string, any>) => Tensor
const runners: Record<string, Run> = {
  logsumexp: ([x], a) => pg.logsumexp(x!, a.dim, a.keepdim ?? false),
  softmax: ([x], a) => pg.softmax(x!, a.dim),
  logSoftmax: ([x], a) => pg.logSoftmax(x!, a.dim),
  crossEntropy: ([z, t]) => F.crossEntropy(z!, t!),
  maxPool2d: ([x], a) => F.maxPool2d(x!, a.kernelSize, { stride: a.stride, padding: a.padding }),
}

function toTensor(a: Arr, dtype: 'float64' | 'float32'): Tensor {
  const t = tensor(a.data.map(decode), { dtype: a.dtype === 'int32' ? 'int32' : dtype, shape: a.shape })
  if (a.requiresGrad) t.requiresGrad = true
  return t
}

// NaN where PyTorch has NaN, the same infinity where it has one, and finite values within
// 1e-12 + 1e-9|e| (float64, as test/torch-parity.test.ts) or 1e-4 + 1e-3|e| (float32).
function expectMatch(actual: Tensor, expected: Arr, dtype: string, what: string): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape)
  const [atol, rtol] = dtype === 'float64' ? [1e-12, 1e-9] : [1e-4, 1e-3]
  const bad: string[] = []
  expected.data.map(decode).forEach((e, i) => {
    const v = actual.data[i]!
    const ok = Number.isNaN(e) ? Number.isNaN(v) : !Number.isFinite(e) ? v === e : Math.abs(v - e) <= atol + rtol * Math.abs(e)
    if (!ok) bad.push(`[${i}] got ${v}, PyTorch ${e}`)
  })
  expect(bad, `${what}: entries that differ from PyTorch`).toEqual([])
}

const BACKENDS = ['reference', 'wasm', 'gpujs-webasm', 'gpujs-cpu']

describe.each(BACKENDS)('numerical edge cases against PyTorch 1.13 on %s', (backend) => {
  beforeAll(() => {
    setBackend(backend)
  })
  afterAll(() => disposeBackends())

  it('has a runner for every fixture op, and the cases the issue names', () => {
    expect(fixtures.cases.map((c) => c.op).filter((op) => !(op in runners))).toEqual([])
    const ids = fixtures.cases.map((c) => c.id)
    for (const id of ['logsumexp [1,3] all -inf', 'logsumexp [2] huge pair', 'softmax [1,3] some -inf', 'maxPool2d [1,2,4,10] k2 ties']) {
      expect(ids).toContain(id)
    }
  })

  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of fixtures.cases) {
      it(`${dtype}: ${c.id}`, () => {
        const xs = c.inputs.map((a) => toTensor(a, dtype))
        const out = runners[c.op]!(xs, c.args)
        expect(out.dtype).toBe(dtype)
        expectMatch(out, c.output, dtype, 'output')
        out.backward(toTensor(c.gradOut, dtype))
        c.grads.forEach((g, i) => {
          if (!g) return
          expect(xs[i]!.grad, `grad of input ${i}`).not.toBeNull()
          expectMatch(xs[i]!.grad!, g, dtype, `grad of input ${i}`)
        })
      })
    }
  }

  it.skipIf(!backend.startsWith('gpujs'))('ran the float32 maxPool2d cases on GPU.js kernels, not only on the reference fallback', () => {
    const stats = (getBackend() as unknown as { stats(): GpujsStats }).stats()
    expect(stats.runs).toBeGreaterThan(0)
  })
})
