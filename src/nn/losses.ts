// Losses as modules (torch.nn.CrossEntropyLoss etc.), each the mean over the batch, wrapping F.
import type { Tensor } from '../tensor/tensor.js'
import { crossEntropy, mseLoss, nllLoss } from './functional.js'
import { Module } from './module.js'

/** Mean of -log softmax(logits)[target]; logits [batch, classes], targets int32 [batch]; NaN logits give a NaN loss (as PyTorch, see crossEntropy). @example new CrossEntropyLoss().forward(logits, y) */
export class CrossEntropyLoss extends Module {
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target)
  }
}

/** Mean of -logProbs[target]; pair with logSoftmax. @example new NLLLoss().forward(x.logSoftmax(1), y) */
export class NLLLoss extends Module {
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target)
  }
}

/** Mean of (input - target)^2. @example new MSELoss().forward(pred, target) */
export class MSELoss extends Module {
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target)
  }
}
