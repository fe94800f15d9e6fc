// Merge finished runs into report.md: a table shaped like the paper's Table 2 (dataset, network,
// loss, regularizer, weight density, test accuracy; mean ± sample std over seeds, from each run's
// last epoch row) and the four training curves of Figs. 3-5 (test loss, test accuracy, weight
// magnitude, weight density against iteration; one line per configuration = the mean over seeds
// with a min..max band) as SVGs, plus a 2x2 figure.svg, and the command lines that made the runs.
// Runs whose configs differ only in 'run' and 'logging' options (seed, out, backend, dataDir,
// evalEvery, logEvery, divergenceFactor) form one configuration.
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../io/atomic.js'
import { gridOfCharts } from '../plot/grid.js'
import { seriesFromRuns } from '../plot/runs.js'
import { lineChart, type Series } from '../plot/svg.js'
import { defaultConfig, defaultLambda, flagOf, OPTIONS, type ExperimentConfig } from './config.js'
import { DENSITY_KEYS, readRows, type MetricsRow } from './metrics.js'
import { paperRow } from './paper.js'
import type { RunRecord } from './train.js'

export interface Run {
  dir: string
  record: RunRecord
  rows: MetricsRow[]
}

export interface Configuration {
  label: string
  config: ExperimentConfig
  runs: Run[]
}

/**
 * Keys that do not make another configuration: the replicate index (seed), paths and backend
 * ('run'), and the cadence of rows and evaluations and the divergence guard ('logging'), which
 * change no trained weight. Only hyperparameters and data choices tell configurations apart.
 */
const NOT_CONFIG = new Set<keyof ExperimentConfig>(OPTIONS.filter((o) => o.role === 'run' || o.role === 'logging').map((o) => o.key))
const REG_ORDER = ['none', 'l1', 'l2', 'dynamic-prior']
const DYNAMIC_KEYS = new Set<keyof ExperimentConfig>(['sp', 'S', 'alpha', 'score', 'temperature', 'norm', 'normalize', 'threshold', 'scope', 'temperatureBits', 'normalizer', 'priorImplementation'])
const PROJECTED_KEYS = new Set<keyof ExperimentConfig>(['projectedS', 'projectedSp', 'projectedScore'])

/**
 * The runs under `dirs`: each dir is a run (config.json + metrics.jsonl) or a folder searched
 * for runs (e.g. a sweep root), up to 3 levels deep, in sorted order.
 * @example findRuns(['runs/mnist']).length
 */
export function findRuns(dirs: string[]): Run[] {
  const runs: Run[] = []
  const visit = (dir: string, depth: number): void => {
    if (fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'metrics.jsonl'))) {
      const record = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as RunRecord
      runs.push({ dir, record, rows: readRows(dir) })
      return
    }
    if (depth === 0) return
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'checkpoint') visit(path.join(dir, e.name), depth - 1)
    }
  }
  for (const d of dirs) {
    if (!fs.existsSync(d)) throw new Error(`report: ${d} does not exist`)
    visit(d, 3)
  }
  return runs
}

/** What identifies a configuration: the config without the per-run keys (and unused options). */
function identity(c: ExperimentConfig): Partial<ExperimentConfig> {
  const out: Record<string, unknown> = {}
  for (const o of OPTIONS) {
    if (NOT_CONFIG.has(o.key)) continue
    if (DYNAMIC_KEYS.has(o.key) && c.reg !== 'dynamic-prior') continue
    if (PROJECTED_KEYS.has(o.key) && c.loss !== 'projected-ce') continue
    out[o.key] = c[o.key]
  }
  return out as Partial<ExperimentConfig>
}

/**
 * Group runs by configuration, ordered like Table 2, each with a short label that names the
 * regularizer and whatever else differs between the configurations.
 * @example groupRuns(findRuns(['runs/mnist'])).map((g) => g.label)
 */
