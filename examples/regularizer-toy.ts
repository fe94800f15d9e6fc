// The paper's dynamic informative-prior regularizer on a toy weight vector of N = 6 entries,
// small enough to redo by hand (docs/06-the-papers-regularizer.md walks through these numbers).
// It prints the temperatures p, the distribution P', the masks, the counts c, lambda_eff, the
// penalty and its gradient, and recomputes the masks independently from the same draws.
// Run: npx tsx examples/regularizer-toy.ts
import { DynamicPriorRegularizer, Generator, noGrad, regularizers, tensor } from 'priorgrad'

const seed = 4
const [lambda, S, sp, alpha] = [0.1, 2, 1 / 3, 0.9]
const w = tensor([0.8, -1.5, 0.2, 1.0, -0.4, 2.0], { dtype: 'float64', requiresGrad: true })
const N = w.numel()
const k = Math.max(1, Math.round(sp * N))
const fmt = (xs: ArrayLike<number>, d = 3): string => `[${Array.from(xs, (v) => v.toFixed(d)).join(', ')}]`

const reg = new DynamicPriorRegularizer({ lambda, S, sp, alpha, generator: new Generator(seed) })
const R = reg.penalty([['w', w]])
R.backward()
const masks = reg.lastMasks('w')
const counts = reg.lastCounts('w')
const lambdaEff = reg.lastSample().groups[0]!.lambdaEff

console.log(`w = ${fmt(w.data, 1)}   N = ${N}, sp = 1/3 -> k = ${k} kept per experiment, S = ${S}, lambda = ${lambda}, seed ${seed}`)

// The same computation by hand: on the first call W_old = W, so P' = softmax(p * |w|) whatever alpha is.
// The evaluation draws two 32-bit keys from the generator; temperature j of experiment s is a hash
// of the counter s*N + j under those keys (24 random bits in [0, 1)).
const keys = regularizers.drawKeys(new Generator(seed))
console.log(`keys k1 = ${keys.k1}, k2 = ${keys.k2}`)
let agree = true
for (let s = 0; s < S; s++) {
  const p = Array.from({ length: N }, (_, j) => regularizers.temperature(s * N + j, keys.k1, keys.k2))
  const score = p.map((pj, j) => pj * Math.abs(w.data[j]!))
  const z = score.reduce((acc, v) => acc + Math.exp(v), 0)
  const P = score.map((v) => Math.exp(v) / z)
  // Top k of P' (ties to the lower index); softmax keeps the order, so this is the top k of p * |w|.
  const top = P.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, j]) => j)
  const mask = Array.from({ length: N }, (_, j) => (top.includes(j) ? 1 : 0))
  const got = Array.from(masks.data.subarray(s * N, (s + 1) * N))
  agree &&= mask.every((m, j) => m === got[j])
  console.log(`experiment ${s + 1}: p = ${fmt(p)}`)
  console.log(`              p*|w| = ${fmt(score)}`)
  console.log(`              P' = ${fmt(P)}`)
  console.log(`              mask I_${s + 1} = [${got.join(', ')}]  (kept entries ${top.sort((a, b) => a - b).join(' and ')})`)
}
console.log(`counts c = [${Array.from(counts.data).join(', ')}]   max c = ${Math.max(...counts.data)}   lambda_eff = lambda / max c = ${lambdaEff}`)
console.log(`penalty R = lambda_eff * sum_j c_j w_j^2 = ${R.item().toFixed(6)}`)
console.log(`gradient dR/dw = 2 lambda_eff c w = ${fmt(w.grad!.data, 4)}`)
console.log(`hand computation agrees with the regularizer's masks: ${agree ? 'yes' : 'NO'}`)

// A second evaluation after the weights moved: now W_old (the weights of the first call) enters P' with weight 1 - alpha.
noGrad(() => w.copy_(tensor([0.7, -1.4, 0.3, 1.1, -0.3, 1.8])))
reg.penalty([['w', w]])
console.log(`second call (w moved, momentum alpha = ${alpha}): counts c = [${Array.from(reg.lastCounts('w').data).join(', ')}]`)
if (!agree) process.exit(1)
