// Browser entry for test/browser-entry.test.ts, bundled by esbuild: imports priorgrad's browser
// entry (src/browser.ts, what package.json's "browser" condition gives a bundler) and trains the
// zoo's mlp for 5 Adam steps on GPU.js (WebGL2 in the page), on the WebAssembly backend (on the
// page's main thread: one thread, a plain fixed-size memory) and on the reference backend. The
// page is served with a strict Content-Security-Policy; violations land in `violations`.
import { getBackendInfo } from '../../src/browser.js'
import { trainSteps } from './train-steps.js'

// (the project's TypeScript has no DOM types: the page's globals are typed here)
interface Violation { violatedDirective: string; blockedURI: string }
const w = globalThis as unknown as { __result?: unknown; document: { addEventListener(type: string, f: (e: Violation) => void): void } }
const violations: string[] = []
w.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`))

function main(): void {
  try {
    const gpu = trainSteps('gpujs')
    const info = getBackendInfo()
    const wasm = trainSteps('wasm')
    const wasmInfo = getBackendInfo()
    const reference = trainSteps('reference')
    w.__result = { gpu, wasm, reference, info, wasmInfo, violations }
  } catch (e) {
    w.__result = { error: String((e as Error).stack ?? e), violations }
  }
}
// After 'load', so page.goto returns before the long synchronous run starts.
setTimeout(main, 0)
