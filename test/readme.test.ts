// The README's example is examples/readme-mlp.ts verbatim, and it runs.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url)

describe('README', () => {
  it('quick start is exactly the two command lines', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const quick = readme.split('## Quick start')[1]!.split('\n## ')[0]!
    const commands = quick.match(/```(?:sh|bash)\n([\s\S]*?)```/)![1]!.trim().split('\n')
    expect(commands).toEqual(['npm install && npm start', 'npm install && npm test'])
  })

  it('shows examples/readme-mlp.ts verbatim, and that example trains', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8')
    const example = readFileSync(new URL('examples/readme-mlp.ts', root), 'utf8')
    expect(readme).toContain('```ts\n' + example + '```')
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/readme-mlp.ts'], {
      cwd: root,
      env: { ...process.env, STEPS: '100' },
      encoding: 'utf8',
    })
    const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]))
    expect(losses.length).toBe(3)
    expect(losses[2]!).toBeLessThan(losses[0]!)
  })
})
