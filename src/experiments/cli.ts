// The `priorgrad` command: train | sweep | report | start. Each subcommand parses its flags
// (args.ts), runs, and returns an exit code: 0 done, 1 failed, 2 bad usage, 130 stopped by Ctrl-C or SIGTERM.
// Ctrl-C once stops after the current step and saves a checkpoint; twice exits at once.
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { formatHelp, parseFlags, parseProgress, parseTrainArgs, PROGRESS_FLAG, TRAIN_DESCRIPTION, TRAIN_USAGE, trainFlags, type FlagSpec } from './args.js'
import { UsageError } from './config.js'
import { createProgress, type ProgressMode } from './progress.js'
import { writeReport } from './report.js'
import { expandGrid, parseShard, readGridFile, runSweep, shardCells, type GridFile } from './sweep.js'
import { submitSlurm, writeSlurmScripts } from './slurm.js'
import { SWEEP_MARKER } from './run-dir.js'
import { startJob, START_FLAGS, START_DESCRIPTION } from './start.js'
import { resume, train } from './train.js'
import { interruptible, progressListener, type Io } from './session.js'

const TOP_HELP = `Usage: priorgrad <command> [flags]

Commands:
  train    train one network, logging metrics and checkpoints (priorgrad train --help)
  sweep    run a grid of trainings from a JSON file, optionally one shard of it
  report   merge runs into report.md with a Table-2-style table and SVG curves
  start    the built-in demo: cnn2 on MNIST, L2 vs the dynamic prior, then a report

Run 'priorgrad <command> --help' for the flags of a command.
`

const defaultIo = (): Io => ({ out: (s) => process.stdout.write(s), err: process.stderr })

/**
 * Run the CLI with `argv` (without node and script). Resolves to the exit code.
 * @example process.exitCode = await main(['train', '--model', 'mlp', '--train-subset', '256'])
 */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [command, ...rest] = argv
  const recorded = ['priorgrad', ...argv]
  try {
    switch (command) {
      case 'train': return await trainCommand(rest, recorded, io)
      case 'sweep': return await sweepCommand(rest, recorded, io)
      case 'report': return reportCommand(rest, io)
      case 'start': return await startCommand(rest, recorded, io)
      case undefined: case '--help': case '-h': case 'help':
        io.out(TOP_HELP)
        return command === undefined ? 2 : 0
      default:
        throw new UsageError(`unknown command '${command}'; expected train, sweep, report or start (see priorgrad --help)`)
    }
  } catch (err) {
    const where = ['train', 'sweep', 'report', 'start'].includes(command!) ? ` ${command}` : ''
    const message = withoutPrefix(err instanceof Error ? err.message : String(err))
    io.err.write(`priorgrad${where}: ${message}\n`)
    // One exit code per kind: 2 for usage (a bad flag, value, grid or --out), 1 for a failure while running.
    return err instanceof UsageError ? 2 : 1
  }
}

// Library errors start with their function's name ('train: ...', 'report: ...'); the CLI prints
// one prefix of its own ('priorgrad train: '), so that one is dropped rather than doubled.
function withoutPrefix(message: string): string {
  return message.replace(/^(?:train|resume|sweep|report|start): /, '')
}

async function trainCommand(argv: string[], recorded: string[], io: Io): Promise<number> {
  const args = parseTrainArgs(argv)
  if (args.help) {
    io.out(formatHelp(TRAIN_USAGE, TRAIN_DESCRIPTION, trainFlags()))
    return 0
  }
  const progress = createProgress({ mode: args.progress as ProgressMode, stream: io.err })
  const { signal, dispose } = interruptible(progress)
  const options = { onEvent: progressListener(progress), signal, argv: recorded }
  try {
    const r = args.resume === null ? await train(args.config, { ...options, overwrite: args.overwrite }) : await resume(args.resume, { epochs: args.epochs }, options)
    progress.finish()
    if (r.stopped) {
      io.out(`Stopped at iteration ${r.iteration}; checkpoint in ${path.join(r.out, 'checkpoint')}.\nContinue with: priorgrad train --resume ${r.out}\n`)
      return 130
    }
    io.out(`Done: ${r.iteration} iterations. Metrics in ${path.join(r.out, 'metrics.jsonl')} (and .csv); report with: priorgrad report ${r.out}\n`)
    return 0
  } finally {
    progress.finish()
    dispose()
  }
}

