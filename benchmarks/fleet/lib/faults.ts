/**
 * Fault windows, and which outcomes they explain.
 *
 * Every injected fault or operator action becomes a window over the nodes
 * and links it touches. A handshake from dialer `d` to listener `l` that
 * ended at `t` after `ms` is "in an injected fault" when (1) a window
 * touching `d`, `l` or the link d→l covers any part of it, `t - ms` to `t`
 * (a handshake is reported when it ends; windows start 1 s early and end a
 * settle time late:
 * restarts 10 s after the node is back, since it must rejoin the DHT;
 * resets and partitions 3 s); or (2) it went to stock Noise for a reason
 * that outlives the fault (`address-refused`, `config-refused`,
 * `breaker-open`: the policy's memory of failures, 10 min to 24 h) and a
 * failure-causing fault (middlebox, reset, partition, restart, kill switch)
 * touched the pair at any time before; or (3) ECH was rejected (a stale
 * config) and `l` lost its keys before `t` (restart without its datastore,
 * rotation with no grace period); or (4) it went to stock Noise for such a
 * lasting reason and the pair's handshake failed during the DHT warm-up,
 * before traffic started (`cold start`: nodes forming the DHT at once load
 * the machine, and a handshake that times out before the responder proved
 * itself marks the address for stock Noise, 10 min, then 24 h for that
 * config; `policy/refusals.ts`).
 *
 * Everything else counts as "outside injected faults", including latency
 * that was not injected (the machine's own load).
 */
import type { ChaosEvent, PlannedNode } from './plan.js'

export interface FaultWindow {
  kind: ChaosEvent['kind']
  start: number
  end: number
  /** Nodes touched as either end of any link */
  nodes: Set<number>
  /** Listeners whose every inbound link is touched (latency) */
  inbound?: Set<number>
  /** Directed links touched (dialer, listener) (middlebox) */
  links?: Array<[number, number]>
  /** A group cut off from the rest (partition) */
  group?: Set<number>
  /** The node lost its ECH keys (restart without datastore, rotation with no grace) */
  keyLoss?: number
}

const EARLY = 1000
const SETTLE = 3000
const RESTART_SETTLE = 10_000
/** Fallback reasons that are the policy's memory of earlier failures */
export const STICKY_REASONS = new Set(['address-refused', 'config-refused', 'breaker-open'])
const FAILURE_FAULTS = new Set(['middlebox', 'reset', 'partition', 'restart', 'killswitch'])

/** The windows of chaos events as they were applied (`at` is the time it ran, ms since the epoch) */
export function faultWindows (applied: ChaosEvent[], nodes: PlannedNode[]): FaultWindow[] {
  return applied.map(e => windowOf(e, nodes))
}

function windowOf (e: ChaosEvent, nodes: PlannedNode[]): FaultWindow {
  switch (e.kind) {
    case 'restart':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + e.downMs + RESTART_SETTLE, nodes: new Set([e.node]), keyLoss: !e.keepDatastore && nodes[e.node].kind === 'ech' ? e.node : undefined }
    case 'rotate':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + SETTLE, nodes: new Set([e.node]), keyLoss: e.gracePeriod === 0 ? e.node : undefined }
    case 'rollout':
    case 'killswitch':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + e.durationMs + SETTLE, nodes: new Set([e.node]) }
    case 'latency':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + e.durationMs + SETTLE, nodes: new Set(), inbound: new Set(e.dsts) }
    case 'reset':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + SETTLE, nodes: new Set([e.node]) }
    case 'middlebox':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + e.durationMs + SETTLE, nodes: new Set(), links: e.links }
    case 'partition':
      return { kind: e.kind, start: e.at - EARLY, end: e.at + e.durationMs + SETTLE, nodes: new Set(), group: new Set(e.nodes) }
    default:
      throw new Error('unknown chaos kind')
  }
}

/** Whether `f` touches a connection from `d` to `l` */
export function touches (f: FaultWindow, d: number, l: number): boolean {
  if (f.nodes.has(d) || f.nodes.has(l)) { return true }
  if (f.inbound?.has(l) === true) { return true }
  if (f.links?.some(([a, b]) => a === d && b === l) === true) { return true }
  return f.group != null && f.group.has(d) !== f.group.has(l)
}

/** Whether `f` touches node `x` or anything between `x` and `y`, in either direction */
export function touchesEither (f: FaultWindow, x: number, y: number | undefined): boolean {
  if (y == null) { return f.nodes.has(x) || f.inbound?.has(x) === true || f.links?.some(([a, b]) => a === x || b === x) === true || f.group?.has(x) === true }
  return touches(f, x, y) || touches(f, y, x)
}

export interface Attributable {
  t: number
  dialer: number
  listener: number
  outcome: string
  reason?: string
  error?: string
  /** How long the handshake took, ms (it began at `t - ms`) */
  ms?: number
}

/** When each pair's handshakes failed before traffic started (`${dialer}>${listener}`) */
export type ColdStartFailures = Set<string>

/** The injected cause of an outcome, by the rules above, or undefined */
export function causeOf (r: Attributable, windows: FaultWindow[], coldStart: ColdStartFailures = new Set()): string | undefined {
  // a handshake is reported when it ends: it was in a window when any part of it was
  const begun = r.t - (r.ms ?? 0)
  const direct = windows.find(f => touches(f, r.dialer, r.listener) && f.start <= r.t && begun <= f.end)
  if (direct != null) { return direct.kind }
  if (r.outcome === 'fallback' && STICKY_REASONS.has(r.reason ?? '')) {
    const earlier = windows.find(f => FAILURE_FAULTS.has(f.kind) && touches(f, r.dialer, r.listener) && f.start <= r.t)
    if (earlier != null) { return `${earlier.kind} (earlier: ${r.reason})` }
    if (coldStart.has(`${r.dialer}>${r.listener}`)) { return `cold start (earlier: ${r.reason})` }
  }
  if (r.outcome === 'rejected' || r.error === 'EchRejectedError') {
    const loss = windows.find(f => f.keyLoss === r.listener && f.start <= r.t)
    if (loss != null) { return `${loss.kind} (stale config)` }
  }
  return undefined
}
