// Every program in examples/ runs, with its small setting, and prints what it promises.
// The list is read from the directory, so a new example is run without touching this file;
// it must also get an entry in `expected`, or the first test fails and says so.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url)
const examples = readdirSync(new URL('examples/', root)).filter((f) => f.endsWith('.ts')).sort()

// What each example must print (small setting). Keep these about behaviour, not exact numbers,
// except where the numbers are the point (the regularizer's worked example is checked by hand).
const expected: Record<string, RegExp[]> = {
  'xor.ts': [/step +0 +loss/, /correct: 4\/4/],
  'mnist-mlp.ts': [/mlp: 203530 parameters/, /test accuracy (\d+\.\d+)%/],
  'gradcheck-custom-op.ts': [/recorded as 'softplus'/, /gradcheck softplus: ok/, /wrong backward: caught/, /Jacobian mismatch/],
  'regularizer-toy.ts': [
    /mask I_1 = \[0, 1, 0, 0, 0, 1\]/,
    /mask I_2 = \[1, 1, 0, 0, 0, 0\]/,
    /counts c = \[1, 2, 0, 0, 0, 1\] +max c = 2 +lambda_eff = lambda \/ max c = 0\.05/,
    /penalty R = .* = 0\.457000/,
    /gradient dR\/dw = .* = \[0\.0800, -0\.3000, 0\.0000, 0\.0000, 0\.0000, 0\.2000\]/,
    /agrees with the regularizer's masks: yes/,
  ],
  'bounds.ts': [/density +nonzeros +L1 +L2 +proposed/, /holds \(or is within sampling noise\) at 5 of 5 densities/],
  'readme-mlp.ts': [/step +0 +loss \d/],
  'where-data-moves.ts': [
    /host arrays +80 +123 /, /tidy\(\) +80 +37 /, /tidy\(\) \+ model\.to\(\) +80 +2 +0\.2 +0 +0\.0 /, /the same loss every way: yes/,
    /gpujs-webasm[^]*tidy\(\) \+ model\.to\(\) +80 +2 +0\.1 +1 +0\.0 /, /the same loss as wasm to float32 rounding: yes/,
  ],
}

// Small settings for the examples' env switches (see each file's header).
const env = { ...process.env, EXAMPLE_SMALL: '1', STEPS: '300' }

describe('examples/', () => {
  it('every example has expected output listed here', () => {
    expect(examples.filter((f) => !(f in expected))).toEqual([])
    expect(Object.keys(expected).filter((f) => !examples.includes(f))).toEqual([])
  })

  for (const file of examples) {
    it(`${file} runs (npx tsx examples/${file}) and prints what it should`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: root, env, encoding: 'utf8', timeout: 60_000 })
      expect(r.status, `exit status of ${file}; stderr:\n${r.stderr}`).toBe(0)
      for (const re of expected[file] ?? []) expect(r.stdout).toMatch(re)
      if (file === 'mnist-mlp.ts') {
        // 1,000 images, one epoch: far above chance (10%), but not a benchmark.
        const accuracy = Number(r.stdout.match(/test accuracy (\d+\.\d+)%/)![1])
        expect(accuracy).toBeGreaterThan(70)
      }
    })
  }
})
