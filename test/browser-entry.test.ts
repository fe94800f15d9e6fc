// priorgrad in a page: src/browser.ts (package.json's "browser" condition) bundles for the
// browser without any `node:` module, and trains in headless Chromium on GPU.js WebGL2 under a
// strict Content-Security-Policy (no eval, no inline script), the reference backend's losses.
import { describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import { browserSkipReason, runInChromium } from './browser/browser-parity.js'

const skip = browserSkipReason()
if (skip) console.warn(`browser-entry: SKIPPING the Chromium test: ${skip}`)

const CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"

describe('the browser entry', () => {
  it('bundles for the browser (esbuild, platform browser) with no node: module and no process access that is not guarded', async () => {
    const r = await build({ entryPoints: ['src/browser.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', metafile: true })
    const text = r.outputFiles[0]!.text
    expect(text.match(/["']node:[a-z_/]+["']/g) ?? []).toEqual([])
    const ours = Object.keys(r.metafile!.inputs).filter((f) => f.startsWith('src/'))
    expect(ours.filter((f) => /wasm\/(threads|wasm-backend|engine)|experiments\/|checkpoint|data\/(idx|mnist|cifar)|io\/atomic/.test(f))).toEqual([])
  })

  it.skipIf(skip !== null)(`trains mlp in Chromium on GPU.js WebGL2 under a strict CSP${skip ? ` [skipped: ${skip}]` : ''}`, async () => {
    const report = (await runInChromium('./entry-page.ts', {}, 100_000, CSP)) as {
      error?: string
      violations: string[]
      logs: string[]
      info: { details?: Record<string, unknown> }
      gpu: { losses: number[]; moved: { uploads: number; downloads: number }[] }
      reference: { losses: number[] }
    }
    expect(report.error, report.error).toBeUndefined()
    expect(report.violations).toEqual([])
    expect(report.logs.filter((l) => l.startsWith('error') || /Content Security Policy|pageerror/.test(l))).toEqual([])
    expect(report.info.details?.['gpujsMode']).toBe('webgl2')
    report.gpu.losses.forEach((l, s) => expect(Math.abs(l - report.reference.losses[s]!), `step ${s}`).toBeLessThanOrEqual(1e-4 * Math.abs(report.reference.losses[s]!)))
    for (const m of report.gpu.moved.slice(1)) expect(m).toEqual({ uploads: 2, downloads: 1 })
  }, 120_000)
})
