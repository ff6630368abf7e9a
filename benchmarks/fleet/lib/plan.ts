/**
 * The fleet's roster and chaos schedule, from a seed: which node runs which
 * stack, which ECH nodes use X-Wing keys or `require` mode, which are the
 * bootstrap nodes, and when each injected fault and operator action
 * happens. Every fault names the nodes and links it touches and its window:
 * the analysis attributes outcomes by them (`analyze.ts`).
 */
import type { NodeKind } from './ipc.js'

export interface PlannedNode {
  index: number
  kind: NodeKind
  xwing: boolean
  require: boolean
  /** The loopback address it dials from */
  ip: string
  bootstrap: boolean
}

export type ChaosAction =
  | { kind: 'restart', node: number, keepDatastore: boolean, downMs: number }
  | { kind: 'rotate', node: number, gracePeriod?: number }
  | { kind: 'rollout', node: number, percentage: number, durationMs: number }
  | { kind: 'killswitch', node: number, durationMs: number }
  | { kind: 'latency', dsts: number[], base: number, jitter: number, durationMs: number }
  | { kind: 'reset', node: number }
  | { kind: 'middlebox', links: Array<[number, number]>, durationMs: number }
  | { kind: 'partition', nodes: number[], durationMs: number }

export type ChaosEvent = ChaosAction & { at: number }

export interface FleetPlan {
  nodes: PlannedNode[]
  chaos: ChaosEvent[]
}

/** mulberry32: a small seeded generator, so a run's plan can be replayed */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffle<T> (items: T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** 70 % echNoise, 20 % stock libp2p 3, 10 % libp2p 2; a quarter of ECH nodes X-Wing, a tenth `require` */
export function planNodes (count: number): PlannedNode[] {
  const v2 = Math.max(1, Math.round(count * 0.1))
  const stock = Math.max(1, Math.round(count * 0.2))
  const ech = count - v2 - stock
  const kinds: NodeKind[] = [...Array(ech).fill('ech'), ...Array(stock).fill('stock'), ...Array(v2).fill('v2')]
  const xwing = Math.max(1, Math.round(ech * 0.25))
  const require = Math.max(1, Math.round(ech * 0.1))
  return kinds.map((kind, index) => ({
    index,
    kind,
    // ECH bootstrap nodes (0, 1) are plain opportunistic; X-Wing and require among the rest
    xwing: kind === 'ech' && index >= 2 && index < 2 + xwing,
    require: kind === 'ech' && index >= ech - require,
    ip: `127.0.${1 + Math.floor(index / 250)}.${2 + (index % 250)}`,
    // two ECH bootstrap nodes and one stock
    bootstrap: index < 2 || index === ech
  }))
}

/** How long an action lasts, ms */
function lengthOf (action: ChaosAction): number {
  if ('durationMs' in action) { return action.durationMs }
  return 'downMs' in action ? action.downMs : 0
}

/**
 * Chaos between `warmup` and `end` (ms after traffic starts), scaled with
 * the fleet: restarts (half keeping their datastore), key rotations (every
 * third an emergency one with no grace period), a rollout change, the kill
 * switch, latency, resets, middleboxes on some links, one partition.
 */
export function planChaos (nodes: PlannedNode[], warmup: number, end: number, random: () => number): ChaosEvent[] {
  const n = nodes.length
  const ech = nodes.filter(x => x.kind === 'ech' && !x.bootstrap).map(x => x.index)
  const others = nodes.filter(x => x.kind !== 'ech' && !x.bootstrap).map(x => x.index)
  const pool = shuffle(ech, random)
  const take = (k: number): number[] => pool.splice(0, Math.min(k, pool.length))
  const actions: ChaosAction[] = []
  const restarts = [...take(Math.max(2, Math.round(n * 0.06))), ...shuffle(others, random).slice(0, 1)]
  restarts.forEach((node, i) => { actions.push({ kind: 'restart', node, keepDatastore: i % 2 === 0, downMs: 2000 + Math.floor(random() * 2000) }) })
  take(Math.max(2, Math.round(n * 0.08))).forEach((node, i) => { actions.push({ kind: 'rotate', node, gracePeriod: i % 3 === 2 ? 0 : undefined }) })
  for (const node of take(n >= 40 ? 2 : 1)) { actions.push({ kind: 'rollout', node, percentage: 50, durationMs: 10_000 }) }
  for (const node of take(n >= 40 ? 2 : 1)) { actions.push({ kind: 'killswitch', node, durationMs: 10_000 }) }
  actions.push({ kind: 'latency', dsts: shuffle(nodes.map(x => x.index), random).slice(0, Math.max(2, Math.round(n * 0.05))), base: 40, jitter: 30, durationMs: 20_000 })
  for (const node of shuffle(nodes.map(x => x.index), random).slice(0, n >= 40 ? 3 : 2)) { actions.push({ kind: 'reset', node }) }
  for (const dst of take(n >= 40 ? 2 : 1)) {
    const srcs = shuffle(nodes.filter(x => x.kind === 'ech' && x.index !== dst).map(x => x.index), random).slice(0, 3)
    actions.push({ kind: 'middlebox', links: srcs.map(src => [src, dst] as [number, number]), durationMs: 15_000 })
  }
  const cut = shuffle(nodes.filter(x => !x.bootstrap).map(x => x.index), random).slice(0, Math.max(2, Math.round(n * 0.15)))
  actions.push({ kind: 'partition', nodes: cut, durationMs: 8000 })
  // spread over the window, in random order; long ones must end before `end`
  const span = end - warmup
  return shuffle(actions, random).map((action, i) => {
    const length = lengthOf(action)
    const slot = warmup + Math.floor((i + random() * 0.8) * span / actions.length)
    return { ...action, at: Math.min(slot, end - length) }
  }).sort((a, b) => a.at - b.at)
}
