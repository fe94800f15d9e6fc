// The bounds experiment of the paper's Sec. 2.3 (Fig. 2): L1, L2 and the proposed penalty
// (uniform prior, no momentum) of random vectors of growing density, and a numerical check of
// Eq. 7. A smaller version of scripts/bounds.ts, which also writes the SVG figure.
// Run: npx tsx examples/bounds.ts   (EXAMPLE_SMALL=1: N = 1000, 5 densities, 5 draws)
import { Generator, boundsExperiment, regularizers } from 'priorgrad'

const { formatBoundsTable, logSpace } = regularizers

const small = process.env['EXAMPLE_SMALL'] === '1'
const N = small ? 1000 : 10000
const densities = logSpace(-3, 0, small ? 5 : 13)
const seeds = small ? 5 : 20
const [S, sp] = [10, 0.01]

const rows = boundsExperiment({ N, S, sp, densities, seeds, generator: new Generator(0) })
console.log(`N = ${N}, S = ${S}, sp = ${sp}, ${seeds} draws per density; means over the draws`)
console.log(formatBoundsTable(rows))
const holds = rows.filter((r) => r.verdict !== 'violated').length
console.log(`Eq. 7 with lambda' = lambda_eff * sqrt(S) holds (or is within sampling noise) at ${holds} of ${rows.length} densities`)
const sparse = rows[0]!
console.log(`at density ${sparse.density}: proposed ${sparse.proposed.toPrecision(3)} < L2 ${sparse.l2.toPrecision(3)} < L1 ${sparse.l1.toPrecision(3)}: ${sparse.proposed < sparse.l2 && sparse.l2 <= sparse.l1}`)
