/**
 * From what the workers reported to the fleet's summary: ECH success among
 * ECH-capable pairs (first contact and later), fallbacks and their reasons,
 * outcomes per node type, handshake latency per path, DHT lookups, bytes
 * lost, threats and their causes, heap and CPU per node type, and a time
 * series for the chart. Attribution to injected faults: `faults.ts`.
 */
import { causeOf, faultWindows, touches, touchesEither } from './faults.js'
import { lookupCost } from './lookups.js'
import { overload } from './overload.js'
import { percentile } from './percentile.js'
import type { FaultWindow } from './faults.js'
import type { HandshakeReport, NodeKind, NodeStats, TransferReport } from './ipc.js'
import type { ChaosEvent, PlannedNode } from './plan.js'

export interface RunData {
  nodes: PlannedNode[]
  peerIndex: Map<string, number>
  ipIndex: Map<string, number>
  t0: number
  tEnd: number
  lookupTimeout: number
  applied: ChaosEvent[]
  handshakes: HandshakeReport[]
  transfers: TransferReport[]
  lookups: Array<{ index: number, t: number, remote: string, result: string, ms: number, worker?: number }>
  /** DHT queries for records (one per query, however many dials waited for it) */
  queries: Array<{ index: number, t: number, remote: string, result: string, ms: number }>
  published: Array<{ index: number, t: number, stored: number }>
  threats: Array<{ index: number, t: number, kind: string, severity: string, remotePeer?: string, remoteAddr?: string }>
  stats: Array<{ kind: NodeKind, worker?: number, t: number, heapUsed: number, cpuMs: number, nodes: NodeStats[], intervalMs: number, lagMaxMs?: number, lagP99Ms?: number }>
  proxyEvents: Record<string, number>
}

export interface EchRecord { t: number, dialer: number, listener: number, outcome: string, reason?: string, error?: string, ms: number, first: boolean, published: boolean, cause?: string }

interface Tally { attempts: number, accepted: number, fallback: number, rejected: number, grease: number, failed: number }

function tally (records: EchRecord[]): Tally {
  const t: Tally = { attempts: records.length, accepted: 0, fallback: 0, rejected: 0, grease: 0, failed: 0 }
  for (const r of records) {
    if (r.outcome in t && r.outcome !== 'attempts') { (t as any)[r.outcome]++ }
  }
  return t
}

function countBy<T> (items: T[], key: (item: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  for (const item of items) {
    const k = key(item)
    if (k != null) { out[k] = (out[k] ?? 0) + 1 }
  }
  return out
}

export { percentile }

const rate = (n: number, d: number): number | undefined => d === 0 ? undefined : n / d

/** Dialer-side ECH records between two ECH nodes, with first contact, publication and cause */
export function echRecords (data: RunData, windows: FaultWindow[]): EchRecord[] {
  const epoch = new Map<number, number>()
  const seen = new Set<string>()
  const firstPublish = new Map<number, number>()
  for (const p of data.published) {
    // on at least 3 DHT servers, the publisher's own bar for done
    if (p.stored >= 3 && !firstPublish.has(p.index)) { firstPublish.set(p.index, p.t) }
  }
  const coldStart = new Set(data.handshakes.filter(h => h.dir === 'outbound' && h.outcome === 'failed' && h.t < data.t0 && h.remote != null)
    .map(h => `${h.index}>${data.peerIndex.get(h.remote!) ?? -1}`))
  const losses = data.applied.flatMap(e => e.kind === 'restart' && !e.keepDatastore ? [e] : []).sort((a, b) => a.at - b.at)
  const out: EchRecord[] = []
  for (const h of [...data.handshakes].sort((a, b) => a.t - b.t)) {
    const listener = h.remote == null ? undefined : data.peerIndex.get(h.remote)
    if (h.dir !== 'outbound' || listener == null || data.nodes[h.index].kind !== 'ech' || data.nodes[listener].kind !== 'ech') { continue }
    // a dialer that restarted without its datastore knows nobody again
    const e = losses.filter(l => l.node === h.index && l.at <= h.t).length
    epoch.set(h.index, e)
    const key = `${h.index}/${e}/${listener}`
    const first = !seen.has(key)
    seen.add(key)
    const record: EchRecord = { t: h.t, dialer: h.index, listener, outcome: h.outcome, reason: h.reason, error: h.error, ms: h.ms, first, published: (firstPublish.get(listener) ?? Infinity) <= h.t - h.ms }
    record.cause = causeOf(record, windows, coldStart)
    out.push(record)
  }
  return out
}

function latency (values: number[]): { n: number, p50?: number, p99?: number } {
  return { n: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99) }
}

