// `npm run fuzz -- [--cases N] [--seed S] [--target NAME]... [--from I]`: the seeded fuzz run of
// every target in fuzz/targets (see fuzz/harness.ts). Exits 1 when any case ended in a failing
// outcome (silent-acceptance, other-exception, hang, memory).
import { writeSync } from 'node:fs'
import { FAILURES, abandonedWorkers, formatReport, hasFailures, runFuzz, type FuzzOptions } from './harness.js'

function parseArgs(argv: string[]): FuzzOptions {
  const opts: FuzzOptions = { targets: undefined }
  const int = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new Error(`fuzz: ${flag} needs a non-negative integer in plain digits, got ${JSON.stringify(v)}`)
    }
    return Number(v)
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const value = argv[i + 1]
    if (flag === '--cases') opts.cases = int(flag, value)
    else if (flag === '--from') opts.from = int(flag, value)
    else if (flag === '--timeout-ms') opts.timeoutMs = int(flag, value)
    else if (flag === '--seed') {
      if (value === undefined) throw new Error('fuzz: --seed needs a value')
      opts.seed = /^(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value
    } else if (flag === '--target') {
      if (value === undefined) throw new Error('fuzz: --target needs a name')
      opts.targets = [...(opts.targets ?? []), value]
    } else throw new Error(`fuzz: unknown flag ${JSON.stringify(flag)} (flags: --cases N, --seed S, --target NAME, --from I, --timeout-ms MS)`)
    i++
  }
  return opts
}

let report: Awaited<ReturnType<typeof runFuzz>>
try {
  report = await runFuzz({ ...parseArgs(process.argv.slice(2)), log: (line) => process.stderr.write(`${line}\n`) })
} catch (err) {
  console.error((err as Error).message)
  process.exit(2)
}
const failed = hasFailures(report)
let text = formatReport(report) + '\n'
if (failed) text += `\nFAILED: some cases ended in ${FAILURES.join(', ')}; rerun one with --target T --from I --cases 1\n`
writeSync(1, text)
// NOTE: a worker abandoned in a blocking system call keeps even process.exit() waiting for it.
if (abandonedWorkers() > 0) process.kill(process.pid, 'SIGKILL')
process.exit(failed ? 1 : 0)
