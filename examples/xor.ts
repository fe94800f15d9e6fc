// XOR with raw tensor ops: a 2-8-1 network, written out by hand (no Module, no optimizer),
// trained with plain gradient descent. XOR is the smallest problem a linear model cannot solve,
// so the hidden layer has to learn something. Run: npx tsx examples/xor.ts  (STEPS=... to change)
import { Generator, noGrad, randn, tensor, zeros } from 'priorgrad'

const steps = Number(process.env['STEPS'] ?? 2000)
const lr = 0.5
const g = new Generator(0)

const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
const y = tensor([[0], [1], [1], [0]])

// Leaves of the graph: requiresGrad_() makes backward() fill their .grad.
const w1 = randn([2, 8], { generator: g }).requiresGrad_()
const b1 = zeros([8]).requiresGrad_()
const w2 = randn([8, 1], { generator: g }).mul(Math.sqrt(1 / 8)).requiresGrad_()
const b2 = zeros([1]).requiresGrad_()
const params = [w1, b1, w2, b2]

const forward = () => x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sigmoid()

for (let step = 0; step <= steps; step++) {
  const p = forward()
  // Binary cross-entropy, written with elementwise ops: -(y log p + (1 - y) log(1 - p)).
  const loss = y.mul(p.log()).add(y.neg().add(1).mul(p.neg().add(1).log())).mean().neg()
  loss.backward()
  // The update must not be recorded: noGrad, then write the new values in place with copy_.
  noGrad(() => {
    for (const t of params) {
      t.copy_(t.sub(t.grad!.mul(lr)))
      t.grad = null
    }
  })
  if (step % Math.max(1, Math.floor(steps / 4)) === 0) console.log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}`)
}

const p = noGrad(forward)
const rows = x.toArray() as number[][]
rows.forEach((r, i) => console.log(`xor(${r[0]}, ${r[1]}) = ${p.data[i]!.toFixed(3)}  (target ${y.data[i]})`))
const correct = rows.filter((_, i) => Math.round(p.data[i]!) === y.data[i]).length
console.log(`correct: ${correct}/4`)