export function groupRuns(runs: Run[]): Configuration[] {
  const groups = new Map<string, Configuration>()
  for (const run of runs) {
    const key = JSON.stringify(identity(run.record.config))
    const g = groups.get(key) ?? { label: '', config: run.record.config, runs: [] }
    g.runs.push(run)
    groups.set(key, g)
  }
  const list = [...groups.values()]
  const ids = list.map((g) => identity(g.config) as Record<string, unknown>)
  // Keys that differ among the configurations that use them (sp only among dynamic-prior runs, ...).
  const varying = OPTIONS.map((o) => o.key).filter((k) => k !== 'reg' && k !== 'lambda' && k !== 'sp' && new Set(ids.filter((i) => k in i).map((i) => JSON.stringify(i[k]))).size > 1)
  for (const g of list) {
    const c = g.config
    const extra = varying.filter((k) => (identity(c) as Record<string, unknown>)[k] !== undefined).map((k) => `${k}=${String(c[k])}`)
    g.label = [regLabel(c), ...extra].join(' ')
  }
  // Table 2's order: dataset, network, loss, regularizer, then sp and lambda as numbers
  const rank = (c: ExperimentConfig): (string | number)[] => [c.dataset, c.model, c.loss, REG_ORDER.indexOf(c.reg), c.sp, c.lambda ?? 0]
  const compare = (x: (string | number)[], y: (string | number)[]): number => {
    for (let i = 0; i < x.length; i++) {
      const [a, b] = [x[i]!, y[i]!]
      if (a !== b) return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))
    }
    return 0
  }
  return list.sort((a, b) => compare(rank(a.config), rank(b.config)))
}

function regLabel(c: ExperimentConfig): string {
  if (c.reg === 'none') return 'none'
  if (c.reg === 'dynamic-prior') return `proposed sp=${c.threshold === null ? c.sp : `T${c.threshold}`} λ=${c.lambda}`
  return `${c.reg.toUpperCase()} λ=${c.lambda}`
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length
const sampleStd = (v: number[]): number => (v.length < 2 ? NaN : Math.sqrt(v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1)))

function meanStd(v: number[], digits: (x: number) => string): string {
  if (v.length === 0) return '-'
  const s = sampleStd(v)
  return Number.isFinite(s) ? `${digits(mean(v))} ± ${digits(s)}` : digits(mean(v))
}

const sci = (x: number): string => (x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(2))

/** The last epoch row of a run, or null when no epoch finished. */
export function finalEpoch(run: Run): MetricsRow | null {
  const rows = run.rows.filter((r) => r.kind === 'epoch')
  return rows[rows.length - 1] ?? null
}

/**
 * The Table 2 markdown table (density at `densityKey`).
 * @example tableMarkdown(groupRuns(runs), 'density_1e-3')
 */
