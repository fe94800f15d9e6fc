// Draw the DOT text of toDot as an SVG picture, with a small layered layout (the idea of
// Sugiyama et al., 1981, in its simplest form): each node goes in the column of its longest path
// from a leaf (each leaf just left of its first use), so every arrow points right, as toDot's
// rankdir=LR asks; within a column, nodes are ordered by the mean row of their inputs, which
// keeps most arrows short and uncrossed. The graphs here have a dozen or two nodes, so one
// ordering pass is enough and no layout library is needed.
import { escapeXml } from '../src/plot/svg.js'

/** A node of toDot's output: a tensor (ellipse) or the op that made one (box). */
export interface DotNode {
  id: string
  label: string
  op: boolean
}

/** Nodes and edges of the DOT subset toDot writes (`id [shape=..., label="..."];`, `a -> b;`). */
export function parseDot(text: string): { nodes: DotNode[]; edges: [string, string][] } {
  const nodes: DotNode[] = []
  const edges: [string, string][] = []
  for (const line of text.split('\n')) {
    const n = /^\s*(\w+) \[shape=(\w+),.*label="((?:[^"\\]|\\.)*)"\];$/.exec(line)
    if (n) nodes.push({ id: n[1]!, op: n[2] === 'box', label: n[3]!.replace(/\\"/g, '"') })
    const e = /^\s*(\w+) -> (\w+);$/.exec(line)
    if (e) edges.push([e[1]!, e[2]!])
  }
  return { nodes, edges }
}

interface Placed extends DotNode {
  x: number
  y: number
  w: number
}

const BOX_H = 26
const ROW = 40
const COL_GAP = 46
const CHAR = 6.6

/** Columns by longest path from a source (Kahn's topological order), leaves moved next to their first use; rows by the mean row of the inputs. */
export function layout(nodes: DotNode[], edges: [string, string][]): { placed: Placed[]; width: number; height: number } {
  const preds = new Map<string, string[]>(nodes.map((n) => [n.id, []]))
  const succs = new Map<string, string[]>(nodes.map((n) => [n.id, []]))
  for (const [a, b] of edges) {
    preds.get(b)?.push(a)
    succs.get(a)?.push(b)
  }
  const layer = new Map<string, number>()
  const indegree = new Map(nodes.map((n) => [n.id, preds.get(n.id)!.length]))
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id)
  for (const id of queue) layer.set(id, 0)
  while (queue.length > 0) {
    const id = queue.shift()!
    for (const s of succs.get(id)!) {
      layer.set(s, Math.max(layer.get(s) ?? 0, layer.get(id)! + 1))
      indegree.set(s, indegree.get(s)! - 1)
      if (indegree.get(s) === 0) queue.push(s)
    }
  }
  // A leaf goes just left of its first consumer, not in column 0: a constant used by the last op
  // would otherwise draw an arrow across the whole picture.
  for (const n of nodes) {
    const s = succs.get(n.id)!
    if (preds.get(n.id)!.length === 0 && s.length > 0) layer.set(n.id, Math.min(...s.map((x) => layer.get(x) ?? 1)) - 1)
  }
  const columns: DotNode[][] = []
  for (const n of nodes) (columns[layer.get(n.id) ?? 0] ??= []).push(n)
  const row = new Map<string, number>()
  columns.forEach((col, c) => {
    if (c > 0) {
      const mean = (n: DotNode): number => {
        const ps = preds.get(n.id)!
        return ps.reduce((s, p) => s + (row.get(p) ?? 0), 0) / Math.max(1, ps.length)
      }
      col.sort((a, b) => mean(a) - mean(b))
    }
    col.forEach((n, i) => row.set(n.id, i - (col.length - 1) / 2))
  })
  const widths = columns.map((col) => Math.max(...col.map((n) => n.label.length * CHAR + 18)))
  const rows = Math.max(...columns.map((c) => c.length))
  const height = rows * ROW + 20
  const placed: Placed[] = []
  let x = 10
  columns.forEach((col, c) => {
    for (const n of col) placed.push({ ...n, x, y: height / 2 + row.get(n.id)! * ROW, w: widths[c]! })
    x += widths[c]! + COL_GAP
  })
  return { placed, width: x - COL_GAP + 10, height }
}

/** The SVG text of a DOT graph: boxes for ops (filled as toDot fills them), rounded boxes for tensors, curved arrows. */
export function graphSvg(dot: string): string {
  const { nodes, edges } = parseDot(dot)
  const { placed, width, height } = layout(nodes, edges)
  const at = new Map(placed.map((p) => [p.id, p]))
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>',
  ]
  for (const [a, b] of edges) {
    const p = at.get(a)
    const q = at.get(b)
    if (!p || !q) continue
    const x0 = p.x + p.w
    const x1 = q.x
    const mid = (x0 + x1) / 2
    out.push(`<path d="M${x0} ${p.y}C${mid} ${p.y} ${mid} ${q.y} ${x1 - 1} ${q.y}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>`)
  }
  for (const p of placed) {
    const fill = p.op ? '#e8eef7' : '#ffffff'
    const rx = p.op ? 3 : BOX_H / 2
    out.push(`<rect x="${p.x}" y="${p.y - BOX_H / 2}" width="${p.w}" height="${BOX_H}" rx="${rx}" fill="${fill}" stroke="#333"/>`)
    out.push(`<text x="${p.x + p.w / 2}" y="${p.y + 4}" text-anchor="middle">${escapeXml(p.label)}</text>`)
  }
  out.push('</svg>')
  return out.join('\n')
}
