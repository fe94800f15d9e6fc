// The training tab's live views, pure functions of the run's numbers.
// Line charts reuse src/plot's lineChart: it has no dependency, returns deterministic SVG text,
// and styles with presentation attributes only (fill=, stroke=; no <style>, no style=""), so its
// output can go into the page with innerHTML under the strict CSP (style-src 'self'), and the
// curves look like the ones in the experiment reports. The count maps are pixels, not shapes:
// a 256 x 784 matrix of counts is 200,704 cells, so they go to a <canvas> with putImageData.
import { lineChart } from '../src/plot/svg.js'
import type { Canvas } from './dom.js'
import type { CountMap, Histogram } from './protocol.js'

const W = 460
const H = 260

/** Loss per step (the data loss; the penalty is shown apart, it is on another scale). */
export function lossSvg(steps: number[], losses: number[]): string {
  return lineChart({ title: 'training loss (cross-entropy, per step)', xLabel: 'step', yLabel: 'loss', series: [{ label: 'loss', x: steps, y: losses }], width: W, height: H })
}

/** Test accuracy at each evaluation (the first 500 test images). */
export function accuracySvg(steps: number[], accuracy: number[]): string {
  return lineChart({ title: 'test accuracy (%)', xLabel: 'step', yLabel: 'accuracy %', series: [{ label: 'accuracy', x: steps, y: accuracy.map((a) => 100 * a) }], width: W, height: H })
}

/** The current run's |w| histogram beside a reference one (the last L2 run; the caption says which), as frequency polygons. */
export function histogramSvg(current: Histogram | null, reference: { histogram: Histogram; label: string } | null): string {
  const centers = (h: Histogram): number[] => Array.from(h.fractions, (_, i) => h.lo + ((i + 0.5) * (h.hi - h.lo)) / h.fractions.length)
  const series = []
  if (current) series.push({ label: 'this run', x: centers(current), y: Array.from(current.fractions, (f) => 100 * f) })
  if (reference) series.push({ label: 'L2 reference', x: centers(reference.histogram), y: Array.from(reference.histogram.fractions, (f) => 100 * f), dashed: true })
  return lineChart({ title: 'weight magnitudes', xLabel: 'log10 |w|', yLabel: '% of weights', series, width: W, height: H })
}

// ColorBrewer "Blues": 0 counts white, S counts dark blue, linear in between.
const RAMP = [[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]]
const GAP = 170

function colour(t: number): number[] {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1)
  const i = Math.min(RAMP.length - 2, Math.floor(x))
  const f = x - i
  return RAMP[i]!.map((a, k) => Math.round(a + f * (RAMP[i + 1]![k]! - a)))
}

/**
 * Draw c_j of one parameter: one tile per output unit (row of the weight), each tile the unit's
 * counts laid out as `tile` = [C, H, W] (C planes in a square grid), tiles in a square grid with
 * 1-pixel grey gaps. The colour scale is fixed to [0, S], so tiles compare across updates.
 */
export function drawCounts(canvas: Canvas, m: CountMap): void {
  const units = m.shape[0]!
  const per = m.values.length / units
  const [C, h, w] = m.tile as [number, number, number]
  if (C * h * w !== per) throw new Error(`drawCounts: tile [${m.tile}] does not hold the ${per} counts of one unit of ${m.param}`)
  const gc = Math.ceil(Math.sqrt(C))
  const tw = gc * w
  const th = Math.ceil(C / gc) * h
  const cols = Math.ceil(Math.sqrt(units))
  const rows = Math.ceil(units / cols)
  canvas.width = cols * (tw + 1) + 1
  canvas.height = rows * (th + 1) + 1
  const ctx = canvas.getContext('2d')
  if (!ctx) return
  const img = ctx.createImageData(canvas.width, canvas.height)
  const px = img.data
  px.fill(GAP)
  for (let i = 3; i < px.length; i += 4) px[i] = 255
  for (let o = 0; o < units; o++) {
    const ox = 1 + (o % cols) * (tw + 1)
    const oy = 1 + Math.floor(o / cols) * (th + 1)
    for (let c = 0; c < C; c++) {
      const cx = ox + (c % gc) * w
      const cy = oy + Math.floor(c / gc) * h
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const rgb = colour(m.values[o * per + (c * h + i) * w + j]! / m.S)
          const at = ((cy + i) * canvas.width + cx + j) * 4
          px[at] = rgb[0]!
          px[at + 1] = rgb[1]!
          px[at + 2] = rgb[2]!
        }
      }
    }
  }
  ctx.putImageData(img, 0, 0)
}
