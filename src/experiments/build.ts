// The trainable parts of an experiment, built from its config. Every random part gets its own
// generator derived from the seed ('<seed>/init', '<seed>/regularizer', '<seed>/loss'; the data
// order uses '<seed>/epoch/<e>' inside the DataLoader), so changing, say, the regularizer's
// sampling never changes the initial weights, and each stream can be saved in a checkpoint.
import { createModel } from '../nn/models/index.js'
import type { Module } from '../nn/module.js'
import { crossEntropy } from '../nn/functional.js'
import { Adam, AdamW } from '../optim/adam.js'
import { SGD } from '../optim/sgd.js'
import type { Optimizer } from '../optim/optimizer.js'
import { DynamicPriorRegularizer } from '../regularizers/dynamic-prior.js'
import { L1, L2 } from '../regularizers/l1-l2.js'
import { ProjectedCrossEntropy } from '../regularizers/projected-cross-entropy.js'
import { Generator } from '../tensor/generator.js'
import type { Tensor } from '../tensor/tensor.js'
import type { ExperimentConfig } from './config.js'

/** A penalty added to the loss; the dynamic prior also has state to checkpoint. */
export type Regularizer = L1 | L2 | DynamicPriorRegularizer

export interface Experiment {
  model: Module
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  optimizer: Optimizer<any, any>
  regularizer: Regularizer | null
  /** The data loss of a batch: cross-entropy or projected cross-entropy. */
  loss: (logits: Tensor, targets: Tensor) => Tensor
  /** The generators whose states a checkpoint must save (the init one is spent by then). */
  generators: Record<string, Generator>
}

/**
 * Build model, optimizer, regularizer and loss for `config` on inputs of `shape` ([C, H, W]).
 * @example const ex = buildExperiment(config, [1, 28, 28], 10)
 */
export function buildExperiment(config: ExperimentConfig, shape: number[], numClasses: number): Experiment {
  const seed = config.seed
  // The weights (and so the optimizer state) live in the active backend's memory: on wasm its
  // kernels then use them in place (the values are the same bits either way).
  const model = createModel(config.model, { numClasses, inChannels: shape[0]!, inputSize: shape[1]!, generator: new Generator(`${seed}/init`) }).to()
  const params = model.parameters()
  const { lr, weightDecay } = config
  const optimizer =
    config.optimizer === 'adam' ? new Adam(params, { lr, weightDecay })
    : config.optimizer === 'adamw' ? new AdamW(params, { lr, weightDecay })
    : new SGD(params, { lr, momentum: config.momentum, weightDecay })

  const generators: Record<string, Generator> = {}
  const lambda = config.lambda ?? 0
  let regularizer: Regularizer | null = null
  if (config.reg === 'l1') regularizer = new L1({ lambda })
  else if (config.reg === 'l2') regularizer = new L2({ lambda })
  else if (config.reg === 'dynamic-prior') {
    generators['regularizer'] = new Generator(`${seed}/regularizer`)
    regularizer = new DynamicPriorRegularizer({
      lambda,
      S: config.S,
      // sp and threshold are alternatives: the absolute rule replaces the top-sp fraction.
      ...(config.threshold === null ? { sp: config.sp } : { threshold: config.threshold }),
      alpha: config.alpha,
      score: config.score,
      temperature: config.temperature,
      norm: config.norm,
      normalize: config.normalize,
      scope: config.scope,
      temperatureBits: config.temperatureBits,
      normalizer: config.normalizer,
      implementation: config.priorImplementation,
      generator: generators['regularizer'],
    })
  }

  let loss: Experiment['loss'] = crossEntropy
  if (config.loss === 'projected-ce') {
    generators['loss'] = new Generator(`${seed}/loss`)
    const pce = new ProjectedCrossEntropy({ S: config.projectedS, sp: config.projectedSp, score: config.projectedScore, generator: generators['loss'] })
    loss = (logits, targets) => pce.forward(logits, targets)
  }
  return { model, optimizer, regularizer, loss, generators }
}
