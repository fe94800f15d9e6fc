// A grid as a Slurm array job (`priorgrad sweep --grid FILE --out DIR --slurm`): one array task
// per shard, each running `priorgrad sweep --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`
// (cells i, i+n, ...; finished cells are skipped and started ones resumed, so a task that runs
// again continues where it stopped), then a report job that waits for the whole array
// (--dependency=afterany) and runs `priorgrad report`. The scripts are written to DIR/slurm/:
//
//   sweep.sbatch   the array job. Near its time limit Slurm sends SIGUSR1 (--signal=B:USR1@grace)
//                  to the batch shell, which asks priorgrad to stop (SIGTERM: it finishes the
//                  step and saves a checkpoint) and requeues the task, which then resumes. A task
//                  that is cancelled or preempted gets SIGTERM from Slurm and also saves a
//                  checkpoint; it continues when requeued (scontrol requeue JOB_TASK; --requeue
//                  allows it).
//   report.sbatch  priorgrad report DIR --out REPORT_DIR, after every task has ended. (The task
//                  that finishes the grid's last cell writes the report too, so a task requeued
//                  after the report job ran still leaves a report of the whole grid.)
//   submit.sh      submits both with the dependency, and prints their job ids.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { writeFileAtomic } from '../io/atomic.js'
import { UsageError } from './config.js'
import { expandGrid, prepareSweep, type GridFile } from './sweep.js'

export interface SlurmOptions {
  /** the grid file, as the user named it (relative paths are from the current directory, where the scripts cd first) */
  gridFile: string
  /** array tasks (shards); default one per cell */
  tasks?: number
  cpusPerTask?: number
  /** per-task time limit in Slurm's format (e.g. 2:00:00) */
  time?: string
  partition?: string
  /** seconds before the time limit at which a task checkpoints and requeues itself */
  grace?: number
  /** where the report goes (default: the sweep root) */
  reportOut?: string
  /** --overwrite of the sweep, for the checks */
  overwrite?: boolean
}

export interface SlurmScripts {
  dir: string
  sweep: string
  report: string
  submit: string
  tasks: number
}

const TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/

// a word for a shell script, quoted when it holds anything but safe characters
const sh = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/**
 * Check the grid as a local sweep would (the same errors), then write the sbatch scripts for it
 * under `root`/slurm. Nothing is written when a check fails.
 * @example writeSlurmScripts(grid, 'runs/mnist-long', { gridFile: 'grids/mnist-long.json', tasks: 15, cpusPerTask: 2, time: '4:00:00' })
 */
