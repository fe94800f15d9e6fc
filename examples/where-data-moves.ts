// Where a training step's data lives, counted by backendStats() (docs/04, "Where tensors live").
// The same cnn2 Adam step three ways on the wasm backend: with plain host arrays (every kernel
// copies its inputs into WebAssembly memory and its output back), inside tidy() (the step's
// tensors live in that memory, the weights still on the host), and after model.to() (the weights
// and the optimizer state live there too: only the batch is copied). The losses are the same bits.
// Run: npx tsx examples/where-data-moves.ts
import { Adam, F, Generator, backendStats, createModel, randint, randn, setBackend, statsSince, tidy } from 'priorgrad'

setBackend('wasm')
const batch = 32

function run(how: 'host arrays' | 'tidy()' | 'tidy() + model.to()'): number {
  const g = new Generator(0)
  const model = createModel('cnn2', { numClasses: 10, inChannels: 1, generator: g })
  if (how === 'tidy() + model.to()') model.to()
  const opt = new Adam(model.parameters(), { lr: 1e-3 })
  const x = randn([batch, 1, 28, 28], { generator: g })
  const y = randint(0, 10, [batch], { generator: g })
  const step = (): number => {
    opt.zeroGrad()
    const loss = F.crossEntropy(model.forward(x), y)
    loss.backward()
    opt.step()
    return loss.item()
  }
  const once = (): number => (how === 'host arrays' ? step() : tidy(step))
  once() // the first step allocates the blocks the later ones reuse
  const before = backendStats()
  const loss = once()
  const moved = statsSince(before, backendStats())
  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
  console.log(
    `${how.padEnd(20)} ${String(moved.kernelCalls).padStart(6)} ${String(moved.uploads).padStart(8)} ${mb(moved.uploadBytes).padStart(6)} ` +
      `${String(moved.downloads).padStart(10)} ${mb(moved.downloadBytes).padStart(6)}   loss ${loss}`,
  )
  return loss
}

console.log(`one cnn2 Adam step, batch ${batch}, on wasm:`)
console.log(`${'how'.padEnd(20)} ${'kernels'.padStart(6)} ${'uploads'.padStart(8)} ${'MB'.padStart(6)} ${'downloads'.padStart(10)} ${'MB'.padStart(6)}`)
const losses = (['host arrays', 'tidy()', 'tidy() + model.to()'] as const).map(run)
console.log(`the same loss every way: ${losses.every((l) => l === losses[0]) ? 'yes' : 'NO'}`)
process.exit(losses.every((l) => l === losses[0]) ? 0 : 1)
