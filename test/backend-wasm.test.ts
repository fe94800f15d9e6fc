// The wasm backend against the reference kernels. Float32 results are compared with the reference
// run in float64 on the same (float32-rounded) inputs, so the check measures the wasm kernel's
// own rounding: |wasm - ref64| <= atol + rtol * max|ref64| with atol 1e-4, rtol 1e-3.
// Pooling uses the same visiting order as the reference, so it must match it exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Conv2dGeometry, MatmulShape, Pool2dGeometry } from '../src/tensor/backends/backend.js'
import { ReferenceBackend } from '../src/tensor/backends/reference.js'
import { disposeBackends, getBackendInfo, listBackends, registerBackend } from '../src/tensor/backends/registry.js'
import { trainSteps } from './browser/train-steps.js'
import { WasmBackend, registerWasmBackend } from '../src/tensor/backends/wasm/index.js'
import { WasmEngine } from '../src/tensor/backends/wasm/engine.js'
import { Heap } from '../src/tensor/backends/wasm/heap.js'
import { nodeThreading } from '../src/tensor/backends/wasm/threads-node.js'
import { Generator } from '../src/tensor/generator.js'

const ref = new ReferenceBackend()
const spawn = nodeThreading().spawn
const ATOL = 1e-4
const RTOL = 1e-3

function randF32(n: number, rng: Generator): Float32Array {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1
  return a
}

function expectClose(got: Float32Array, want: Float64Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length)
  let scale = 0
  for (const v of want) scale = Math.max(scale, Math.abs(v))
  let worst = 0
  let at = -1
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!)
    if (!(err <= worst)) [worst, at] = [err, i]
  }
  const tol = ATOL + RTOL * scale
  expect(worst <= tol, `${what}: max abs err ${worst} at ${at} (got ${got[at]}, want ${want[at]}), tol ${tol}`).toBe(true)
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a)

// Bit-identical typed arrays (NaN payloads included); much faster than toEqual on 1e5 entries.
function expectSameBits(got: Float32Array | Float64Array | Int32Array, want: typeof got, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length)
  const a = new Uint8Array(got.buffer, got.byteOffset, got.byteLength)
  const b = new Uint8Array(want.buffer, want.byteOffset, want.byteLength)
  const i = a.findIndex((v, j) => v !== b[j])
  const at = Math.floor(i / got.BYTES_PER_ELEMENT)
  expect(i, `${what}: first difference at element ${at}: ${got[at]} vs ${want[at]}`).toBe(-1)
}

function convGeom(batch: number, c: number, h: number, w: number, o: number, kh: number, kw: number, stride: number, pad: number): Conv2dGeometry {
  const outHeight = Math.floor((h + 2 * pad - kh) / stride) + 1
  const outWidth = Math.floor((w + 2 * pad - kw) / stride) + 1
  return { batch, inChannels: c, inHeight: h, inWidth: w, outChannels: o, kernelHeight: kh, kernelWidth: kw,
    strideH: stride, strideW: stride, padH: pad, padW: pad, outHeight, outWidth }
}

function poolGeom(batch: number, c: number, h: number, w: number, k: number, stride: number, pad: number): Pool2dGeometry {
  return { batch, channels: c, inHeight: h, inWidth: w, kernelHeight: k, kernelWidth: k, strideH: stride, strideW: stride,
    padH: pad, padW: pad, outHeight: Math.floor((h + 2 * pad - k) / stride) + 1, outWidth: Math.floor((w + 2 * pad - k) / stride) + 1 }
}

function checkMatmul(be: WasmBackend, s: MatmulShape, seed: number): void {
  const rng = new Generator(seed)
  const a = randF32(s.batch * s.m * s.k, rng)
  const b = randF32(s.batch * s.k * s.n, rng)
  const out = new Float32Array(s.batch * s.m * s.n).fill(NaN)
  const want = new Float64Array(out.length)
  be.matmul(a, b, out, s)
  ref.matmul(f64(a), f64(b), want, s)
  expectClose(out, want, `matmul ${JSON.stringify(s)}`)
}

// float64 reference results, memoized: the cnn2 conv2 reference alone takes seconds per run
const convRefCache = new Map<string, [Float64Array, Float64Array, Float64Array]>()