export function writeSlurmScripts(grid: GridFile, root: string, o: SlurmOptions): SlurmScripts {
  const cells = expandGrid(grid, root, o.gridFile)
  const tasks = o.tasks ?? cells.length
  if (!Number.isSafeInteger(tasks) || tasks < 1 || tasks > cells.length) {
    throw new UsageError(`--tasks: expected an integer from 1 to the grid's ${cells.length} cells, got ${o.tasks}`)
  }
  const cpus = o.cpusPerTask ?? 1
  if (!Number.isSafeInteger(cpus) || cpus < 1 || cpus > 1024) throw new UsageError(`--cpus-per-task: expected an integer from 1 to 1024, got ${o.cpusPerTask}`)
  if (o.time !== undefined && !TIME.test(o.time)) throw new UsageError(`--time: expected a Slurm time limit such as 30:00, 2:00:00 or 1-12:00:00, got '${o.time}'`)
  const grace = o.grace ?? 120
  if (!Number.isSafeInteger(grace) || grace < 10 || grace > 3600) throw new UsageError(`--grace: expected whole seconds from 10 to 3600, got ${o.grace}`)
  if (o.partition !== undefined && !/^[\w.-]+$/.test(o.partition)) throw new UsageError(`--partition: expected a partition name, got '${o.partition}'`)
  // the same checks as the sweep itself, for every cell (all shards)
  prepareSweep(grid, root, cells, cells, o.overwrite === true)

  // The scripts cd to this directory first, so the grid, --out and the report's directory are
  // written as given (runs record the same relative `out` as a local sweep's); the logs are
  // absolute, as Slurm resolves them from where sbatch runs.
  const dir = path.join(path.resolve(root), 'slurm')
  const logs = path.join(dir, 'logs')
  const bin = fileURLToPath(new URL('../../bin/priorgrad.mjs', import.meta.url))
  const priorgrad = [process.execPath, '--single-threaded-gc', bin].map(sh).join(' ')
  const name = `priorgrad-${path.basename(o.gridFile, '.json')}`.replace(/[^\w.-]/g, '_')
  const header = (lines: string[]): string[] => ['#!/bin/bash', ...lines.map((l) => `#SBATCH ${l}`), ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : [])]

  const reportCommand = `${priorgrad} report ${sh(root)} --out ${sh(o.reportOut ?? root)}`
  const sweep = [
    ...header([
      `--job-name=${name}`, `--array=0-${tasks - 1}`, `--cpus-per-task=${cpus}`, ...(o.time ? [`--time=${o.time}`] : []),
      `--output=${sh(path.join(logs, '%A_%a.out'))}`, '--requeue', `--signal=B:USR1@${grace}`,
    ]),
    `# written by: priorgrad sweep --slurm (${cells.length} cells in ${tasks} tasks)`,
    `cd ${sh(process.cwd())}`,
    // the kernels use the CPUs Slurm gave the task
    'export PRIORGRAD_THREADS=${SLURM_CPUS_PER_TASK:-1}',
    `${priorgrad} sweep --grid ${sh(o.gridFile)} --out ${sh(root)} --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --progress lines &`,
    'pid=$!',
    'requeue=0',
    '# near the time limit (USR1, to this shell only): priorgrad checkpoints, then the task is requeued',
    'trap \'requeue=1; kill -TERM $pid\' USR1',
    '# scancel, preemption: Slurm sends SIGTERM to every process of the job, priorgrad included (it',
    '# checkpoints and stops); this shell only has to outlive it, not forward it (a second SIGTERM',
    '# would make priorgrad quit without saving)',
    'trap true TERM',
    'wait $pid; status=$?',
    '# (wait returns early when a trapped signal arrives: wait for priorgrad itself)',
    'while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done',
    'if [ "$requeue" = 1 ]; then scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; fi',
    '# the task that finishes the last cell also writes the report (so a task requeued after the',
    '# report job ran still leaves a report of the whole grid)',
    `if [ "$status" = 0 ] && ! ${priorgrad} sweep --grid ${sh(o.gridFile)} --out ${sh(root)} --list | grep -q '^pending'; then`,
    `  ${reportCommand}`,
    'fi',
    'exit $status',
    '',
  ].join('\n')
  const report = [
    ...header([`--job-name=${name}-report`, '--cpus-per-task=1', '--time=1:00:00', `--output=${sh(path.join(logs, 'report_%j.out'))}`]),
    `cd ${sh(process.cwd())}`,
    `exec ${reportCommand}`,
    '',
  ].join('\n')
  const submit = [
    '#!/bin/bash',
    '# submits the array job and the report job that runs after all its tasks have ended',
    'set -euo pipefail',
    `cd ${sh(dir)}`,
    'array=$(sbatch --parsable sweep.sbatch)',
    'array=${array%%;*}',
    'report=$(sbatch --parsable --dependency=afterany:$array report.sbatch)',
    'report=${report%%;*}',
    `echo "array job $array (${tasks} tasks), report job $report (after the array): squeue -j $array,$report"`,
    '',
  ].join('\n')

  fs.mkdirSync(logs, { recursive: true })
  const files = { sweep: path.join(dir, 'sweep.sbatch'), report: path.join(dir, 'report.sbatch'), submit: path.join(dir, 'submit.sh') }
  writeFileAtomic(files.sweep, sweep)
  writeFileAtomic(files.report, report)
  writeFileAtomic(files.submit, submit)
  for (const f of Object.values(files)) fs.chmodSync(f, 0o755)
  return { dir, ...files, tasks }
}

/**
 * Run submit.sh of written scripts: returns the array and report job ids.
 * @example const { array, report } = submitSlurm(scripts)
 */
export function submitSlurm(s: SlurmScripts): { array: string; report: string; output: string } {
  const found = spawnSync('sbatch', ['--version'], { encoding: 'utf8' })
  if (found.error || found.status !== 0) {
    throw new Error(`sbatch not found on this machine's PATH (${found.error?.message ?? found.stderr.trim()}): the scripts are in ${s.dir}; submit them on a Slurm login node with: bash ${s.submit}`)
  }
  const r = spawnSync('bash', [s.submit], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${s.submit} failed (exit ${r.status}): ${r.stderr.trim()}`)
  const m = /array job (\S+) .*report job (\S+) /.exec(r.stdout)
  if (!m) throw new Error(`${s.submit}: unexpected output '${r.stdout.trim()}'`)
  return { array: m[1]!, report: m[2]!, output: r.stdout }
}
