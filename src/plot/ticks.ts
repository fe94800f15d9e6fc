// Axis ticks for the SVG charts: "nice" linear ticks on 1-2-5 x 10^k steps, and decade ticks
// 10^k on log axes. Each function also returns the domain it snapped to, so the axis ends on a tick.
// NOTE: tick values are rebuilt as i*step and rounded to 12 significant digits, so 0.1+0.2 style
// drift never reaches a label ("0.30000000000000004").

/** One tick: its data value, its label text and, for log axes, a superscript exponent (10^sup). */
export interface Tick {
  value: number
  text: string
  sup?: string
}

/** Ticks plus the domain [lo, hi] they cover; minor ticks (log axes) carry no label. */
export interface AxisTicks {
  domain: [number, number]
  major: Tick[]
  minor: number[]
}

/** The 1-2-5 x 10^k step closest to `raw`. @example niceStep(0.37) // 0.5 */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) {
    throw new Error(`niceStep: expected a positive finite step, got ${raw}`)
  }
  const mag = Number(`1e${Math.floor(Math.log10(raw))}`)
  const norm = raw / mag
  const mult = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
  return mult * mag
}

const round12 = (v: number): number => Number(v.toPrecision(12))

/** Widen an empty range [v, v] so an axis can still be drawn around a constant. */
function widen(lo: number, hi: number): [number, number] {
  if (lo < hi) return [lo, hi]
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1
  return [lo - pad, hi + pad]
}

/**
 * Linear ticks on 1-2-5 steps covering [min, max]; the domain snaps outwards to whole steps.
 * @example linearTicks(0, 0.93).major.map(t => t.text) // ['0.0', '0.2', ..., '1.0']
 */
export function linearTicks(min: number, max: number, target = 5): AxisTicks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new Error(`linearTicks: expected finite min <= max, got [${min}, ${max}]`)
  }
  const [lo, hi] = widen(min, max)
  if (!Number.isFinite(hi - lo)) {
    throw new Error(`linearTicks: range [${min}, ${max}] is too wide to draw`)
  }
  const step = niceStep((hi - lo) / Math.max(1, target))
  const i0 = Math.floor(round12(lo / step))
  const i1 = Math.ceil(round12(hi / step))
  const values: number[] = []
  for (let i = i0; i <= i1; i++) values.push(round12(i * step) + 0) // + 0 turns -0 into 0
  const format = linearFormatter(step, Math.max(Math.abs(values[0]), Math.abs(values[values.length - 1])))
  return {
    domain: [values[0], values[values.length - 1]],
    major: values.map((value) => ({ value, text: format(value) })),
    minor: [],
  }
}

/** Fixed decimals matched to the step (0.2 -> one decimal); exponent form for huge or tiny values. */
function linearFormatter(step: number, maxAbs: number): (v: number) => string {
  const stepExp = Math.floor(Math.log10(step) + 1e-9)
  const decimals = Math.max(0, -stepExp)
  if (maxAbs < 1e6 && decimals <= 5) return (v) => v.toFixed(decimals)
  const digits = Math.min(6, Math.max(0, Math.floor(Math.log10(maxAbs)) - stepExp))
  return (v) => (v === 0 ? '0' : v.toExponential(digits).replace('e+', 'e'))
}

/**
 * Decade ticks 10^k covering [min, max] (both > 0), with minor ticks 2..9 x 10^k when the axis
 * spans few decades; wide ranges label every n-th decade.
 * @example logTicks(0.001, 1).major.map(t => t.sup) // ['-3', '-2', '-1', '0']
 */
export function logTicks(min: number, max: number, maxMajor = 8): AxisTicks {
  if (!(min > 0) || !Number.isFinite(max) || min > max) {
    throw new Error(`logTicks: expected 0 < min <= max < Infinity, got [${min}, ${max}]`)
  }
  // NOTE: the 1e-9 slack keeps log10(1000) = 2.9999999999999996 from opening an extra decade.
  const k0 = Math.floor(Math.log10(min) + 1e-9)
  let k1 = Math.ceil(Math.log10(max) - 1e-9)
  if (k1 === k0) k1 = k0 + 1
  const every = Math.max(1, Math.ceil((k1 - k0) / Math.max(1, maxMajor - 1)))
  k1 = k0 + Math.ceil((k1 - k0) / every) * every
  const major: Tick[] = []
  for (let k = k0; k <= k1; k += every) {
    major.push({ value: Number(`1e${k}`), text: '10', sup: String(k) })
  }
  const minor: number[] = []
  if (every === 1 && k1 - k0 <= 6) {
    for (let k = k0; k < k1; k++) {
      for (let m = 2; m <= 9; m++) minor.push(Number(`${m}e${k}`))
    }
  }
  return { domain: [Number(`1e${k0}`), Number(`1e${k1}`)], major, minor }
}
