// Page for test/browser-entry.test.ts's threads case: the page is cross-origin isolated (COOP +
// COEP), starts ./wasm-worker.ts as a Web Worker and puts its report on window.__result.
interface WorkerLike { onmessage: ((e: { data: unknown }) => void) | null; onerror: ((e: { message: string }) => void) | null }
const w = globalThis as unknown as { __result?: unknown; crossOriginIsolated: boolean; Worker: new (url: string) => WorkerLike }

const worker = new w.Worker('/worker.js')
worker.onmessage = (e) => { w.__result = { ...(e.data as object), pageIsolated: w.crossOriginIsolated } }
worker.onerror = (e) => { w.__result = { error: `worker: ${e.message}` } }
