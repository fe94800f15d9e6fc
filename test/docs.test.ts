// The guided tour stays true to the code: every relative link in docs/ and README.md points at
// a file that exists (and, for #Lx-Ly anchors, at lines inside it), every chapter of the tour
// exists and is listed in the index, and the index names every export of src/index.ts with the
// file that declares it (regenerate the table with `npx tsx scripts/docs-index.ts`).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { collectExports, END, START } from '../scripts/docs-index.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const chapters = [
  '01-tensors.md',
  '02-autograd.md',
  '03-writing-an-op.md',
  '04-kernels-and-backends.md',
  '05-layers-models-optimizers.md',
  '06-the-papers-regularizer.md',
  '07-reproducible-experiments.md',
]

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return name === 'api' ? [] : markdownFiles(p)
    return name.endsWith('.md') ? [p] : []
  })
}

/** Link targets of a Markdown file, outside fenced code blocks and inline code. */
function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '')
  const targets: string[] = []
  for (const m of text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!)
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(m[1]!)
  for (const m of text.matchAll(/\b(?:src|href)="([^"]+)"/g)) targets.push(m[1]!)
  return targets
}

/** Why a relative link from `from` is broken, or null when it resolves. */
function checkLink(from: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) return null
  const [pathPart, anchor] = target.split('#') as [string, string | undefined]
  const file = resolve(dirname(from), decodeURI(pathPart))
  if (relative(root, file).startsWith('..')) return `${target}: points outside the repository`
  if (!existsSync(file)) return `${target}: ${relative(root, file)} does not exist`
  if (anchor === undefined || !/^L\d/.test(anchor)) return null
  const m = anchor.match(/^L(\d+)(?:-L(\d+))?$/)
  if (!m) return `${target}: malformed line anchor '#${anchor}' (expected #L12 or #L12-L20)`
  const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])]
  const text = readFileSync(file, 'utf8')
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length
  if (a < 1 || b < a || b > lines) return `${target}: lines ${a}-${b} are not inside ${relative(root, file)} (${lines} lines)`
  return null
}

const docsDir = join(root, 'docs')
const files = [join(root, 'README.md'), ...markdownFiles(docsDir)]

describe('docs: links', () => {
  it('finds links in Markdown (and skips code)', () => {
    expect(linkTargets('see [a](x.md#L1-L2) and ![f](fig.svg)\n```ts\n[no](nope.md)\n```\n`[no](nope2.md)`')).toEqual(['x.md#L1-L2', 'fig.svg'])
  })

  it('the checker rejects a missing file and an out-of-range line anchor', () => {
    const from = join(docsDir, 'README.md')
    expect(checkLink(from, '../src/index.ts#L1-L2')).toBeNull()
    expect(checkLink(from, 'no-such-file.md')).toMatch(/does not exist/)
    expect(checkLink(from, '../src/index.ts#L1-L100000')).toMatch(/not inside/)
    expect(checkLink(from, 'https://example.com/x')).toBeNull()
    expect(checkLink(from, '../../shared/specs/dynamic-prior.md')).toMatch(/outside the repository/)
  })

  for (const file of files) {
    it(`every relative link in ${relative(root, file)} resolves`, () => {
      const broken = linkTargets(readFileSync(file, 'utf8'))
        .map((t) => checkLink(file, t))
        .filter((e): e is string => e !== null)
      expect(broken).toEqual([])
    })
  }
})

describe('docs: the tour', () => {
  const index = readFileSync(join(docsDir, 'README.md'), 'utf8')

  it('every chapter exists and the index links it, in reading order', () => {
    for (const c of chapters) expect(existsSync(join(docsDir, c)), `docs/${c}`).toBe(true)
    const positions = chapters.map((c) => index.indexOf(`](${c})`))
    expect(positions.every((p) => p >= 0), `index links: ${chapters.filter((_, i) => positions[i]! < 0).join(', ')}`).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
  })

  it('every example in examples/ is listed in the index', () => {
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'))
    expect(examples.filter((f) => !index.includes(`](../examples/${f})`))).toEqual([])
  })

  it('the index names every export of src/index.ts with the file that declares it', () => {
    const table = index.slice(index.indexOf(START), index.indexOf(END))
    expect(table.length).toBeGreaterThan(0)
    const rows = new Map(table.split('\n').filter((l) => l.startsWith('| `')).map((l) => [l.slice(3, l.indexOf('`', 3)), l]))
    const problems: string[] = []
    for (const e of collectExports()) {
      const row = rows.get(e.name)
      if (!row) problems.push(`${e.name}: missing (run npx tsx scripts/docs-index.ts)`)
      else if (!row.includes(`](../${e.file}#L`)) problems.push(`${e.name}: the table says ${row.split('|')[3]!.trim()}, it is declared in ${e.file}`)
    }
    expect(problems).toEqual([])
  })
})

// A reader of the package or a clone has only the repository: docs and committed reports must not
// send them to a machine's folders (a scratch directory, a checkout's parent), and code in the docs
// must import what the package exports.
const OUTSIDE = /(?:^|[\s`'"(=])(\/tmp\/|\/work\/|\/root\/|\/home\/|(?:\.\.\/)+shared\/|shared\/(?:specs|paper|notes)\/)/m

/** The first path outside the repository that `text` names, or null. */
function outsidePath(text: string): string | null {
  const m = OUTSIDE.exec(text)
  if (!m) return null
  const line = text.slice(0, m.index + 1).split('\n').length
  return `line ${line}: ${text.split('\n')[line - 1]!.trim()}`
}

/** Module specifiers imported by the ts/js code blocks of a Markdown file. */
function codeImports(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```(?:ts|js|typescript|javascript)\n([\s\S]*?)^```/gm)].map((m) => m[1]!)
  return blocks.flatMap((b) => [...b.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]!))
}

describe('docs: nothing outside the repository', () => {
  it('the checks catch a scratch path, a shared/ path and a source-path import', () => {
    expect(outsidePath('priorgrad sweep --out /tmp/runs')).toMatch(/line 1/)
    expect(outsidePath('see `../shared/specs/x.md`')).not.toBeNull()
    expect(outsidePath('the spec in shared/specs/dynamic-prior.md')).not.toBeNull()
    expect(outsidePath('runs go to runs/mnist (see /usr/bin/python3)')).toBeNull()
    expect(codeImports("```ts\nimport { F } from './src/index.js'\n```\n")).toEqual(['./src/index.js'])
  })

  const reports = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.md')).map((f) => join(dir, f)) : []
  const texts = [...files, ...reports(join(root, 'results')), ...reports(join(root, 'tools'))]
  for (const file of texts) {
    it(`${relative(root, file)} names no path outside the repository`, () => {
      expect(outsidePath(readFileSync(file, 'utf8'))).toBeNull()
    })
  }

  it('no source file under src/ names a path outside the repository (its comments ship in the package)', () => {
    const sources = readdirSync(join(root, 'src'), { recursive: true }).map(String).filter((f) => f.endsWith('.ts'))
    const found = sources.map((f) => [f, outsidePath(readFileSync(join(root, 'src', f), 'utf8'))] as const).filter(([, hit]) => hit !== null)
    expect(found).toEqual([])
  })

  for (const file of files) {
    it(`code in ${relative(root, file)} imports only 'priorgrad' and node: modules`, () => {
      const bad = codeImports(readFileSync(file, 'utf8')).filter((s) => s !== 'priorgrad' && !s.startsWith('node:'))
      expect(bad).toEqual([])
    })
  }
})
