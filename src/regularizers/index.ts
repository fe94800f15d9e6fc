// priorgrad.regularizers: the paper's dynamic informative-prior regularizer, its L1/L2 baselines,
// projected cross-entropy, the weight metrics, and the bounds experiment of Fig. 2.
export { defaultRegularized, selectParams, type NamedParam, type ParamSource, type ParamFilter } from './params.js'
export { L1, L2, type NormPenaltyOptions } from './l1-l2.js'
export { DynamicPriorRegularizer, type DynamicPriorSample, type DynamicPriorState } from './dynamic-prior.js'
export { DYNAMIC_PRIOR_DEFAULTS, keptCount, type DynamicPriorOptions, type ResolvedDynamicPriorOptions } from './dynamic-prior-options.js'
export type { GroupSample } from './dynamic-prior-penalty.js'
export type { WorkBuffers, GroupBuffers } from './dynamic-prior-sampling.js'
export { ProjectedCrossEntropy, type ProjectedCrossEntropyOptions } from './projected-cross-entropy.js'
export { weightDensity, meanAbsWeight, globalL2Norm, weightStats, type MetricInput, type WeightStats, type WeightStatsEntry, type WeightStatsOptions } from './metrics.js'
export { boundsExperiment, logSpace, type BoundsOptions, type BoundsRow, type Verdict } from './bounds.js'
export { kthLargest, selectTopK, selectAbove } from './selection.js'
export { fillUniform } from './uniform-fill.js'
export { boundsChart, formatBoundsTable, type BoundsSetting } from './bounds-report.js'