function latencies (data: RunData, records: EchRecord[], windows: FaultWindow[]): Record<string, ReturnType<typeof latency>> {
  const clean = records.filter(r => r.cause == null)
  const kindOf = (i: number): NodeKind => data.nodes[i].kind
  const others = data.handshakes.filter(h => {
    const l = h.remote == null ? undefined : data.peerIndex.get(h.remote)
    // the measured period only, as the ECH records: warm-up handshakes ran while the DHT formed
    return h.dir === 'outbound' && h.t >= data.t0 && l != null && h.outcome !== 'failed' && !windows.some(f => touches(f, h.index, l) && f.start <= h.t && h.t - h.ms <= f.end)
  })
  return {
    'ech accepted, later connections': latency(clean.filter(r => r.outcome === 'accepted' && !r.first).map(r => r.ms)),
    'ech accepted, first contact (incl. DHT lookup)': latency(clean.filter(r => r.outcome === 'accepted' && r.first).map(r => r.ms)),
    'echNoise node to stock peer (fallback)': latency(others.filter(h => kindOf(h.index) === 'ech' && h.outcome === 'fallback' && kindOf(data.peerIndex.get(h.remote!)!) !== 'ech').map(h => h.ms)),
    'stock libp2p 3 (@chainsafe/libp2p-noise 17)': latency(others.filter(h => kindOf(h.index) === 'stock').map(h => h.ms)),
    'libp2p 2 (noise 16)': latency(others.filter(h => kindOf(h.index) === 'v2').map(h => h.ms))
  }
}

function outcomesByType (data: RunData): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const h of data.handshakes) {
    const l = h.remote == null ? undefined : data.peerIndex.get(h.remote)
    if (h.dir !== 'outbound') { continue }
    const pair = `${data.nodes[h.index].kind}→${l == null ? '?' : data.nodes[l].kind}`
    const label = h.outcome === 'fallback' || h.outcome === 'failed' ? `${h.outcome}:${h.reason ?? h.error ?? ''}` : h.outcome
    out[pair] ??= {}
    out[pair][label] = (out[pair][label] ?? 0) + 1
  }
  return out
}

function transfers (data: RunData, windows: FaultWindow[]): Record<string, unknown> {
  const senders = data.transfers.filter(t => t.side === 'sender')
  const receivers = new Map(data.transfers.filter(t => t.side === 'receiver').map(t => [t.id, t]))
  const inFault = (t: TransferReport): boolean => {
    const l = data.peerIndex.get(t.remote)
    return l != null && windows.some(f => touchesEither(f, t.index, l) && f.start - 5000 <= t.t && t.t <= f.end + 5000)
  }
  let bytesLost = 0
  const lostTransfers: Array<{ id: string, status: string, length: number }> = []
  for (const s of senders) {
    const contradiction = s.status === 'ok' && receivers.get(s.id)?.status === 'short'
    if (s.status === 'lost' || contradiction || (s.status === 'no-answer' && !inFault(s))) {
      bytesLost += s.length
      lostTransfers.push({ id: s.id, status: s.status, length: s.length })
    }
  }
  const clean = senders.filter(s => !inFault(s))
  return {
    total: senders.length,
    bytesSent: senders.filter(s => s.status === 'ok').reduce((a, s) => a + s.length, 0),
    byStatus: countBy(senders, s => s.status),
    outsideFaults: { total: clean.length, byStatus: countBy(clean, s => s.status), errors: countBy(clean.filter(s => s.status !== 'ok'), s => s.error ?? s.status) },
    bytesLost,
    lostTransfers
  }
}