function checkConv(be: WasmBackend, g: Conv2dGeometry, seed: number, withBias = true): void {
  const rng = new Generator(seed)
  const x = randF32(g.batch * g.inChannels * g.inHeight * g.inWidth, rng)
  const w = randF32(g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth, rng)
  const bias = withBias ? randF32(g.outChannels, rng) : null
  const gy = randF32(g.batch * g.outChannels * g.outHeight * g.outWidth, rng)
  const name = `conv ${JSON.stringify(g)}`
  const key = `${name} ${seed} ${withBias}`
  if (!convRefCache.has(key)) {
    const y64 = new Float64Array(gy.length)
    const gx64 = new Float64Array(x.length)
    const gw64 = new Float64Array(w.length)
    ref.conv2d(f64(x), f64(w), bias ? f64(bias) : null, y64, g)
    ref.conv2dGradInput(f64(gy), f64(w), gx64, g)
    ref.conv2dGradWeight(f64(gy), f64(x), gw64, g)
    convRefCache.set(key, [y64, gx64, gw64])
  }
  const [y64, gx64, gw64] = convRefCache.get(key)!
  const y = new Float32Array(gy.length).fill(NaN)
  be.conv2d(x, w, bias, y, g)
  expectClose(y, y64, `${name} forward`)
  const gx = new Float32Array(x.length).fill(NaN)
  be.conv2dGradInput(gy, w, gx, g)
  expectClose(gx, gx64, `${name} gradInput`)
  const gw = new Float32Array(w.length).fill(NaN)
  be.conv2dGradWeight(gy, x, gw, g)
  expectClose(gw, gw64, `${name} gradWeight`)
}

const MATMUL_SHAPES: [number, number, number, number][] = [
  // batch, m, n, k
  [1, 1, 1, 1], [1, 3, 5, 7], [1, 17, 129, 33], [1, 129, 17, 65], [1, 1, 300, 2], [1, 257, 3, 19],
  [1, 64, 40, 1025], [3, 17, 9, 13], [4, 33, 20, 70], [1, 130, 131, 300],
]
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]]

const CONVS: [string, Conv2dGeometry][] = [
  ['batch 1, odd sizes, 3x3 pad 1', convGeom(1, 3, 7, 9, 5, 3, 3, 1, 1)],
  ['1x1 kernel', convGeom(2, 6, 5, 5, 7, 1, 1, 1, 0)],
  ['5x5 kernel pad 2', convGeom(2, 3, 11, 10, 4, 5, 5, 1, 2)],
  ['stride 2 pad 1', convGeom(3, 4, 9, 8, 6, 3, 3, 2, 1)],
  ['stride 2 pad 0, 5x5', convGeom(1, 2, 13, 12, 3, 5, 5, 2, 0)],
  ['cnn2 conv1 [32,1,28,28]x[32,1,3,3] pad 1', convGeom(32, 1, 28, 28, 32, 3, 3, 1, 1)],
  ['cnn2 conv2 [32,32,14,14]x[64,32,3,3] pad 1', convGeom(32, 32, 14, 14, 64, 3, 3, 1, 1)],
  ['a late ResNet layer [4,64,4,4]x[32,64,3,3] pad 1 (one GEMM over the batch)', convGeom(4, 64, 4, 4, 32, 3, 3, 1, 1)],
]

describe.each([1, 2])('wasm backend, %i thread(s)', (threads) => {
  let be: WasmBackend
  // parallelFlops 0: every GEMM is split over the threads, even the tiny ones
  beforeAll(() => { be = new WasmBackend({ threads, parallelFlops: 0 }) })
  afterAll(() => be.dispose())

  it.each(TRANS.map(([ta, tb]) => [`transA=${ta} transB=${tb}`, ta, tb] as const))('matmul parity, %s, many shapes', (_n, transA, transB) => {
    MATMUL_SHAPES.forEach(([batch, m, n, k], i) => checkMatmul(be, { batch, m, n, k, transA, transB }, 100 + i))
  })

  it('matmul with k = 0 gives zeros', () => {
    const out = new Float32Array(6).fill(7)
    be.matmul(new Float32Array(0), new Float32Array(0), out, { batch: 1, m: 2, n: 3, k: 0, transA: false, transB: false })
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0])
  })

  it.each(CONVS)('conv2d forward, gradInput, gradWeight parity: %s', (_name, g) => {
    checkConv(be, g, 7)
  })

  it('conv2d without bias', () => checkConv(be, convGeom(2, 3, 6, 6, 4, 3, 3, 1, 1), 8, false))

  // A batch whose weight is bigger than an image's columns (K > S) runs as one GEMM over all the
  // images; one image alone runs the per-image path. Each output sums the same products in the
  // same order, so the images of the batch must equal the images run alone, bit for bit.
  it('conv2d as one GEMM over the batch gives the per-image bits (forward and gradInput)', () => {
    const g = convGeom(3, 16, 4, 5, 12, 3, 3, 1, 1) // K = 144 > S = 20
    const single = { ...g, batch: 1 }
    const rng = new Generator(9)
    const [x, w, bias, gy] = [randF32(3 * 16 * 20, rng), randF32(12 * 144, rng), randF32(12, rng), randF32(3 * 12 * 20, rng)]
    const [y, gx] = [new Float32Array(3 * 12 * 20), new Float32Array(3 * 16 * 20)]
    be.conv2d(x, w, bias, y, g)
    be.conv2dGradInput(gy, w, gx, g)
    for (let n = 0; n < 3; n++) {
      const [yn, gxn] = [new Float32Array(12 * 20), new Float32Array(16 * 20)]
      be.conv2d(x.slice(n * 320, (n + 1) * 320), w, bias, yn, single)
      be.conv2dGradInput(gy.slice(n * 240, (n + 1) * 240), w, gxn, single)
      expect(Array.from(y.subarray(n * 240, (n + 1) * 240)), `forward, image ${n}`).toEqual(Array.from(yn))
      expect(Array.from(gx.subarray(n * 320, (n + 1) * 320)), `gradInput, image ${n}`).toEqual(Array.from(gxn))
    }
  })
})

