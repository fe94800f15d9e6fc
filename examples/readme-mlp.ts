// The README's example: a tiny MLP from raw tensor ops, trained by hand-written SGD
// on two interleaved spirals (a problem a linear model cannot solve).
import { Generator, noGrad, randn, tensor, F } from 'priorgrad'

const g = new Generator(0)
const steps = Number(process.env['STEPS'] ?? 300)

// 200 points on two spirals, labels 0 and 1.
const xs: number[][] = []
const ys: number[] = []
for (let i = 0; i < 200; i++) {
  const label = i % 2
  const r = (i / 200) * 4 + 0.5
  const angle = r * 1.75 + label * Math.PI
  xs.push([r * Math.cos(angle) + 0.1 * g.normal(), r * Math.sin(angle) + 0.1 * g.normal()])
  ys.push(label)
}
const x = tensor(xs)
const y = tensor(ys, { dtype: 'int32' })

// Parameters of a 2-32-32-2 MLP, scaled like Xavier so the signal neither dies nor explodes.
const w1 = randn([2, 32], { generator: g }).mul(Math.sqrt(1 / 2)).requiresGrad_()
const b1 = randn([32], { generator: g }).mul(0).requiresGrad_()
const w2 = randn([32, 32], { generator: g }).mul(Math.sqrt(1 / 32)).requiresGrad_()
const b2 = randn([32], { generator: g }).mul(0).requiresGrad_()
const w3 = randn([32, 2], { generator: g }).mul(Math.sqrt(1 / 32)).requiresGrad_()
const params = [w1, b1, w2, b2, w3]

for (let step = 0; step <= steps; step++) {
  const h1 = x.matmul(w1).add(b1).tanh()
  const h2 = h1.matmul(w2).add(b2).tanh()
  const logits = h2.matmul(w3)
  const loss = F.crossEntropy(logits, y)
  loss.backward()
  noGrad(() => {
    for (const p of params) {
      // p <- p - lr * grad, written in place (copy_, as in PyTorch).
      p.copy_(p.sub(p.grad!.mul(0.5)))
      p.grad = null
    }
  })
  if (step % 50 === 0) {
    const accuracy = logits.argmax(1).eq(y).float().mean().item()
    console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`)
  }
}
