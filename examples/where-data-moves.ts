// Where a training step's data lives, counted by backendStats() (docs/04, "Where tensors live").
// The same cnn2 Adam step three ways on the wasm backend: with plain host arrays (every kernel
// copies its inputs into WebAssembly memory and its output back), inside tidy() (the step's
// tensors live in that memory, the weights still on the host), and after model.to() (the weights
// and the optimizer state live there too: only the batch is copied). The losses are the same bits.
// Then on gpujs-webasm, where every kernel's output stays on the device (a texture on GL): a
// step uploads the batch (images and labels) and reads back only the loss.
// Run: npx tsx examples/where-data-moves.ts
import { Adam, F, Generator, backendStats, createModel, randint, randn, registerGpujsBackend, setBackend, statsSince, tidy } from 'priorgrad'

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
    opt.zeroGrad() // inside tidy() the gradients then go with the scope
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

const header = `${'how'.padEnd(20)} ${'kernels'.padStart(6)} ${'uploads'.padStart(8)} ${'MB'.padStart(6)} ${'downloads'.padStart(10)} ${'MB'.padStart(6)}`
setBackend('wasm')
console.log(`one cnn2 Adam step, batch ${batch}, on wasm:`)
console.log(header)
const losses = (['host arrays', 'tidy()', 'tidy() + model.to()'] as const).map(run)
const same = losses.every((l) => l === losses[0])
console.log(`the same loss every way: ${same ? 'yes' : 'NO'}`)

registerGpujsBackend()
setBackend('gpujs-webasm')
console.log(`\nthe same step on gpujs-webasm (GPU.js's WebAssembly mode; on a GPU the results are textures):`)
console.log(header)
const gpujs = run('tidy() + model.to()')
console.log(`the same loss as wasm to float32 rounding: ${Math.abs(gpujs - losses[0]!) <= 1e-5 * Math.abs(losses[0]!) ? 'yes' : 'NO'}`)
process.exit(same ? 0 : 1)
