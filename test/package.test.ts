// priorgrad as an npm package: `npm pack` builds dist/ (prepack: tsc -p tsconfig.build.json) and
// packs it; the tarball installs into a plain Node 20 ESM project with no TypeScript and no tsx,
// where importing priorgrad trains three steps (the same losses, bit for bit, as the sources in
// this process) and `npx priorgrad --help` runs the CLI from the built files; a bundler targeting
// the browser gets the browser entry (dist/browser.js) and no Node module.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { build } from 'esbuild'
import { Adam, F, Generator, createModel, randint, randn, setBackend, tidy, wasmThreadScript } from '../src/index.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'priorgrad-package-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

// The program the plain project runs, and the test runs on the sources: three Adam steps of mlp.
const TRAIN = `
const g = new Generator(0)
const model = createModel('mlp', { numClasses: 10, inChannels: 1, generator: g }).to()
const opt = new Adam(model.parameters(), { lr: 1e-3 })
const x = randn([16, 1, 28, 28], { generator: g })
const y = randint(0, 10, [16], { generator: g })
const losses = []
for (let s = 0; s < 3; s++) losses.push(tidy(() => { const l = F.crossEntropy(model.forward(x), y); l.backward(); opt.step(); opt.zeroGrad(); return l.item() }))
`

describe('npm pack, install into a plain Node project, use', () => {
  it('the tarball holds the built JavaScript, its types and source maps, and no TypeScript sources', () => {
    execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { encoding: 'utf8', timeout: 120_000 })
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'))
    expect(tarball).toBeDefined()
    const files = execFileSync('tar', ['tzf', path.join(tmp, tarball!)], { encoding: 'utf8' }).split('\n').filter(Boolean)
    expect(files).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/index.js.map', 'package/dist/wasm-thread.js', 'package/bin/priorgrad.mjs', 'package/package.json']))
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([])
  }, 150_000)

  it('installs without TypeScript or tsx, trains three steps (the sources\' losses, bit for bit) and runs `npx priorgrad --help`', () => {
    const tarball = path.join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))!)
    const project = path.join(tmp, 'project')
    execFileSync('mkdir', ['-p', project])
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-priorgrad', private: true, type: 'module' }))
    // --omit=optional: gpu.js's optional `gl` would try a native build; the CPU path needs none
    execFileSync('npm', ['install', tarball, '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, encoding: 'utf8', timeout: 180_000 })
    for (const absent of ['typescript', 'tsx']) expect(readdirSync(path.join(project, 'node_modules'))).not.toContain(absent)
    writeFileSync(path.join(project, 'train.mjs'), `import { Adam, F, Generator, createModel, randint, randn, tidy } from 'priorgrad'\n${TRAIN}\nconsole.log(JSON.stringify(losses))\nprocess.exit(0)\n`)
    const installed = JSON.parse(execFileSync(process.execPath, ['train.mjs'], { cwd: project, encoding: 'utf8', timeout: 60_000 }).trim()) as number[]
    setBackend('wasm')
    const fromSources = new Function('Adam', 'F', 'Generator', 'createModel', 'randint', 'randn', 'tidy', `${TRAIN}; return losses`)(Adam, F, Generator, createModel, randint, randn, tidy) as number[]
    expect(installed).toEqual(fromSources)
    expect(installed[2]!).toBeLessThan(installed[0]!)
    const help = execFileSync('npx', ['--no-install', 'priorgrad', '--help'], { cwd: project, encoding: 'utf8', timeout: 60_000 })
    expect(help).toMatch(/^Usage: priorgrad <command>/)
  }, 300_000)

  it('a bundler targeting the browser resolves the installed package to its browser entry, with no node: module', async () => {
    const project = path.join(tmp, 'project')
    const r = await build({
      stdin: { contents: "import { tensor, setBackend } from 'priorgrad'\nsetBackend('gpujs')\nconsole.log(tensor([1, 2]).add(1).toArray())\n", resolveDir: project },
      bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', metafile: true,
    })
    const inputs = Object.keys(r.metafile!.inputs)
    expect(inputs.some((f) => f.endsWith('node_modules/priorgrad/dist/browser.js')), inputs.filter((f) => f.includes('priorgrad')).slice(0, 3).join(', ')).toBe(true)
    expect(r.outputFiles[0]!.text.match(/["']node:[a-z_/]+["']/g) ?? []).toEqual([])
    // the wasm backend's helper-thread script, which a page serves, is the package's 'priorgrad/wasm-thread.js'
    const resolved = await build({ stdin: { contents: "import 'priorgrad/wasm-thread.js'", resolveDir: project }, bundle: true, write: false, logLevel: 'silent', metafile: true })
    expect(Object.keys(resolved.metafile!.inputs).some((f) => f.endsWith('node_modules/priorgrad/dist/wasm-thread.js'))).toBe(true)
    expect(readFileSync(path.join(project, 'node_modules/priorgrad/dist/wasm-thread.js'), 'utf8')).toBe(wasmThreadScript())
  })
})