const SWEEP_FLAGS: FlagSpec[] = [
  { flag: 'grid', meta: 'FILE', help: 'grid file (JSON; see grids/README.md)' },
  { flag: 'shard', meta: 'i/n', help: 'run only cells i, i+n, i+2n, ... (e.g. one per array-job task)', default: '0/1' },
  { flag: 'out', meta: 'DIR', help: 'root directory; each cell gets DIR/<cell name>', default: 'runs/<grid file name>' },
  { flag: 'data-dir', meta: 'DIR', help: "replaces the grid's base dataDir (where the CIFAR .bin files are)" },
  { flag: 'list', help: 'print the cells of this shard and whether each is done, then exit' },
  { flag: 'overwrite', help: `write into a non-empty --out that is not a priorgrad sweep directory (priorgrad marks its own with ${SWEEP_MARKER}); its grid.json is replaced` },
  PROGRESS_FLAG,
  { flag: 'slurm', help: 'do not train: write a Slurm array job (one task per shard) and a report job into DIR/slurm/ (see docs/07)' },
  { flag: 'tasks', meta: 'N', help: '--slurm: array tasks, i.e. shards', default: 'one per cell' },
  { flag: 'cpus-per-task', meta: 'N', help: '--slurm: CPUs per task (the kernels use that many threads)', default: '1' },
  { flag: 'time', meta: 'T', help: "--slurm: each task's time limit (Slurm's format, e.g. 4:00:00); near it a task checkpoints and requeues itself", default: "the partition's" },
  { flag: 'grace', meta: 'S', help: '--slurm: seconds before the time limit at which a task checkpoints', default: '120' },
  { flag: 'partition', meta: 'NAME', help: '--slurm: the partition to submit to', default: "the cluster's default" },
  { flag: 'report-out', meta: 'DIR', help: '--slurm: where the report job writes report.md', default: 'the --out DIR' },
  { flag: 'submit', help: '--slurm: also submit both jobs with sbatch' },
]

async function sweepCommand(argv: string[], recorded: string[], io: Io): Promise<number> {
  const { values } = parseFlags('sweep', argv, SWEEP_FLAGS)
  if (values['help'] === true) {
    io.out(formatHelp('priorgrad sweep --grid FILE [--shard i/n] [--out DIR] [--slurm ...]', 'Train every cell of a grid (finished cells are skipped, started ones resumed),\nor write it as a Slurm array job (--slurm).', SWEEP_FLAGS))
    return 0
  }
  const gridFile = values['grid']
  if (typeof gridFile !== 'string') throw new UsageError('--grid FILE is required')
  let grid = readGridFile(gridFile)
  if (typeof values['data-dir'] === 'string') grid = { ...grid, base: { ...grid.base, dataDir: values['data-dir'] } }
  const shard = parseShard(typeof values['shard'] === 'string' ? values['shard'] : '0/1')
  const root = typeof values['out'] === 'string' ? values['out'] : path.join('runs', path.basename(gridFile, '.json'))
  if (values['slurm'] === true) return slurmCommand(grid, gridFile, root, values, io)
  for (const f of ['tasks', 'cpus-per-task', 'time', 'grace', 'partition', 'report-out', 'submit']) {
    if (values[f] !== undefined) throw new UsageError(`--${f} only applies with --slurm`)
  }
  if (values['list'] === true) {
    for (const c of shardCells(expandGrid(grid, root, gridFile), shard)) {
      io.out(`${fs.existsSync(path.join(c.config.out!, 'done.json')) ? 'done   ' : 'pending'} ${c.config.out}\n`)
    }
    return 0
  }
  const progress = createProgress({ mode: parseProgress(values['progress']), stream: io.err })
  const { signal, dispose } = interruptible(progress)
  try {
    const r = await runSweep(grid, root, {
      shard, where: gridFile, signal, overwrite: values['overwrite'] === true, argv: recorded, onEvent: progressListener(progress),
      onCell: (cell, action, { k, of }) => progress.log(`[${k}/${of}] ${cell.name}: ${action === 'skip' ? 'done already, skipped' : action}`),
    })
    progress.finish()
    for (const f of r.failed) io.err.write(`priorgrad sweep: cell ${f.name} failed: ${f.error}\n`)
    io.out(`Sweep ${root} shard ${shard.index}/${shard.count}: ${r.ran.length} ran, ${r.skipped.length} skipped, ${r.failed.length} failed${r.stopped ? ', stopped by Ctrl-C or SIGTERM (rerun the same command to continue)' : ''}.\nReport with: priorgrad report ${root}\n`)
    return r.stopped ? 130 : r.failed.length > 0 ? 1 : 0
  } finally {
    dispose()
  }
}