describe('wasm backend pooling (must equal the reference exactly)', () => {
  const one = new WasmBackend({ threads: 1 })
  const two = new WasmBackend({ threads: 2 })
  afterAll(() => {
    one.dispose()
    two.dispose()
  })
  const cases: [string, Pool2dGeometry, WasmBackend][] = [
    ['kernel 2 stride 2', poolGeom(2, 3, 8, 7, 2, 2, 0), one],
    ['kernel 2 stride 2, 2 threads, large', poolGeom(4, 8, 64, 63, 2, 2, 0), two],
    ['kernel 3 stride 2 pad 1', poolGeom(2, 3, 9, 8, 3, 2, 1), one],
    ['kernel 3 stride 1 pad 1 (overlapping windows)', poolGeom(1, 2, 5, 6, 3, 1, 1), one],
  ]
  it.each(cases)('max and avg pool, forward and backward: %s', (_name, g, be) => {
    const rng = new Generator(3)
    const n = g.batch * g.channels * g.inHeight * g.inWidth
    const no = g.batch * g.channels * g.outHeight * g.outWidth
    // rounded values make ties; a NaN checks that it wins as in the reference
    const x = Float32Array.from(randF32(n, rng), (v) => Math.round(v * 3))
    // NaNs in two rows of one window (and a lone one): the reference's tap order decides the argmax
    x[5] = NaN
    x[5 + g.inWidth] = NaN
    x[4 + 2 * g.inWidth] = NaN
    x[5 + 3 * g.inWidth] = NaN
    x[n - 3] = NaN
    const gy = randF32(no, rng)
    const [o1, o2] = [new Float32Array(no), new Float32Array(no)]
    const [i1, i2] = [new Int32Array(no), new Int32Array(no)]
    be.maxPool2d(x, o1, i1, g)
    ref.maxPool2d(x, o2, i2, g)
    expectSameBits(o1, o2, 'maxPool2d')
    expectSameBits(i1, i2, 'maxPool2d argmax')
    const [gx1, gx2] = [new Float32Array(n), new Float32Array(n)]
    be.maxPool2dBackward(gy, i1, gx1, g)
    ref.maxPool2dBackward(gy, i2, gx2, g)
    expectSameBits(gx1, gx2, 'maxPool2dBackward')
    be.avgPool2d(x, o1, g)
    ref.avgPool2d(x, o2, g)
    expectSameBits(o1, o2, 'avgPool2d')
    be.avgPool2dBackward(gy, gx1, g)
    ref.avgPool2dBackward(gy, gx2, g)
    expectSameBits(gx1, gx2, 'avgPool2dBackward')
  })
})

