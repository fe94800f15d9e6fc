// Tensors that stay on their backend (src/tensor/device-copy.ts): on gpujs every kernel's output
// is kept on the device and read back only when the host asks. Checked on GPU.js's webasm mode
// here (headless-gl under Xvfb runs the same steps in test/gl/parity-headlessgl.ts): a training
// step moves the batch in and the loss out and nothing else, its memory stays flat, values
// read on demand are right, and the errors for misuse name the op.
import { afterAll, describe, expect, it } from 'vitest'
import { backendStats, cat, disposeBackends, pad, registerGpujsBackend, setBackend, statsSince, tensor, tidy, type Tensor } from '../src/index.js'
import { deviceCopyOf } from '../src/tensor/device-copy.js'
import { cnn2Residency } from './gl/cnn2-training.js'

registerGpujsBackend()
afterAll(() => disposeBackends())

describe('gpujs-webasm: a cnn2 training step stays on the device', () => {
  it('after the first step (which uploads the weights and the optimizer state once): 2 uploads (images, labels), 1 download (the loss), liveBuffers flat over 100 steps', () => {
    setBackend('gpujs-webasm')
    const { stats, losses } = cnn2Residency(100, 1)
    expect(stats[0]!.uploads).toBe(2 + 8 + 16)
    for (const [s, st] of stats.slice(1).entries()) {
      expect(st, `step ${s + 1}`).toMatchObject({ uploads: 2, downloads: 1, downloadBytes: 4, uploadBytes: 4 * (784 + 1), liveBuffers: 0 })
    }
    // the same steps on wasm: the losses agree to float32 rounding
    setBackend('wasm')
    const wasm = cnn2Residency(5, 1).losses
    for (let s = 0; s < 5; s++) expect(Math.abs(losses[s]! - wasm[s]!)).toBeLessThanOrEqual(1e-4 * Math.abs(wasm[s]!))
  }, 120_000)
})

describe('gpujs-webasm: values come back on demand', () => {
  it('.data reads the device copy once and drops it (the caller may write); item(), toArray(), toTypedArray() and printing keep it', () => {
    setBackend('gpujs-webasm')
    const x = tensor([1, 2, 3, 4])
    const y = x.mul(2).add(1) // two kernels; x uploaded once, y on the device
    expect(deviceCopyOf(y.buffer('test'))?.hostStale).toBe(true)
    const before = backendStats()
    expect(y.toArray()).toEqual([3, 5, 7, 9])
    expect(String(y)).toContain('9.')
    expect(y.sum().item()).toBe(24)
    const copy = y.toTypedArray()
    expect(copy).toEqual(new Float32Array([3, 5, 7, 9]))
    copy[0] = -1 // a copy: the tensor does not change
    expect(statsSince(before, backendStats())).toMatchObject({ uploads: 0, downloads: 2 }) // y once, the sum once
    expect(deviceCopyOf(y.buffer('test'))?.hostStale).toBe(false)
    // writing through .data: the device copy goes, and the next kernel uploads the new values
    y.data[0] = 100
    expect(deviceCopyOf(y.buffer('test'))).toBeUndefined()
    expect(y.add(0).toArray()).toEqual([100, 5, 7, 9])
  })

  it('tidy() frees the textures of the scope; a kept tensor keeps its values on the device', () => {
    setBackend('gpujs-webasm')
    const x = tensor([1, 2, 3])
    x.add(0) // x uploaded, outside any scope
    const live = backendStats().liveBuffers
    const kept = tidy(() => {
      const a = x.mul(3)
      const b = a.exp().log() // temporaries: freed when the scope ends
      return b.add(1)
    })
    expect(backendStats().liveBuffers).toBe(live + 1) // the kept result only
    expect(deviceCopyOf(kept.buffer('test'))?.hostStale).toBe(true)
    expect((kept.toArray() as number[]).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([4, 7, 10])
  })
})

describe('gpujs-webasm: the copying ops stay on the device', () => {
  it('indexSelect, cat, narrow, pad and permute, forward and backward: the same values as wasm, nothing read back until the end', () => {
    const run = (): { value: number[]; grad: number[]; downloads: number } => {
      const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], { requiresGrad: true })
      const idx = tensor([3, 0, 3], { dtype: 'int32' })
      const before = backendStats()
      const y = pad(cat([x.indexSelect(0, idx), x.narrow(0, 1, 2)], 0), [1, 0], 0).permute([1, 0])
      const loss = y.mul(y).sum()
      loss.backward()
      const downloads = statsSince(before, backendStats()).downloads
      return { value: y.toArray() as unknown as number[], grad: x.grad!.toArray() as unknown as number[], downloads }
    }
    setBackend('wasm')
    const want = run()
    setBackend('gpujs-webasm')
    const got = run()
    expect(got.downloads).toBe(0)
    expect(got.value).toEqual(want.value)
    expect(got.grad).toEqual(want.grad)
  })
})

describe('gpujs-webasm: dispose() frees a texture outside any scope', () => {
  it('once every tensor on the array is disposed (a shared array keeps its texture until the last goes)', () => {
    setBackend('gpujs-webasm')
    const y = tensor([1, 2, 3]).mul(2)
    const view = y.reshape([3, 1]) // shares y's array
    const live = backendStats().liveBuffers
    y.dispose()
    expect(backendStats().liveBuffers).toBe(live) // the view still needs it
    expect(view.toArray()).toEqual([[2], [4], [6]])
    view.dispose()
    expect(backendStats().liveBuffers).toBe(live - 1)
  })
})

describe('misuse is an error naming the op', () => {
  it('a tensor on gpujs used while wasm is active names the op and both backends', () => {
    setBackend('gpujs-webasm')
    const y = tensor([1, 2]).mul(2)
    setBackend('wasm')
    expect(() => y.add(1)).toThrow(/^add: a \[2\] tensor lives on backend 'gpujs-webasm' but the active backend is 'wasm'; move it with \.to\('wasm'\)/)
    // moving is explicit, as PyTorch's .to(device): a copy on the host, which wasm takes
    const moved = y.to('wasm')
    expect(Array.from(moved.add(1).data)).toEqual([3, 5])
    expect(() => y.to('tpu')).toThrow(/^to: 'tpu' is neither a dtype \(float32, float64, int32\) nor a backend \(reference, wasm/)
  })

  it('a disposed tensor on gpujs: using or reading it names the op', () => {
    setBackend('gpujs-webasm')
    let t: Tensor | null = null
    tidy(() => {
      t = tensor([1, 2]).mul(2)
      t.dispose()
    })
    expect(() => t!.add(1)).toThrow(/^add: this \[2\] tensor was released/)
    expect(() => t!.item()).toThrow(/^item: this \[2\] tensor was released/)
  })
})