function threats (data: RunData, windows: FaultWindow[]): { byKind: Record<string, number>, withCause: unknown[], withoutCause: unknown[] } {
  const withCause: unknown[] = []
  const withoutCause: unknown[] = []
  for (const th of data.threats) {
    const ip = th.remoteAddr?.match(/\/ip4\/([^/]+)/)?.[1]
    const byAddr = ip != null ? data.ipIndex.get(ip) : undefined
    const other = th.remotePeer != null ? data.peerIndex.get(th.remotePeer) : byAddr
    // rate detectors count over a minute and report at most once a minute per source
    const cause = windows.find(f => touchesEither(f, th.index, other) && f.start <= th.t && th.t <= f.end + 70_000)?.kind ??
      windows.find(f => th.kind === 'downgrade' && touchesEither(f, th.index, other) && f.start <= th.t)?.kind ??
      requireRefusalCause(data, th.kind, th.index, other)
    const entry = { t: (th.t - data.t0) / 1000, node: th.index, kind: th.kind, severity: th.severity, other, cause }
    ;(cause == null ? withoutCause : withCause).push(entry)
  }
  return { byKind: countBy(data.threats, t => t.kind), withCause, withoutCause }
}

/**
 * A `require`-mode node refuses whoever dials it without its config: every
 * stock and libp2p 2 peer, and ECH peers that had not found its record yet.
 * The fleet's composition puts both next to it; the detector counts them.
 */
function requireRefusalCause (data: RunData, kind: string, node: number, other: number | undefined): string | undefined {
  if (kind !== 'require-refusals' || !data.nodes[node].require || other == null) { return undefined }
  return data.nodes[other].kind === 'ech' ? 'composition: an ECH peer without the require-mode node\'s config' : 'composition: a stock peer dialling a require-mode node'
}

function memory (data: RunData): { byKind: Record<string, unknown>, bounded: boolean, notes: string[] } {
  const byKind: Record<string, unknown> = {}
  const notes: string[] = []
  let bounded = true
  const span = data.tEnd - data.t0
  for (const kind of ['ech', 'stock', 'v2'] as const) {
    const samples = data.stats.filter(s => s.kind === kind && s.nodes.length > 0 && s.t >= data.t0)
    const perNode = samples.map(s => ({ t: s.t, heap: s.heapUsed / s.nodes.length / 1048576, cpu: 100 * s.cpuMs / s.intervalMs / s.nodes.length }))
    const third = (a: number, b: number): number => Math.max(0, ...perNode.filter(p => p.t >= data.t0 + a * span && p.t < data.t0 + b * span).map(p => p.heap))
    const middle = third(1 / 3, 2 / 3)
    const last = third(2 / 3, 1.01)
    const ok = middle === 0 || last <= middle * 1.3 + 8
    if (!ok) { notes.push(`${kind}: heap per node ${middle.toFixed(1)} MB in the middle third, ${last.toFixed(1)} MB in the last`) }
    bounded &&= ok
    const maxConnections = Math.max(0, ...samples.flatMap(s => s.nodes.map(n => n.connections)))
    const maxTrackers = Math.max(0, ...samples.flatMap(s => s.nodes.map(n => n.trackers ?? 0)))
    byKind[kind] = {
      heapPerNodeMB: { mean: mean(perNode.map(p => p.heap)), max: Math.max(0, ...perNode.map(p => p.heap)), middleThirdMax: middle, lastThirdMax: last },
      cpuPerNodePercent: { mean: mean(perNode.map(p => p.cpu)), max: Math.max(0, ...perNode.map(p => p.cpu)) },
      loopDelayMs: { p99: percentile(samples.map(s => s.lagP99Ms ?? 0), 0.99), max: Math.max(0, ...samples.map(s => s.lagMaxMs ?? 0)) },
      maxConnectionsPerNode: maxConnections,
      maxMonitorTrackerEntries: maxTrackers,
      bounded: ok
    }
  }
  return { byKind, bounded, notes }
}

function mean (values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
}

function series (data: RunData, records: EchRecord[]): Array<Record<string, number | undefined>> {
  const bucket = Math.max(5000, Math.round((data.tEnd - data.t0) / 60 / 1000) * 1000)
  const out: Array<Record<string, number | undefined>> = []
  for (let start = data.t0; start < data.tEnd; start += bucket) {
    const inB = records.filter(r => r.t >= start && r.t < start + bucket)
    const clean = inB.filter(r => r.cause == null)
    const firsts = clean.filter(r => r.first && r.published)
    const heap = (kind: NodeKind): number | undefined => {
      const s = data.stats.filter(x => x.kind === kind && x.t >= start && x.t < start + bucket && x.nodes.length > 0)
      return s.length === 0 ? undefined : mean(s.map(x => x.heapUsed / x.nodes.length / 1048576))
    }
    out.push({
      t: (start - data.t0) / 1000,
      attempts: clean.length,
      echSuccess: rate(clean.filter(r => r.outcome === 'accepted').length, clean.length),
      echSuccessAll: rate(inB.filter(r => r.outcome === 'accepted').length, inB.length),
      firstContact: rate(firsts.filter(r => r.outcome === 'accepted').length, firsts.length),
      fallback: rate(clean.filter(r => ['fallback', 'rejected', 'grease'].includes(r.outcome)).length, clean.length),
      heapEch: heap('ech'),
      heapStock: heap('stock'),
      heapV2: heap('v2')
    })
  }
  return out
}

