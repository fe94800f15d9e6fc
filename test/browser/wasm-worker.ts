// A Web Worker that trains mlp on the WebAssembly backend with 2 threads (helpers started from
// /wasm-thread.js, the text of wasmThreadScript()) and on 1 thread, and posts both runs' losses
// (the GEMM split does not change any result bit), the backend's info and how many tasks the
// helper threads ran. It first runs products until a helper has taken a task (a nested worker
// starts asynchronously; until then the caller takes every task), yielding in between.
import { WasmBackend, browserThreading, getBackendInfo, matmul, randn, registerBackend, registerWasmBackend, setBackend, tidy, type BackendInfo } from '../../src/browser.js'
import { trainSteps } from './train-steps.js'

const self_ = globalThis as unknown as { postMessage(data: unknown): void }

async function main(): Promise<void> {
  registerWasmBackend({ threading: browserThreading('/wasm-thread.js'), threads: 2, parallelFlops: 0 })
  registerBackend('wasm-one-thread', () => new WasmBackend({ threads: 1 }))
  setBackend('wasm')
  const started = Date.now()
  const helperTasks = (): number => Number(getBackendInfo().details?.['helperTasks'] ?? 0)
  const a = randn([128, 128])
  while (helperTasks() === 0 && Date.now() - started < 10_000) {
    tidy(() => matmul(a, a).sum().item())
    await new Promise((r) => setTimeout(r, 10))
  }
  const waitedMs = Date.now() - started
  const two = trainSteps('wasm')
  const info: BackendInfo = getBackendInfo()
  const one = trainSteps('wasm-one-thread')
  const oneInfo = getBackendInfo()
  self_.postMessage({ two, one, info, oneInfo, waitedMs })
}

main().catch((e: unknown) => self_.postMessage({ error: String((e as Error).stack ?? e) }))
