/**
 * The fleet's chart as a self-contained SVG: rates over time (ECH success
 * outside and including injected faults, first-contact ECH, fallback) with
 * the fault windows shaded and labelled, and heap per node by node type.
 */
import type { ChaosEvent } from './plan.js'

const W = 960
const PANEL = 260
const PAD = { left: 56, right: 180, top: 36, gap: 56 }

interface Line { key: string, label: string, color: string, dash?: string }

const RATES: Line[] = [
  { key: 'echSuccess', label: 'ECH success, outside faults', color: '#1b7f3b' },
  { key: 'echSuccessAll', label: 'ECH success, all', color: '#8fd19e', dash: '4 3' },
  { key: 'firstContact', label: 'first-contact ECH (published)', color: '#1f5fbf' },
  { key: 'fallback', label: 'fallback, outside faults', color: '#c0392b' }
]
const HEAP: Line[] = [
  { key: 'heapEch', label: 'echNoise (libp2p 3)', color: '#1b7f3b' },
  { key: 'heapStock', label: 'stock libp2p 3', color: '#7f8c8d' },
  { key: 'heapV2', label: 'libp2p 2', color: '#8e44ad' }
]
const FAULT_COLORS: Record<string, string> = {
  restart: '#f5b041', rotate: '#85c1e9', rollout: '#d7bde2', killswitch: '#f1948a', latency: '#f9e79f', reset: '#e59866', middlebox: '#ec7063', partition: '#aab7b8'
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
}

function path (points: Array<[number, number]>): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ')
}

function panel (series: Array<Record<string, number | undefined>>, lines: Line[], top: number, yMax: number, yLabel: string, seconds: number, title: string): string {
  const x = (t: number): number => PAD.left + (t / seconds) * (W - PAD.left - PAD.right)
  const y = (v: number): number => top + PANEL - (v / yMax) * PANEL
  const parts: string[] = [`<text x="${PAD.left}" y="${top - 10}" font-size="13" font-weight="bold">${esc(title)}</text>`]
  for (let i = 0; i <= 4; i++) {
    const v = yMax * i / 4
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${yMax === 1 ? v.toFixed(2) : v.toFixed(0)}</text>`)
  }
  parts.push(`<text x="14" y="${top + PANEL / 2}" font-size="11" transform="rotate(-90 14 ${top + PANEL / 2})" text-anchor="middle">${esc(yLabel)}</text>`)
  lines.forEach((line, i) => {
    const points = series.filter(p => p[line.key] != null).map(p => [x(p.t!), y(Math.min(yMax, p[line.key]!))] as [number, number])
    if (points.length > 0) {
      parts.push(`<path d="${path(points)}" fill="none" stroke="${line.color}" stroke-width="2"${line.dash != null ? ` stroke-dasharray="${line.dash}"` : ''}/>`)
    }
    const ly = top + 12 + i * 16
    parts.push(`<line x1="${W - PAD.right + 10}" x2="${W - PAD.right + 30}" y1="${ly}" y2="${ly}" stroke="${line.color}" stroke-width="2"${line.dash != null ? ` stroke-dasharray="${line.dash}"` : ''}/>`,
      `<text x="${W - PAD.right + 34}" y="${ly + 4}" font-size="10">${esc(line.label)}</text>`)
  })
  return parts.join('\n')
}

export function renderChart (series: Array<Record<string, number | undefined>>, chaos: Array<ChaosEvent & { end: number }>, seconds: number, title: string): string {
  const x = (t: number): number => PAD.left + (t / seconds) * (W - PAD.left - PAD.right)
  const height = PAD.top + PANEL * 2 + PAD.gap + 50
  const bands = chaos.map((c, i) => {
    const x0 = x(c.at)
    const x1 = Math.max(x0 + 2, x(c.end))
    return `<rect x="${x0.toFixed(1)}" y="${PAD.top}" width="${(x1 - x0).toFixed(1)}" height="${PANEL}" fill="${FAULT_COLORS[c.kind] ?? '#ccc'}" opacity="0.45"/>` +
      `<text x="${x0.toFixed(1)}" y="${PAD.top + PANEL + 12 + (i % 3) * 10}" font-size="8" fill="#555">${esc(c.kind)}</text>`
  })
  const heapMax = Math.max(10, ...series.flatMap(p => [p.heapEch, p.heapStock, p.heapV2].filter((v): v is number => v != null))) * 1.15
  const ticks: string[] = []
  for (let t = 0; t <= seconds; t += Math.max(10, Math.round(seconds / 10 / 10) * 10)) {
    ticks.push(`<text x="${x(t)}" y="${height - 14}" font-size="10" text-anchor="middle">${t}</text>`)
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${PAD.left}" y="16" font-size="14">${esc(title)}</text>`,
    ...bands,
    panel(series, RATES, PAD.top, 1, 'rate (5 s buckets or longer)', seconds, ''),
    panel(series, HEAP, PAD.top + PANEL + PAD.gap, heapMax, 'heap per node, MB', seconds, 'heap per node by type'),
    ...ticks,
    `<text x="${(W - PAD.right + PAD.left) / 2}" y="${height - 2}" font-size="10" text-anchor="middle">seconds since traffic started (shaded: injected faults)</text>`,
    '</svg>'
  ].join('\n')
}