function slurmCommand(grid: GridFile, gridFile: string, root: string, values: Record<string, string | boolean | undefined>, io: Io): number {
  const int = (flag: string): number | undefined => {
    const v = values[flag]
    if (v === undefined) return undefined
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a whole number, got '${String(v)}'`)
    return Number(v)
  }
  const text = (flag: string): string | undefined => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined)
  if (values['shard'] !== undefined) throw new UsageError('--shard does not apply with --slurm: each array task takes its own shard')
  const scripts = writeSlurmScripts(grid, root, {
    gridFile, tasks: int('tasks'), cpusPerTask: int('cpus-per-task'), time: text('time'), grace: int('grace'), partition: text('partition'),
    reportOut: text('report-out'), overwrite: values['overwrite'] === true,
  })
  io.out(`Wrote ${scripts.sweep} (an array of ${scripts.tasks} tasks), ${scripts.report} and ${scripts.submit}.\n`)
  if (values['submit'] !== true) {
    io.out(`Submit both with: bash ${scripts.submit}\n`)
    return 0
  }
  const { output } = submitSlurm(scripts)
  io.out(output)
  return 0
}

const REPORT_FLAGS: FlagSpec[] = [
  { flag: 'out', meta: 'DIR', help: 'where report.md and the SVGs go', default: 'the first DIR' },
  { flag: 'tau', meta: '1e-3|1e-2|1e-1', help: 'density threshold shown in the table and density.svg', default: '1e-3' },
]

function reportCommand(argv: string[], io: Io): number {
  const { values, positionals } = parseFlags('report', argv, REPORT_FLAGS, true)
  if (values['help'] === true) {
    io.out(formatHelp('priorgrad report DIR... [--out DIR]', 'Merge runs (run directories or sweep roots) into report.md, loss.svg, accuracy.svg,\nmagnitude.svg, density.svg and figure.svg.', REPORT_FLAGS))
    return 0
  }
  if (positionals.length === 0) throw new UsageError('give at least one run or sweep directory')
  for (const d of positionals) if (!fs.existsSync(d)) throw new UsageError(`${d} does not exist (expected a run or sweep directory)`)
  const tau = values['tau'] ?? '1e-3'
  if (tau !== '1e-3' && tau !== '1e-2' && tau !== '1e-1') throw new UsageError(`--tau: expected one of 1e-3|1e-2|1e-1, got '${String(tau)}'`)
  const out = typeof values['out'] === 'string' ? values['out'] : positionals[0]!
  const r = writeReport(positionals, { out, densityKey: `density_${tau}` })
  io.out(`Report of ${r.runs} runs (${r.configurations} configurations): ${r.file}\n`)
  return 0
}

async function startCommand(argv: string[], recorded: string[], io: Io): Promise<number> {
  const { values } = parseFlags('start', argv, START_FLAGS)
  if (values['help'] === true) {
    io.out(formatHelp('priorgrad start [--out DIR]', START_DESCRIPTION, START_FLAGS))
    return 0
  }
  const progress = createProgress({ mode: parseProgress(values['progress']), stream: io.err })
  const { signal, dispose } = interruptible(progress)
  try {
    return await startJob(values, { progress, signal, argv: recorded, io })
  } finally {
    dispose()
  }
}

// Run when executed directly (bin/priorgrad.mjs imports this file through tsx).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2))
}
