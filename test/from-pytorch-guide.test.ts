// docs/from-pytorch.md stays true: its TypeScript blocks, joined in order, are one program that
// trains, saves, reloads and gradchecks; this runs it as a user would (tsx, importing 'priorgrad').
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The ```ts blocks of a Markdown file, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!)
}

describe('docs/from-pytorch.md', () => {
  it('its TypeScript blocks run as one program and print what the text says', () => {
    const code = tsBlocks(readFileSync(join(root, 'docs/from-pytorch.md'), 'utf8')).join('\n')
    expect(code).toContain("from 'priorgrad'")
    // Inside the repository 'priorgrad' resolves through tsconfig.json's paths to src/ (tsx reads them);
    // an installed package resolves through package.json's exports to dist/ (test/package.test.ts).
    const dir = mkdtempSync(join(root, 'test', '.guide-'))
    try {
      const file = join(dir, 'guide.ts')
      writeFileSync(file, code)
      const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 110_000 })
      expect(out).toMatch(/grad shape \[ 3, 4 \] value/)
      expect(out).toMatch(/batches per epoch 16/)
      const [, first, last] = out.match(/loss (\d+\.\d+) -> (\d+\.\d+)/)!
      expect(Number(last)).toBeLessThan(Number(first))
      expect(out).toMatch(/reloaded model differs by 0\n/)
      expect(out).toMatch(/caught: gradcheck\n/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
