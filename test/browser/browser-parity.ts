// Runs the gpujs parity cases in headless Chromium (Debian's /usr/bin/chromium, WebGL2 through
// SwiftShader): bundles test/browser/parity-page.ts with esbuild, serves it from a localhost
// server, drives the page with playwright-core (no browser download) and returns its report.
import { createServer, type Server } from 'node:http'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
]

/** Why the browser test cannot run here, or null when it can. */
export function browserSkipReason(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is missing (apt-get install -y chromium, or bash scripts/setup-gl.sh --chromium)`
}

/** Bundle a page entry (a .ts file next to this one) for the browser; returns the script text. */
export async function bundlePage(entryFile: string): Promise<string> {
  const entry = fileURLToPath(new URL(entryFile, import.meta.url))
  const r = await build({
    entryPoints: [entry], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'error',
  })
  return r.outputFiles[0]!.text
}

/** How runInChromium serves the page besides its script. */
export interface PageServing {
  /** a Content-Security-Policy header on every response (the globals then come from a script file, not an inline one) */
  csp?: string
  /** serve with COOP same-origin and COEP require-corp, so the page is cross-origin isolated (SharedArrayBuffer) */
  isolated?: boolean
  /** more scripts at these paths: a page entry (.ts next to this file) to bundle, or `{ text }` served as is */
  files?: Record<string, string | { text: string }>
}

/**
 * Serve `entryFile` bundled from localhost (a secure context) in headless Chromium, with
 * `globals` set on window first, and return what the page puts on `window.__result` (and the
 * page's console messages as `logs`).
 */
export async function runInChromium(entryFile: string, globals: Record<string, unknown>, timeoutMs: number, serving: PageServing = {}): Promise<Record<string, unknown>> {
  const scripts = new Map<string, string>([['/page.js', await bundlePage(entryFile)], ['/globals.js', `Object.assign(window, ${JSON.stringify(globals)})`]])
  for (const [path, f] of Object.entries(serving.files ?? {})) scripts.set(path, typeof f === 'string' ? await bundlePage(f) : f.text)
  const html = `<!doctype html><meta charset="utf-8"><title>priorgrad gpujs</title>
<script src="/globals.js"></script><script src="/page.js"></script>`
  const headers: Record<string, string> = {
    ...(serving.csp ? { 'content-security-policy': serving.csp } : {}),
    ...(serving.isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
  }
  const server: Server = createServer((req, res) => {
    const script = scripts.get(req.url ?? '')
    if (script !== undefined) res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }).end(script)
    else res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(html)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 })
  try {
    const page = await browser.newPage()
    const logs: string[] = []
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`))
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'commit' })
    await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, null, { timeout: timeoutMs })
    const report = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as Record<string, unknown>
    return { ...report, browserVersion: browser.version(), logs }
  } finally {
    await browser.close()
    server.close()
  }
}

/** The parity page's report in GPU.js `mode`: `{ requested, info, results, ms, stats }` or `{ error }`. */
export function runBrowserParity(mode = 'webgl2', timeoutMs = 50_000): Promise<Record<string, unknown>> {
  return runInChromium('./parity-page.ts', { __parityMode: mode }, timeoutMs)
}
