// Learning-rate schedules, after torch.optim.lr_scheduler (1.13). A scheduler sets every group's
// lr; call step() once per epoch after the optimizer steps. Construction counts as epoch 0.
// NOTE: both schedules use torch's recursive form (new lr from the group's current lr), so the
// sequence matches torch's (to 1e-16 in the fixture) and an lr changed by hand is respected, as in torch.
//   StepLR:            lr_e = lr_{e-1} * gamma when e % stepSize == 0, else lr_{e-1}
//   CosineAnnealingLR: lr_e = etaMin + (lr_{e-1} - etaMin) (1 + cos(pi e/T)) / (1 + cos(pi (e-1)/T)),
//                      which equals etaMin + (base - etaMin)(1 + cos(pi e / T)) / 2 (periodic in e).
import { checkNumber, isPlainObject } from './validate.js'

/** What a scheduler's `stateDict()` returns and `loadStateDict()` accepts. */
export interface SchedulerStateDict {
  /** the scheduler class, checked on load */
  type: string
  lastEpoch: number
  stepCount: number
  baseLrs: number[]
  lastLr: number[]
}

/** Any optimizer: schedulers only read and write each group's `lr`. */
export interface LrOwner {
  paramGroups: Array<{ lr: number }>
}

/**
 * Base of the schedules: keeps the epoch counter and writes each group's lr on step().
 * @example const sched = new StepLR(opt, { stepSize: 10 }); for (let e = 0; e < 30; e++) { trainEpoch(); sched.step() }
 */
export abstract class LRScheduler {
  readonly optimizer: LrOwner
  /** The lr of each group when the scheduler was created. */
  baseLrs: number[]
  /** The epoch counter: 0 after construction, +1 per step(). */
  lastEpoch = -1
  protected stepCount = 0
  private lastLr: number[] = []

  protected constructor(
    readonly name: string,
    optimizer: LrOwner,
  ) {
    this.optimizer = optimizer
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr)
  }

  /** The new lr of each group for `lastEpoch` (already advanced). */
  protected abstract computeLr(): number[]

  /** Advance one epoch and set each group's lr. @example for (...) { train(); scheduler.step() } */
  step(): void {
    this.stepCount++
    this.lastEpoch++
    const lrs = this.computeLr()
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i]!
    })
    this.lastLr = lrs
  }

  /** The lr of each group set by the last step (or construction). @example scheduler.getLastLr()[0] */
  getLastLr(): number[] {
    return [...this.lastLr]
  }

  /** A JSON-safe snapshot. @example const s = scheduler.stateDict() */
  stateDict(): SchedulerStateDict {
    return { type: this.name, lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] }
  }

  /** Restore a snapshot; validated first, nothing changes on error. @example scheduler.loadStateDict(s) */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.name}.loadStateDict`
    if (!isPlainObject(sd)) throw new Error(`${where}: expected an object, got ${JSON.stringify(sd)}`)
    if (sd.type !== this.name) throw new Error(`${where}: the state dict is for ${String(sd.type)}`)
    checkNumber(where, 'lastEpoch', sd.lastEpoch, { min: 0, integer: true })
    checkNumber(where, 'stepCount', sd.stepCount, { min: 1, integer: true })
    const n = this.optimizer.paramGroups.length
    for (const key of ['baseLrs', 'lastLr'] as const) {
      const list = sd[key]
      if (!Array.isArray(list) || list.length !== n) throw new Error(`${where}: ${key} must list ${n} lrs (one per param group), got ${JSON.stringify(list)}`)
      list.forEach((v, i) => checkNumber(where, `${key}[${i}]`, v, { min: 0 }))
    }
    this.lastEpoch = sd.lastEpoch
    this.stepCount = sd.stepCount
    this.baseLrs = [...sd.baseLrs]
    this.lastLr = [...sd.lastLr]
  }

  /** The lr each group has now, as the start of computeLr's schedule. */
  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr)
  }
}

/**
 * Multiply the lr by `gamma` every `stepSize` epochs.
 * @example const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 })
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number
  readonly gamma: number

  constructor(optimizer: LrOwner, options: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer)
    this.stepSize = checkNumber('StepLR', 'stepSize', options?.stepSize, { min: 1, integer: true })
    this.gamma = checkNumber('StepLR', 'gamma', options.gamma ?? 0.1, { min: 0 })
    this.step()
  }

  protected computeLr(): number[] {
    const lrs = this.currentLrs()
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs
    return lrs.map((lr) => lr * this.gamma)
  }
}

/**
 * Cosine annealing from the base lr down to `etaMin` over `tMax` epochs (and back up after, as torch).
 * @example const sched = new CosineAnnealingLR(opt, { tMax: 100, etaMin: 1e-5 })
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number
  readonly etaMin: number

  constructor(optimizer: LrOwner, options: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer)
    this.tMax = checkNumber('CosineAnnealingLR', 'tMax', options?.tMax, { above: 0 })
    this.etaMin = checkNumber('CosineAnnealingLR', 'etaMin', options.etaMin ?? 0, { min: 0 })
    this.step()
  }

  protected computeLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this
    const lrs = this.currentLrs()
    if (e === 0) return lrs
    // At the bottom of a period the recursive ratio below divides by zero: torch adds the step instead.
    if ((e - 1 - T) % (2 * T) === 0) {
      return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2)
    }
    const ratio = (1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))
    return lrs.map((lr) => ratio * (lr - etaMin) + etaMin)
  }
}