export function analyze (data: RunData): Record<string, any> {
  const windows = faultWindows(data.applied, data.nodes)
  const every = echRecords(data, windows).filter(r => r.t >= data.t0)
  // a require-mode dialer with no config for the peer refuses before sending anything: no
  // handshake took place (reported apart, with how often the listener's record was out)
  const requireRefused = every.filter(r => r.outcome === 'failed' && r.error === 'EchRequiredError' && data.nodes[r.dialer].require)
  const all = every.filter(r => !requireRefused.includes(r))
  // a first contact before the listener's record was in the DHT cannot find it there: counted apart
  const coldStarts = all.filter(r => r.first && !r.published)
  const records = all.filter(r => !(r.first && !r.published))
  const clean = records.filter(r => r.cause == null)
  const inFaults = records.filter(r => r.cause != null)
  const latencyOnly = inFaults.filter(r => r.cause === 'latency')
  const firstClean = clean.filter(r => r.first && r.published)
  const nonEch = ['fallback', 'rejected', 'grease']
  const tr = transfers(data, windows)
  const th = threats(data, windows)
  return {
    echSuccessRate: rate(clean.filter(r => r.outcome === 'accepted').length, clean.length),
    firstContactEchRate: rate(firstClean.filter(r => r.outcome === 'accepted').length, firstClean.length),
    fallbackRate: rate(clean.filter(r => nonEch.includes(r.outcome)).length, clean.length),
    bytesLost: tr.bytesLost as number,
    threatsWithoutCause: th.withoutCause.length,
    echPairs: {
      outsideFaults: tally(clean),
      inInjectedFaults: tally(inFaults),
      latencyOnly: tally(latencyOnly),
      successRateIncludingFaults: rate(records.filter(r => r.outcome === 'accepted').length, records.length),
      fallbackReasons: {
        outsideFaults: countBy(clean.filter(r => nonEch.includes(r.outcome)), r => r.outcome === 'fallback' ? r.reason : r.outcome),
        inInjectedFaults: countBy(inFaults.filter(r => nonEch.includes(r.outcome)), r => r.outcome === 'fallback' ? r.reason : r.outcome)
      },
      failures: {
        outsideFaults: countBy(clean.filter(r => r.outcome === 'failed'), r => r.error),
        inInjectedFaults: countBy(inFaults.filter(r => r.outcome === 'failed'), r => r.error)
      },
      causes: countBy(inFaults, r => r.cause),
      overload: overload(data, clean),
      requireModeRefusedWithoutConfig: { total: requireRefused.length, listenerHadPublished: requireRefused.filter(r => r.published).length, inInjectedFaults: requireRefused.filter(r => r.cause != null).length },
      unexplained: clean.filter(r => r.outcome !== 'accepted').slice(0, 50).map(r => ({ ...r, t: (r.t - data.t0) / 1000 }))
    },
    firstContact: {
      outsideFaultsOncePublished: tally(firstClean),
      inInjectedFaults: tally(inFaults.filter(r => r.first)),
      beforeTheRecordWasPublished: { ...tally(coldStarts), fallbackReasons: countBy(coldStarts, r => r.reason ?? r.error ?? r.outcome) }
    },
    outcomesByType: outcomesByType(data),
    handshakeLatencyMs: latencies(data, records, windows),
    dhtLookups: lookupCost(data),
    transfers: tr,
    threats: th,
    memory: memory(data),
    proxyEvents: data.proxyEvents,
    faultsExplained: countBy(records.filter(r => r.cause != null), r => r.cause?.split(' ')[0]),
    series: series(data, records)
  }
}
