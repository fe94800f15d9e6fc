// The pure part of the gpujs benchmark (no Node APIs), shared by bench/gpujs.ts in Node and
// the browser page that times GPU.js's webgl2 mode in headless Chromium: the tasks (matmul
// N = 128, 256, 512 and cnn2's two conv2d shapes, batch 32) and how one backend is timed.
// Times include upload and readback: the median of 3-5 calls after one warm-up call (which
// compiles); before each call the inputs' device copies are dropped (so they are uploaded again)
// and after it the output is read back (src/tensor/device-copy.ts).
import type { Backend, Conv2dGeometry, MatmulShape } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { GpujsBackend } from '../src/tensor/backends/gpujs/gpujs-backend.js'
import type { GpujsMode } from '../src/tensor/backends/gpujs/modes.js'
import { Generator } from '../src/tensor/generator.js'
import { dropDeviceCopy, syncHost } from '../src/tensor/device-copy.js'

export interface GpujsBenchRow {
  kernel: string
  shape: string
  backend: string
  /** GPU.js mode that really ran ('-' for non-GPU.js backends) */
  mode: string
  medianMs: number
  gflops: number
  /** max |got - float64 reference| */
  maxAbsErr: number
}

export interface Task {
  kernel: string
  shape: string
  flops: number
  inputs: Float32Array[]
  outLength: number
  run(b: Backend, inputs: Float32Array[], out: Float32Array): void
  /** the float64 reference of the same float32 inputs */
  reference(want: Float64Array): void
  want?: Float64Array
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a)

function rand(n: number, rng: Generator): Float32Array {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1
  return a
}

function conv(batch: number, c: number, hw: number, o: number): Conv2dGeometry {
  return {
    batch, inChannels: c, inHeight: hw, inWidth: hw, outChannels: o, kernelHeight: 3, kernelWidth: 3,
    strideH: 1, strideW: 1, padH: 1, padW: 1, outHeight: hw, outWidth: hw,
  }
}

export function tasks(): Task[] {
  const rng = new Generator(0)
  const list: Task[] = []
  for (const n of [128, 256, 512]) {
    const s: MatmulShape = { batch: 1, m: n, k: n, n, transA: false, transB: false }
    list.push({
      kernel: 'matmul', shape: `${n}x${n}x${n}`, flops: 2 * n ** 3, inputs: [rand(n * n, rng), rand(n * n, rng)], outLength: n * n,
      run: (b, [a, bb], out) => b.matmul(a!, bb!, out, s),
      reference(want) { new ReferenceBackend().matmul(f64(this.inputs[0]!), f64(this.inputs[1]!), want, s) },
    })
  }
  // cnn2: Conv2d(1->32, 3x3, pad 1) on 28x28, then Conv2d(32->64, 3x3, pad 1) on 14x14; batch 32.
  for (const g of [conv(32, 1, 28, 32), conv(32, 32, 14, 64)]) {
    const outLength = g.batch * g.outChannels * g.outHeight * g.outWidth
    list.push({
      kernel: 'conv2d',
      shape: `x[${g.batch},${g.inChannels},${g.inHeight},${g.inWidth}] w[${g.outChannels},${g.inChannels},3,3] pad 1`,
      flops: 2 * outLength * g.inChannels * 9,
      inputs: [rand(g.batch * g.inChannels * g.inHeight * g.inWidth, rng), rand(g.outChannels * g.inChannels * 9, rng), rand(g.outChannels, rng)],
      outLength,
      run: (b, [x, w, bias], out) => b.conv2d(x!, w!, bias!, out, g),
      reference(want) { new ReferenceBackend().conv2d(f64(this.inputs[0]!), f64(this.inputs[1]!), f64(this.inputs[2]!), want, g) },
    })
  }
  return list
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

export function timeTask(t: Task, b: Backend, mode: string): GpujsBenchRow {
  const out = new Float32Array(t.outLength)
  // one call as from host arrays: the inputs uploaded, the output read back
  const call = (): void => {
    for (const a of t.inputs) dropDeviceCopy(a)
    t.run(b, t.inputs, out)
    syncHost(out, false)
  }
  call() // warm-up: compiles the kernel
  const reps = t.flops > 1e8 ? 3 : 5
  const ms: number[] = []
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now()
    call()
    ms.push(performance.now() - t0)
  }
  for (const a of [...t.inputs, out]) dropDeviceCopy(a) // the next backend starts from the host arrays
  let err = 0
  for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i]! - t.want![i]!))
  const m = median(ms)
  return { kernel: t.kernel, shape: t.shape, backend: b.name, mode, medianMs: +m.toFixed(2), gflops: +(t.flops / m / 1e6).toFixed(3), maxAbsErr: err }
}

export function wantFloat64(t: Task): Float64Array {
  const want = new Float64Array(t.outLength)
  t.reference(want)
  return want
}

/** Rows for the given GPU.js modes in this process (no reference rows). */
export function benchGpujsModes(modes: GpujsMode[]): GpujsBenchRow[] {
  const list = tasks()
  for (const t of list) t.want = wantFloat64(t)
  const rows: GpujsBenchRow[] = []
  for (const mode of modes) {
    const b = new GpujsBackend({ mode, name: `gpujs-${mode}` })
    const ran = String(b.info().details?.['gpujsMode'])
    for (const t of list) rows.push(timeTask(t, b, ran))
    b.dispose()
  }
  return rows
}

