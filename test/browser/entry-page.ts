// Browser entry for test/browser-entry.test.ts, bundled by esbuild: imports priorgrad's browser
// entry (src/browser.ts, what package.json's "browser" condition gives a bundler) and trains the
// zoo's mlp for 5 Adam steps on GPU.js (WebGL2 in the page) and on the reference backend. The
// page is served with a strict Content-Security-Policy; violations land in `violations`.
import { Adam, F, Generator, backendStats, createModel, getBackendInfo, randint, randn, setBackend, statsSince, tidy } from '../../src/browser.js'

// (the project's TypeScript has no DOM types: the page's globals are typed here)
interface Violation { violatedDirective: string; blockedURI: string }
const w = globalThis as unknown as { __result?: unknown; document: { addEventListener(type: string, f: (e: Violation) => void): void } }
const violations: string[] = []
w.document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`))

function train(backend: string): { losses: number[]; moved: { uploads: number; downloads: number }[] } {
  setBackend(backend)
  const g = new Generator(0)
  const model = createModel('mlp', { numClasses: 10, inChannels: 1, generator: g }).to()
  const opt = new Adam(model.parameters(), { lr: 1e-3 })
  const losses: number[] = []
  const moved: { uploads: number; downloads: number }[] = []
  for (let s = 0; s < 5; s++) {
    const x = randn([8, 1, 28, 28], { generator: g })
    const y = randint(0, 10, [8], { generator: g })
    const before = backendStats()
    losses.push(tidy(() => {
      const loss = F.crossEntropy(model.forward(x), y)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      return loss.item()
    }))
    const d = statsSince(before, backendStats())
    moved.push({ uploads: d.uploads, downloads: d.downloads })
  }
  return { losses, moved }
}

function main(): void {
  try {
    const gpu = train('gpujs')
    const info = getBackendInfo()
    const reference = train('reference')
    w.__result = { gpu, reference, info, violations }
  } catch (e) {
    w.__result = { error: String((e as Error).stack ?? e), violations }
  }
}
// After 'load', so page.goto returns before the long synchronous run starts.
setTimeout(main, 0)
