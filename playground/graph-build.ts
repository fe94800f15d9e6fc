// The graph tab's expressions, built in the worker from requiresGrad leaves and turned into DOT
// text by the library's own toDot (src/autograd/graph.ts). The page draws that text, not a
// second description of the graph, so what the reader sees is what toDot says. Leaves get short
// names (toDot prints "x [4,3] grad"); composed ops (softmax, mean, crossEntropy) show up as the
// primitives they are built from, which is the point of looking.
import { F, Generator, getBackend, randint, randn, setBackend, tidy, toDot, type Tensor } from '../src/browser.js'
import { GRAPH_EXPRESSIONS } from './protocol.js'

/**
 * DOT text of one of GRAPH_EXPRESSIONS. Built on the reference backend (a few tiny tensors are
 * not worth compiling GPU kernels for) and switched back afterwards, so a run in progress on
 * another backend is not disturbed: the graph is built between two of its steps.
 */
export function graphDot(expression: string): string {
  if (!(GRAPH_EXPRESSIONS as readonly string[]).includes(expression)) {
    throw new Error(`graph: unknown expression ${JSON.stringify(expression)}; choose one of ${GRAPH_EXPRESSIONS.join(', ')}`)
  }
  const previous = getBackend().name
  setBackend('reference')
  try {
    return tidy(() => {
      const g = new Generator(0)
      const names = new Map<Tensor, string>()
      const leaf = (name: string, shape: number[]): Tensor => {
        const t = randn(shape, { generator: g }).requiresGrad_()
        names.set(t, `${name} `)
        return t
      }
      let root: Tensor
      switch (expression) {
        case '(a*b).sum()':
          root = leaf('a', [2, 3]).mul(leaf('b', [2, 3])).sum()
          break
        case 'relu(x@W+b).mean()':
          root = leaf('x', [4, 3]).matmul(leaf('W', [3, 2])).add(leaf('b', [2])).relu().mean()
          break
        case 'softmax(x).log()':
          root = leaf('x', [2, 3]).softmax(1).log()
          break
        case 'crossEntropy(x@W, y)': {
          const y = randint(0, 3, [4], { generator: g })
          names.set(y, 'y ')
          root = F.crossEntropy(leaf('x', [4, 5]).matmul(leaf('W', [5, 3])), y)
          break
        }
        default:
          root = leaf('x', [4, 3]).matmul(leaf('W1', [3, 5])).tanh().matmul(leaf('W2', [5, 2]))
      }
      return toDot(root, names)
    })
  } finally {
    setBackend(previous)
  }
}
