// priorgrad in a page: src/browser.ts (package.json's "browser" condition) bundles for the
// browser without any `node:` module, and trains in headless Chromium under a strict
// Content-Security-Policy (no eval, no inline script; WebAssembly compilation allowed by
// 'wasm-unsafe-eval'): on GPU.js WebGL2 and on the WebAssembly backend on the page's main thread
// (one thread, a plain memory), the reference backend's losses; and in a Web Worker of a
// cross-origin isolated page, the WebAssembly backend on 2 threads, the 1-thread losses bit for bit.
import { describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import { browserSkipReason, runInChromium } from './browser/browser-parity.js'
import { wasmThreadScript } from '../src/index.js'

const skip = browserSkipReason()
if (skip) console.warn(`browser-entry: SKIPPING the Chromium test: ${skip}`)

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; object-src 'none'; base-uri 'none'"

interface Trained { losses: number[]; moved: { uploads: number; downloads: number }[] }
interface Info { description: string; details?: Record<string, unknown> }

const expectNear = (got: number[], want: number[], what: string): void =>
  got.forEach((l, s) => expect(Math.abs(l - want[s]!), `${what}, step ${s}`).toBeLessThanOrEqual(1e-4 * Math.abs(want[s]!)))

describe('the browser entry', () => {
  it('bundles for the browser (esbuild, platform browser) with no node: module and no process access that is not guarded', async () => {
    const r = await build({ entryPoints: ['src/browser.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', metafile: true })
    const text = r.outputFiles[0]!.text
    expect(text.match(/["']node:[a-z_/]+["']/g) ?? []).toEqual([])
    const ours = Object.keys(r.metafile!.inputs).filter((f) => f.startsWith('src/'))
    expect(ours).toContain('src/tensor/backends/wasm/wasm-backend.ts')
    expect(ours.filter((f) => /threads-node|wasm\/index|experiments\/|checkpoint|data\/(idx|mnist|cifar)|io\/atomic/.test(f))).toEqual([])
  })

  it.skipIf(skip !== null)(`trains mlp in Chromium on GPU.js WebGL2 and on WebAssembly under a strict CSP${skip ? ` [skipped: ${skip}]` : ''}`, async () => {
    const report = (await runInChromium('./entry-page.ts', {}, 100_000, { csp: CSP })) as {
      error?: string
      violations: string[]
      logs: string[]
      info: Info
      wasmInfo: Info
      gpu: Trained
      wasm: Trained
      reference: Trained
    }
    expect(report.error, report.error).toBeUndefined()
    expect(report.violations).toEqual([])
    expect(report.logs.filter((l) => l.startsWith('error') || /Content Security Policy|pageerror/.test(l))).toEqual([])
    expect(report.info.details?.['gpujsMode']).toBe('webgl2')
    expectNear(report.gpu.losses, report.reference.losses, 'gpujs')
    for (const m of report.gpu.moved.slice(1)) expect(m).toEqual({ uploads: 2, downloads: 1 })
    // not cross-origin isolated: no SharedArrayBuffer, so a plain memory of fixed size and one thread
    expect(report.wasmInfo.details).toMatchObject({ threads: 1, memory: 'fixed 512 MiB', oneThreadBecause: expect.stringMatching(/not cross-origin isolated/) })
    expectNear(report.wasm.losses, report.reference.losses, 'wasm')
    // (the host reads WASM memory in place: the loss is not a download)
    for (const m of report.wasm.moved.slice(1)) expect(m).toEqual({ uploads: 2, downloads: 0 })
  }, 120_000)

  it.skipIf(skip !== null)(`in a Web Worker of a cross-origin isolated page the WebAssembly backend runs on 2 threads${skip ? ` [skipped: ${skip}]` : ''}`, async () => {
    const report = (await runInChromium('./wasm-worker-page.ts', {}, 60_000, {
      csp: CSP, isolated: true, files: { '/worker.js': './wasm-worker.ts', '/wasm-thread.js': { text: wasmThreadScript() } },
    })) as { error?: string; logs: string[]; pageIsolated: boolean; two: Trained; one: Trained; info: Info; oneInfo: Info; waitedMs: number }
    expect(report.error, report.error).toBeUndefined()
    expect(report.logs.filter((l) => l.startsWith('error') || /Content Security Policy|pageerror/.test(l))).toEqual([])
    expect(report.pageIsolated).toBe(true)
    expect(report.info.details).toMatchObject({ threads: 2, memory: 'shared, grows' })
    expect(report.info.details?.['helperTasks'], `no helper thread ran a task within ${report.waitedMs} ms`).toBeGreaterThan(0)
    expect(report.oneInfo.details).toMatchObject({ threads: 1 })
    expect(report.two.losses).toEqual(report.one.losses)
  }, 90_000)
})
