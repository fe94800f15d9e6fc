// Optimizers and learning-rate schedules (torch.optim in camelCase).
export { Optimizer, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type ParamState, type FloatBuffer, type StepOptions, type SavedGroup } from './optimizer.js'
export { SGD, type SGDOptions } from './sgd.js'
export { Adam, AdamW, type AdamOptions } from './adam.js'
export { LRScheduler, StepLR, CosineAnnealingLR, type SchedulerStateDict, type LrOwner } from './lr-scheduler.js'
