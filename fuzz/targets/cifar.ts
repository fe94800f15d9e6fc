// Fuzz target: the CIFAR-10 / CIFAR-100 binary readers on a directory of batch files.
// Seeds are written with the tests' CIFAR writers; a case copies the split's files into a fresh
// directory, mutates one of them (bit flips, truncation, extension, a label byte) or replaces it
// (missing, empty, a directory, a link to /dev/zero), then loads the split. An oracle of the format
// (every file a regular file of whole records, labels in range) says whether the result is valid.
import fs from 'node:fs'
import path from 'node:path'
import { loadCifar10, loadCifar100 } from '../../src/data/cifar.js'
import type { Generator } from '../../src/tensor/generator.js'
import { writeCifar10, writeCifar100 } from '../../test/helpers/data-files.js'
import type { FuzzCase, FuzzTarget } from '../target.js'

interface Format {
  title: 'CIFAR-10' | 'CIFAR-100'
  files: { train: string[]; test: string[] }
  classes: number[]
}
const C10: Format = { title: 'CIFAR-10', files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] }, classes: [10] }
const C100: Format = { title: 'CIFAR-100', files: { train: ['train.bin'], test: ['test.bin'] }, classes: [20, 100] }

const seeds = new Map<string, Uint8Array>()
const pick = <T>(rng: Generator, xs: readonly T[]): T => xs[rng.int(xs.length)]!

/** The format's rule: whole records, every label byte below its class count. */
function wellFormed(f: Format, b: Uint8Array): boolean {
  const record = f.classes.length + 3072
  if (b.length === 0 || b.length % record !== 0) return false
  for (let at = 0; at < b.length; at += record) if (f.classes.some((c, i) => b[at + i]! >= c)) return false
  return true
}

type Change = { what: string; bytes?: Uint8Array; replace?: 'missing' | 'empty' | 'directory' | 'dev-zero' | 'loop'; valid?: boolean }

function mutate(rng: Generator, f: Format, b: Uint8Array): Change {
  const record = f.classes.length + 3072
  switch (rng.int(8)) {
    case 0: {
      const out = b.slice()
      const at: number[] = []
      for (let i = 1 + rng.int(4); i > 0; i--) {
        const k = rng.int(out.length)
        out[k] ^= 1 << rng.int(8)
        at.push(k)
      }
      return { what: `bit flips at ${at.join(',')}`, bytes: out }
    }
    case 1: {
      // A label byte of a random record set to an edge value.
      const out = b.slice()
      const r = rng.int(b.length / record)
      const i = rng.int(f.classes.length)
      out[r * record + i] = pick(rng, [0, f.classes[i]! - 1, f.classes[i]!, 255])
      return { what: `label byte ${i} of record ${r} set to ${out[r * record + i]}`, bytes: out }
    }
    case 2: {
      const len = pick(rng, [rng.int(b.length), record, record - 1, 1, 0])
      return { what: `truncated to ${len} of ${b.length} bytes`, bytes: b.slice(0, Math.min(len, b.length)) }
    }
    case 3: {
      const k = pick(rng, [1, record - 1, record, 1 + rng.int(2 * record)])
      const out = new Uint8Array(b.length + k)
      out.set(b)
      return { what: `extended by ${k} zero bytes`, bytes: out }
    }
    default:
      return { what: '', replace: pick(rng, ['missing', 'empty', 'directory', 'dev-zero', 'loop'] as const) }
  }
}

const target: FuzzTarget = {
  name: 'cifar',
  setup(dir) {
    const c10 = path.join(dir, 'seed-c10')
    const c100 = path.join(dir, 'seed-c100')
    fs.mkdirSync(c10)
    fs.mkdirSync(c100)
    writeCifar10(c10, 2)
    writeCifar100(c100, 3, 2)
    for (const f of [...C10.files.train, ...C10.files.test]) seeds.set(`CIFAR-10/${f}`, new Uint8Array(fs.readFileSync(path.join(c10, f))))
    for (const f of [...C100.files.train, ...C100.files.test]) seeds.set(`CIFAR-100/${f}`, new Uint8Array(fs.readFileSync(path.join(c100, f))))
  },
  makeCase(rng, dir, index): FuzzCase {
    const f = rng.int(2) === 0 ? C10 : C100
    const split = rng.int(2) === 0 ? 'train' : 'test'
    const files = f.files[split]
    const victim = pick(rng, files)
    const change = mutate(rng, f, seeds.get(`${f.title}/${victim}`)!)
    // Half the cases use the archive's folder name inside the given directory.
    const nested = rng.int(2) === 0
    const labelMode = pick(rng, ['fine', 'coarse'] as const)
    const root = path.join(dir, `case-${index % 4}`)
    const where = nested ? path.join(root, f.title === 'CIFAR-10' ? 'cifar-10-batches-bin' : 'cifar-100-binary') : root
    const valid = change.replace === undefined && wellFormed(f, change.bytes!)
    const bytes = files.reduce((s, name) => s + (name === victim ? (change.bytes?.length ?? 0) : seeds.get(`${f.title}/${name}`)!.length), 0)
    const how = change.replace ?? change.what
    return {
      what: `${f.title} ${split}${f.title === 'CIFAR-100' ? ` (${labelMode})` : ''}${nested ? ' in the archive folder' : ''}: ${victim} ${how}`,
      malformed: !valid,
      bytes,
      run() {
        fs.rmSync(root, { recursive: true, force: true })
        fs.mkdirSync(where, { recursive: true })
        for (const name of files) {
          const file = path.join(where, name)
          if (name !== victim) fs.writeFileSync(file, seeds.get(`${f.title}/${name}`)!)
          else if (change.bytes !== undefined) fs.writeFileSync(file, change.bytes)
          else if (change.replace === 'empty') fs.writeFileSync(file, new Uint8Array(0))
          else if (change.replace === 'directory') fs.mkdirSync(file)
          else if (change.replace === 'dev-zero') fs.symlinkSync('/dev/zero', file)
          else if (change.replace === 'loop') fs.symlinkSync(file, file)
        }
        const options = { dataDir: root, split } as const
        return f.title === 'CIFAR-10' ? loadCifar10(options) : loadCifar100({ ...options, labelMode })
      },
    }
  },
  // The readers throw plain Errors that start with the loader's name.
  isNamedError: (err) => err instanceof Error && err.constructor === Error && /^loadCifar100?: /.test(err.message),
}

export default target