export function tableMarkdown(groups: Configuration[], densityKey: (typeof DENSITY_KEYS)[number] = 'density_1e-3'): string {
  const tau = densityKey.replace('density_', '')
  const head = `| Dataset | Network | Loss | Regularizer | Wt. density (\\|w\\| > ${tau}) | Test accuracy | Test loss | Epochs | Seeds | Paper: density, accuracy | Accuracy − paper |`
  const lines = [head, '|---|---|---|---|---|---|---|---|---|---|---|']
  for (const g of groups) {
    const finals = g.runs.map(finalEpoch).filter((r): r is MetricsRow => r !== null)
    const c = g.config
    const cells = [
      c.dataset, c.model, c.loss === 'ce' ? 'CE' : 'Projected CE', g.label,
      meanStd(finals.map((r) => r[densityKey]), sci),
      meanStd(finals.map((r) => r.testAccuracy!), (x) => x.toFixed(4)),
      meanStd(finals.map((r) => r.testLoss!), (x) => x.toFixed(4)),
      finals.length > 0 ? String(Math.max(...finals.map((r) => r.epoch))) : '-',
      `${finals.length}${finals.length < g.runs.length ? ` (+${g.runs.length - finals.length} unfinished)` : ''}`,
      ...paperCells(c, finals.map((r) => r.testAccuracy!)),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/**
 * The spec's fair comparison: among configurations that differ only in lambda (two or more
 * lambdas tried), the one with the best mean test accuracy, next to the default ("equal") lambda's
 * row. Null when no configuration was run at several lambdas.
 * @example bestLambdaMarkdown(groupRuns(runs))
 */
export function bestLambdaMarkdown(groups: Configuration[], densityKey: (typeof DENSITY_KEYS)[number] = 'density_1e-3'): string | null {
  const families = new Map<string, Configuration[]>()
  for (const g of groups) {
    if (g.config.reg === 'none') continue
    const key = JSON.stringify({ ...identity(g.config), lambda: null })
    families.set(key, [...(families.get(key) ?? []), g])
  }
  const tau = densityKey.replace('density_', '')
  const lines = [
    `| Regularizer | λ tried | Equal λ: accuracy, density (\\|w\\| > ${tau}) | Best λ | Best λ: accuracy, density | Seeds |`,
    '|---|---|---|---|---|---|',
  ]
  const summary = (g: Configuration | undefined): string => {
    const finals = (g?.runs ?? []).map(finalEpoch).filter((r): r is MetricsRow => r !== null)
    return finals.length === 0 ? '-' : `${meanStd(finals.map((r) => r.testAccuracy!), (x) => x.toFixed(4))}, ${meanStd(finals.map((r) => r[densityKey]), sci)}`
  }
  const accuracy = (g: Configuration): number => {
    const finals = g.runs.map(finalEpoch).filter((r): r is MetricsRow => r !== null)
    return finals.length === 0 ? -Infinity : mean(finals.map((r) => r.testAccuracy!))
  }
  for (const family of families.values()) {
    if (family.length < 2) continue
    const c = family[0]!.config
    const equal = family.find((g) => g.config.lambda === defaultLambda(c.reg))
    // ties go to the smaller lambda (the family is sorted by lambda)
    const best = family.reduce((a, b) => (accuracy(b) > accuracy(a) ? b : a))
    const name = regLabel({ ...c, lambda: NaN }).replace(' λ=NaN', '')
    lines.push(`| ${[name, family.map((g) => g.config.lambda).join(', '), summary(equal), String(best.config.lambda), summary(best), String(best.runs.length)].join(' | ')} |`)
  }
  return lines.length > 2 ? lines.join('\n') : null
}

// how a difference compares with the spread over seeds, in words
function spreadWords(diff: number, sd: number): string {
  if (!(Number.isFinite(sd) && sd > 0)) return 'one seed only, so no spread to compare with'
  const r = Math.abs(diff) / sd
  const which = r < 1 ? 'smaller than the spread over seeds' : r <= 2 ? 'comparable to the spread over seeds (at most twice it)' : 'larger than the spread over seeds'
  return `${r.toFixed(1)} of our seed standard deviations: ${which}`
}

/**
 * The comparison with the paper's Table 2 in plain words: for each configuration at its default
 * lambda with a paper row, our mean accuracy against the paper's and whether the difference is
 * larger than the spread over seeds; the paper's proposed-minus-L2 gap against ours, paired by
 * seed; and a word on the densities. Null when no configuration has a paper row.
 * @example paperComparisonMarkdown(groupRuns(runs))
 */
export function paperComparisonMarkdown(groups: Configuration[], densityKey: (typeof DENSITY_KEYS)[number] = 'density_1e-3'): string | null {
  const accuracyBySeed = (g: Configuration): Map<number, number> =>
    new Map(g.runs.flatMap((r) => {
      const f = finalEpoch(r)
      return f ? [[r.record.seed, f.testAccuracy!] as [number, number]] : []
    }))
  const rows = groups
    .filter((g) => g.config.lambda === defaultLambda(g.config.reg))
    .flatMap((g) => {
      const p = paperRow(g.config)
      const acc = [...accuracyBySeed(g).values()]
      return p && acc.length > 0 ? [{ g, p, acc }] : []
    })
  if (rows.length === 0) return null
  const tau = densityKey.replace('density_', '')
  const lines: string[] = []
  for (const { g, p, acc } of rows) {
    const diff = mean(acc) - p.accuracy
    lines.push(`- **${g.label}** (${acc.length} seed${acc.length > 1 ? 's' : ''}, ${g.config.epochs} epoch${g.config.epochs > 1 ? 's' : ''}): test accuracy ` +
      `${mean(acc).toFixed(4)} against the paper's ${p.accuracy}, ${Math.abs(diff).toFixed(4)} ${diff < 0 ? 'lower' : 'higher'}; ${spreadWords(diff, sampleStd(acc))}.`)
  }
  // the paper's proposed - L2 gap, and ours paired by seed
  const find = (reg: ExperimentConfig['reg']) => rows.find((r) => r.g.config.reg === reg)
  const [proposed, l2] = [find('dynamic-prior'), find('l2')]
  if (proposed && l2 && proposed.g.config.dataset === l2.g.config.dataset && proposed.g.config.model === l2.g.config.model) {
    const a = accuracyBySeed(proposed.g)
    const b = accuracyBySeed(l2.g)
    const paired = [...a.keys()].filter((seed) => b.has(seed)).map((seed) => a.get(seed)! - b.get(seed)!)
    const gap = proposed.p.accuracy - l2.p.accuracy
    const sign = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`
    lines.push(`- The paper's gap, proposed − L2, is ${sign(gap)}. Ours is ${sign(mean(proposed.acc) - mean(l2.acc))}` +
      (paired.length > 1 ? `; paired by seed (same initialisation and data order) ${paired.map(sign).join(', ')}, mean ${sign(mean(paired))}, ${spreadWords(mean(paired), sampleStd(paired))}.` : '.'))
  }
  const densities = rows.map(({ g, p }) => {
    const d = g.runs.map(finalEpoch).filter((r): r is MetricsRow => r !== null).map((r) => r[densityKey])
    return `${g.label}: ${sci(mean(d))} (paper ${p.density.toExponential(1)})`
  })
  lines.push(`- Weight density at |w| > ${tau}: ${densities.join('; ')}. The paper does not state its threshold, so these do not compare directly.`)
  return lines.join('\n')
}

/** The paper's Table 2 values, and how far our mean accuracy is from them in seed standard deviations. */
function paperCells(c: ExperimentConfig, accuracies: number[]): [string, string] {
  const p = paperRow(c)
  if (!p || accuracies.length === 0) return [p ? `${p.density.toExponential(1)}, ${p.accuracy}` : '-', '-']
  const diff = mean(accuracies) - p.accuracy
  const sd = sampleStd(accuracies)
  const inStd = Number.isFinite(sd) && sd > 0 ? ` (${(diff / sd).toFixed(1)} sd)` : ''
  return [`${p.density.toExponential(1)}, ${p.accuracy}`, `${diff >= 0 ? '+' : ''}${diff.toFixed(4)}${inStd}`]
}

type Metric = 'testLoss' | 'testAccuracy' | 'weightMagnitude' | (typeof DENSITY_KEYS)[number]

/** One chart's series: per configuration, the mean over seeds at the iterations all seeds logged. */
function seriesFor(groups: Configuration[], metric: Metric): Series[] {
  const out: Series[] = []
  for (const g of groups) {
    const perRun = g.runs.map((r) => {
      let rows = r.rows.filter((row) => row.kind === 'iter' && row[metric] !== undefined)
      // Without --eval-every rows the test curves fall back to the epoch rows.
      if (rows.length === 0) rows = r.rows.filter((row) => row.kind === 'epoch')
      return new Map(rows.map((row) => [row.iteration, row[metric] as number]))
    })
    const xs = [...perRun[0]!.keys()].filter((x) => perRun.every((m) => m.has(x))).sort((a, b) => a - b)
    if (xs.length === 0) continue
    out.push(seriesFromRuns(g.label, xs, perRun.map((m) => xs.map((x) => m.get(x)!))))
  }
  return out
}

export interface ReportOptions {
  out: string
  densityKey?: (typeof DENSITY_KEYS)[number]
}

/**
 * Write report.md, loss.svg, accuracy.svg, magnitude.svg, density.svg and figure.svg into `out`.
 * @example writeReport(['runs/mnist'], { out: 'results/mnist' })
 */
export function writeReport(dirs: string[], options: ReportOptions): { file: string; runs: number; configurations: number } {
  const runs = findRuns(dirs)
  if (runs.length === 0) throw new Error(`report: no runs (directories with config.json and metrics.jsonl) under ${dirs.join(', ')}`)
  const groups = groupRuns(runs)
  const densityKey = options.densityKey ?? 'density_1e-3'
  const tau = densityKey.replace('density_', '')
  const best = bestLambdaMarkdown(groups, densityKey)
  const comparison = paperComparisonMarkdown(groups, densityKey)
  fs.mkdirSync(options.out, { recursive: true })
  const charts: Array<[string, string, string, Metric]> = [
    ['loss.svg', 'Test loss', 'cross-entropy', 'testLoss'],
    ['accuracy.svg', 'Test accuracy', 'accuracy', 'testAccuracy'],
    ['magnitude.svg', 'Weight magnitude', 'mean |w|', 'weightMagnitude'],
    ['density.svg', `Weight density (|w| > ${tau})`, 'density', densityKey],
  ]
  const svgs = charts.map(([file, title, yLabel, metric]) => {
    const svg = lineChart({ title, xLabel: 'iteration', yLabel, series: seriesFor(groups, metric) })
    writeFileAtomic(path.join(options.out, file), svg)
    return svg
  })
  writeFileAtomic(path.join(options.out, 'figure.svg'), gridOfCharts(svgs, 2))
  const md = [
    '# Report',
    '',
    `${runs.length} runs in ${groups.length} configurations, from ${dirs.join(', ')}. Values are the mean ± sample standard deviation over seeds`,
    `of each run's last epoch row (test metrics on the full test set); weight density is the fraction of regularized weights`,
    `(Linear and Conv2d weights) with |w| > ${tau}. Options not shown are the defaults of \`priorgrad train --help\`.`,
    'The paper columns quote its Table 2 (proposed = sp 0.01); "sd" is the difference in sample standard deviations over our',
    'seeds. The paper does not state the threshold of its weight density, so only its accuracies compare directly.',
    '',
    tableMarkdown(groups, densityKey),
    '',
    ...(comparison === null ? [] : ['## Against the paper', '', comparison, '']),
    ...(best === null ? [] : [
      '## Best lambda per regularizer',
      '',
      'At equal lambda the proposed penalty touches only about sp of the weights, so the spec also compares each regularizer at',
      `its best lambda (highest mean test accuracy among those tried) next to its default lambda (\`priorgrad train --help\`).`,
      '',
      best,
      '',
    ]),
    'Curves: mean over seeds, band min..max; test curves use the test subset of each run (`--test-subset`).',
    '',
    '![loss, accuracy, weight magnitude, weight density](figure.svg)',
    '',
    ...charts.map(([file, title]) => `- [${title}](${file})`),
    '',
    '## Configurations',
    '',
    ...groups.map((g) => `- **${g.label}**: \`${equivalentCommand(g.config)}\` with seeds ${g.runs.map((r) => r.record.seed).join(', ')}`),
    '',
    '## Commands that produced these runs',
    '',
    '```',
    ...unique(runs.flatMap((r) => [r.record.command, ...(r.record.resumes ?? []).map((x) => x.command)].map(shellJoin))),
    '```',
    '',
  ].join('\n')
  const file = path.join(options.out, 'report.md')
  writeFileAtomic(file, md)
  return { file, runs: runs.length, configurations: groups.length }
}

/** `priorgrad train` with the flags that differ from the defaults (seed and out left out). */
export function equivalentCommand(c: ExperimentConfig): string {
  const d = defaultConfig() as unknown as Record<string, unknown>
  const flags: string[] = []
  for (const o of OPTIONS) {
    if (o.key === 'seed' || o.key === 'out' || o.key === 'backend') continue
    const v = c[o.key]
    // A run recorded before an option existed ran with its default.
    if (v === undefined) continue
    if (o.key === 'lambda' || JSON.stringify(v) !== JSON.stringify(d[o.key])) {
      if (o.key === 'lambda' && c.reg === 'none') continue
      if (DYNAMIC_KEYS.has(o.key) && c.reg !== 'dynamic-prior') continue
      flags.push(`--${flagOf(o.key)} ${v === null ? o.nullWord : String(v)}`)
    }
  }
  return ['priorgrad train', ...flags].join(' ')
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)]
}

function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[\w./=:,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}
