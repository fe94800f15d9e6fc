// A minimal linear layer built from raw tensor ops, so the core tests do not depend on src/nn.
import { F, Generator, Tensor, rand } from '../../src/index.js'

export class Linear {
  weight: Tensor
  bias: Tensor
  constructor(inFeatures: number, outFeatures: number, generator: Generator) {
    const bound = 1 / Math.sqrt(inFeatures)
    this.weight = rand([outFeatures, inFeatures], { generator }).mul(2 * bound).sub(bound).requiresGrad_()
    this.bias = rand([outFeatures], { generator }).mul(2 * bound).sub(bound).requiresGrad_()
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias)
  }
}
