// Projected cross-entropy (Sec. 2.5.2): the logits take the weights' place in Eq. 4. For each
// sample and experiment s, draw p ~ U(0,1)^C, P = softmax(p ⊙ f(z)), keep the k = max(1, round(sp*C))
// classes with the largest P (ties: lower index) and always the target, and take the cross-entropy
// of the softmax restricted to the kept classes:
//   loss_bs = logsumexp_{c kept} z_bc - z_b,y_b        loss = mean over b and s
// With sp = 1 every class is kept and this is ordinary cross-entropy.
// NOTE: the restriction is where(mask, z, -Infinity) inside the max-shifted logsumexp. The max is a
// kept (finite) logit, so masked classes give exp(-inf) = 0 exactly, and their gradient is the
// where's zero branch: no inf * 0 anywhere, the result is exact and NaN-free.
import { Tensor } from '../tensor/tensor.js'
import { formatShape } from '../tensor/shape.js'
import { defaultGenerator, type Generator } from '../tensor/generator.js'
import { where } from '../autograd/functional.js'
import { Module } from '../nn/module.js'
import { AleaStream } from './uniform-fill.js'
import { selectTopK } from './selection.js'
import { keptCount } from './dynamic-prior-options.js'

/** Options of ProjectedCrossEntropy. */
export interface ProjectedCrossEntropyOptions {
  /** Experiments per sample, an integer >= 1 (default 1). */
  S?: number
  /** Fraction of the classes kept per experiment, in (0, 1] (default 0.3: 3 of 10 classes plus the target). */
  sp?: number
  /** f(z): 'value' z (high activations are likely; default) or 'literal' -z (Eq. 4 as printed). */
  score?: 'value' | 'literal'
  /** Source of the temperatures (default: the global generator at each call). */
  generator?: Generator
}

const NAME = 'ProjectedCrossEntropy'

/**
 * Cross-entropy restricted to sampled classes; a drop-in for CrossEntropyLoss.
 * @example const loss = new ProjectedCrossEntropy({ sp: 0.3, generator: new Generator(0) }).forward(logits, y)
 */
export class ProjectedCrossEntropy extends Module {
  readonly S: number
  readonly sp: number
  readonly score: 'value' | 'literal'
  private readonly generator: Generator | undefined
  private scratch: { p: Float64Array; scratch: Float64Array; kept: Int32Array } | null = null
  private last: Tensor | null = null

  constructor(options: ProjectedCrossEntropyOptions = {}) {
    super()
    const S = options.S ?? 1
    const sp = options.sp ?? 0.3
    const score = options.score ?? 'value'
    if (typeof S !== 'number' || !Number.isInteger(S) || S < 1) throw new Error(`${NAME}: option S must be an integer >= 1, got ${S}`)
    if (typeof sp !== 'number' || !(sp > 0 && sp <= 1)) throw new Error(`${NAME}: option sp must be in (0, 1], got ${sp}`)
    if (score !== 'value' && score !== 'literal') throw new Error(`${NAME}: option score must be 'value' or 'literal', got ${JSON.stringify(score)}`)
    this.S = S
    this.sp = sp
    this.score = score
    this.generator = options.generator
  }

  /** Mean projected cross-entropy of logits [B, C] at int32 targets [B]. @example pce.forward(model.forward(x), y).backward() */
  override forward(logits: Tensor, targets: Tensor): Tensor {
    checkInputs(logits, targets)
    const mask = this.drawMasks(logits, targets)
    this.last = mask
    const restricted = where(mask, logits, -Infinity) // [S, B, C]
    const lse = restricted.logsumexp(2) // [S, B]
    const zy = logits.gather(1, targets.reshape([-1, 1])).reshape([-1]) // [B]
    return lse.sub(zy).mean()
  }

  /** The masks of the last forward, int32 0/1 of shape [S, B, C]. @example pce.lastMasks().sum(2) */
  lastMasks(): Tensor {
    if (!this.last) throw new Error(`${NAME}.lastMasks: forward has not been called yet`)
    return this.last
  }

  private drawMasks(logits: Tensor, targets: Tensor): Tensor {
    const [B, C] = logits.shape as [number, number]
    const k = keptCount(this.sp, C)
    if (!this.scratch || this.scratch.p.length !== C) {
      this.scratch = { p: new Float64Array(C), scratch: new Float64Array(C), kept: new Int32Array(C) }
    }
    const { p, scratch, kept } = this.scratch
    const stream = AleaStream.open(this.generator ?? defaultGenerator())
    const sign = this.score === 'value' ? 1 : -1
    const z = logits.data
    const mask = new Int32Array(this.S * B * C)
    for (let s = 0; s < this.S; s++) {
      for (let b = 0; b < B; b++) {
        let max = -Infinity
        for (let c = 0; c < C; c++) {
          p[c] = stream.next() * sign * z[b * C + c]!
          if (p[c]! > max) max = p[c]!
        }
        let sum = 0
        for (let c = 0; c < C; c++) sum += p[c] = Math.exp(p[c]! - max)
        for (let c = 0; c < C; c++) p[c] = p[c]! / sum
        selectTopK(p, C, k, scratch, kept, 0)
        const row = (s * B + b) * C
        for (let q = 0; q < k; q++) mask[row + kept[q]!] = 1
        mask[row + targets.data[b]!] = 1
      }
    }
    stream.close()
    return new Tensor(mask, [this.S, B, C])
  }
}

function checkInputs(logits: Tensor, targets: Tensor): void {
  if (logits.ndim !== 2 || logits.dtype === 'int32') throw new Error(`${NAME}: expected float logits [batch, classes], got ${logits.dtype} ${formatShape(logits.shape)}`)
  if (targets.dtype !== 'int32' || targets.ndim !== 1 || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`${NAME}: expected int32 targets [${logits.shape[0]}], got ${targets.dtype} ${formatShape(targets.shape)}`)
  }
  const C = logits.shape[1]!
  for (let i = 0; i < logits.data.length; i++) {
    if (!Number.isFinite(logits.data[i]!)) throw new Error(`${NAME}: logits have a non-finite value ${logits.data[i]} at flat index ${i}`)
  }
  targets.data.forEach((t, i) => {
    if (t < 0 || t >= C) throw new Error(`${NAME}: target ${t} at index ${i} is out of range for ${C} classes (expected 0..${C - 1})`)
  })
}
