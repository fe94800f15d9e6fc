// A few Adam steps of the zoo's mlp on a random batch, all in tidy(), on the backend named: the
// losses and what each step moved between host and backend. Used by the browser pages (bundled
// with priorgrad's browser entry), on a page's main thread and in a Web Worker, and by the Node
// tests; it imports the exports common to both entries (src/core.ts), which register nothing.
import { Adam, F, Generator, backendStats, createModel, randint, randn, setBackend, statsSince, tidy } from '../../src/core.js'

export interface Trained {
  losses: number[]
  moved: { uploads: number; downloads: number }[]
}

export function trainSteps(backend: string, steps = 5): Trained {
  setBackend(backend)
  const g = new Generator(0)
  const model = createModel('mlp', { numClasses: 10, inChannels: 1, generator: g }).to()
  const opt = new Adam(model.parameters(), { lr: 1e-3 })
  const losses: number[] = []
  const moved: { uploads: number; downloads: number }[] = []
  for (let s = 0; s < steps; s++) {
    const x = randn([8, 1, 28, 28], { generator: g })
    const y = randint(0, 10, [8], { generator: g })
    const before = backendStats()
    losses.push(tidy(() => {
      const loss = F.crossEntropy(model.forward(x), y)
      loss.backward()
      opt.step()
      opt.zeroGrad()
      return loss.item()
    }))
    const d = statsSince(before, backendStats())
    moved.push({ uploads: d.uploads, downloads: d.downloads })
  }
  return { losses, moved }
}