describe('wasm backend: float64, lifecycle, determinism, registration', () => {
  it('float64 inputs run on the reference kernels (identical results)', () => {
    const be = new WasmBackend({ threads: 1 })
    const rng = new Generator(4)
    const s: MatmulShape = { batch: 2, m: 5, n: 4, k: 3, transA: false, transB: true }
    const a = f64(randF32(30, rng))
    const b = f64(randF32(24, rng))
    const [o1, o2] = [new Float64Array(40), new Float64Array(40)]
    be.matmul(a, b, o1, s)
    ref.matmul(a, b, o2, s)
    expect(o1).toEqual(o2)
    const g = convGeom(1, 2, 5, 5, 3, 3, 3, 1, 1)
    const x = f64(randF32(50, rng))
    const w = f64(randF32(54, rng))
    const [y1, y2] = [new Float64Array(75), new Float64Array(75)]
    be.conv2d(x, w, null, y1, g)
    ref.conv2d(x, w, null, y2, g)
    expect(y1).toEqual(y2)
    be.dispose()
  })

  it('dispose() terminates; a disposed backend throws; a fresh backend works', () => {
    const be = new WasmBackend({ threads: 2, parallelFlops: 0 })
    checkMatmul(be, { batch: 1, m: 40, n: 40, k: 40, transA: false, transB: false }, 5)
    be.dispose()
    expect(() => be.matmul(new Float32Array(1), new Float32Array(1), new Float32Array(1), { batch: 1, m: 1, n: 1, k: 1, transA: false, transB: false }))
      .toThrow(/after dispose/)
    const fresh = new WasmBackend({ threads: 2, parallelFlops: 0 })
    checkMatmul(fresh, { batch: 1, m: 40, n: 40, k: 40, transA: false, transB: false }, 5)
    fresh.dispose()
  })

  it('a trap in a worker or the caller is reported as an error, and the pool keeps working', () => {
    const e = new WasmEngine({ threads: 2, parallelFlops: 0, spawn })
    // im2col reads its geometry table from an address past the end of memory: every task traps
    const bad = { fn: 'im2col', args: [0x7ffffff0, 0, 0, 1, 0, 1, 0, 1] }
    for (let r = 0; r < 3; r++) expect(() => e.run([bad, bad, bad, bad])).toThrow(/out of bounds/)
    // 64x64x64 ones: 4 column-band tasks over both threads
    const [a, b, c] = e.reserve([4096, 4096, 4096]) as [number, number, number]
    e.f32.fill(1, a / 4, a / 4 + 4096)
    e.f32.fill(1, b / 4, b / 4 + 4096)
    e.gemm({ batch: 1, m: 64, n: 64, k: 64, a, ars: 256, acs: 4, sa: 0, b, brs: 256, bcs: 4, sb: 0, c, ldc: 256, sc: 0 })
    expect(e.f32.subarray(c / 4, c / 4 + 4096).every((v) => v === 64)).toBe(true)
    e.dispose()
  })

  it("run(tasks, meanwhile): the caller's own work runs while the workers take tasks; its error is thrown once every worker is done", () => {
    for (const threads of [1, 2]) {
      const e = new WasmEngine({ threads, parallelFlops: 0, spawn })
      const [a, b, c] = e.reserve([4096, 4096, 4096]) as [number, number, number]
      e.f32.fill(1, a / 4, a / 4 + 4096)
      e.f32.fill(1, b / 4, b / 4 + 4096)
      const gemm = { batch: 1, m: 64, n: 64, k: 64, a, ars: 256, acs: 4, sa: 0, b, brs: 256, bcs: 4, sb: 0, c, ldc: 256, sc: 0 }
      const args = [1, 0, 0, 0, a, 256, 4, b, 256, 4, c, 256, 64, 64, 64, 64, 64, 64, 0]
      let ran = 0
      e.run([{ fn: 'gemm', args }], () => ran++)
      expect(ran).toBe(1)
      expect(e.f32.subarray(c / 4, c / 4 + 4096).every((v) => v === 64)).toBe(true)
      e.f32.fill(0, c / 4, c / 4 + 4096)
      const quarter = (i: number) => ({ fn: 'gemm', args: [1, 0, 0, 0, a, 256, 4, b + 64 * i, 256, 4, c + 64 * i, 256, 64, 16, 64, 64, 64, 16, 0] })
      expect(() => e.run([0, 1, 2, 3].map(quarter), () => { throw new Error('meanwhile failed') })).toThrow('meanwhile failed')
      // no worker is left writing (the caller skips the tasks it claims once it has an error), and the engine keeps working
      expect(e.f32.subarray(c / 4, c / 4 + 4096).every((v) => v === 64 || v === 0)).toBe(true)
      e.gemm(gemm)
      expect(e.f32.subarray(c / 4, c / 4 + 4096).every((v) => v === 64)).toBe(true)
      e.dispose()
    }
  })

  it('results are bit-identical from run to run and between 1 and 2 threads', () => {
    const [one, two] = [new WasmBackend({ threads: 1 }), new WasmBackend({ threads: 2, parallelFlops: 0 })]
    const rng = new Generator(6)
    const s: MatmulShape = { batch: 1, m: 200, n: 300, k: 700, transA: true, transB: false }
    const a = randF32(200 * 700, rng)
    const b = randF32(700 * 300, rng)
    const g = convGeom(8, 16, 14, 14, 32, 3, 3, 1, 1)
    const gy = randF32(8 * 32 * 14 * 14, rng)
    const x = randF32(8 * 16 * 14 * 14, rng)
    const run = (be: WasmBackend): [Float32Array, Float32Array] => {
      const out = new Float32Array(200 * 300)
      be.matmul(a, b, out, s)
      const gw = new Float32Array(32 * 16 * 9)
      be.conv2dGradWeight(gy, x, gw, g)
      return [out, gw]
    }
    const first = run(two)
    for (let r = 0; r < 3; r++) run(two).forEach((x, i) => expectSameBits(x, first[i]!, `2 threads, run ${r + 2}, output ${i}`))
    run(one).forEach((x, i) => expectSameBits(x, first[i]!, `1 thread vs 2 threads, output ${i}`))
    // the helper thread did take tasks (a worker that is slow to start leaves them to the caller)
    const helperTasks = (): number => Number(two.info().details?.['helperTasks'])
    for (const t0 = Date.now(); helperTasks() === 0 && Date.now() - t0 < 5000;) run(two)
    expect(helperTasks()).toBeGreaterThan(0)
    one.dispose()
    two.dispose()
  })

  it('a full memory still meets a request from merged free neighbours (a fixed-size memory cannot grow)', () => {
    const KiB = 1024
    const memory = { buffer: new ArrayBuffer(1024 * KiB), grow: (): number => { throw new Error('a fixed memory never grows') } }
    const heap = new Heap(memory, 0, 1024 * KiB)
    const [a, b, c, d] = [0, 1, 2, 3].map(() => heap.alloc(256 * KiB)) as number[]
    expect([a, b, c, d]).toEqual([0, 256 * KiB, 512 * KiB, 768 * KiB])
    expect(heap.alloc(64)).toBeNull()
    heap.release(b!)
    heap.release(c!)
    // two free 256 KiB neighbours make the 512 KiB block
    expect(heap.alloc(512 * KiB)).toBe(b)
    heap.release(d!)
    // the free block at the top goes back to the bump pointer, the rest of a run stays free
    expect(heap.alloc(96 * KiB)).toBe(768 * KiB)
    expect(heap.alloc(128 * KiB)).toBe(768 * KiB + 96 * KiB)
    expect(heap.alloc(32 * KiB)).toBe(768 * KiB + 224 * KiB)
    expect(heap.alloc(64)).toBeNull()
    expect(heap.liveBlocks).toBe(5)
    // a fixed-size memory takes small blocks from its far end, so they never split the large ones' space
    const MiB = 1024 * KiB
    const fixed = new Heap({ buffer: new ArrayBuffer(4 * MiB), grow: memory.grow }, 0, 4 * MiB, true)
    expect(fixed.alloc(4)).toBe(4 * MiB - 64)
    expect(fixed.alloc(MiB)).toBe(0)
    expect(fixed.alloc(100)).toBe(4 * MiB - 64 - 128)
    expect(fixed.alloc(MiB)).toBe(MiB)
  })

  it('without SharedArrayBuffer (a page that is not cross-origin isolated) the memory is plain and fixed, one thread, the same bits', () => {
    // Three Adam steps of mlp with the activations resident in WASM memory: on a shared memory with
    // 2 threads, and on a plain fixed-size one, which is what a page without SharedArrayBuffer gets.
    const train = (make: () => WasmBackend): { losses: number[]; info: ReturnType<WasmBackend['info']> } => {
      const be = make()
      registerBackend('wasm-test', () => be)
      const { losses } = trainSteps('wasm-test', 3)
      const info = be.info()
      disposeBackends()
      return { losses, info }
    }
    const shared = train(() => new WasmBackend({ threads: 2, parallelFlops: 0 }))
    const sab = globalThis.SharedArrayBuffer
    let plain: typeof shared
    try {
      delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer
      plain = train(() => new WasmBackend({ threads: 2, parallelFlops: 0, fixedMiB: 64 }))
    } finally {
      globalThis.SharedArrayBuffer = sab
    }
    expect(shared.info.details).toMatchObject({ threads: 2, memory: 'shared, grows' })
    expect(plain.info.details).toMatchObject({ threads: 1, memory: 'fixed 64 MiB' })
    expect(plain.info.description).toMatch(/1 thread.*no SharedArrayBuffer/)
    expect(plain.losses).toEqual(shared.losses)
  })

  it.skipIf(process.env['PRIORGRAD_BACKEND'] !== undefined)('registerWasmBackend registers "wasm" and makes it the default', () => {
    registerWasmBackend()
    expect(listBackends()).toContain('wasm')
    const info = getBackendInfo()
    expect(info.name).toBe('wasm')
    expect(info.reason).toMatch(/WebAssembly SIMD/)
    disposeBackends()
  })
})
