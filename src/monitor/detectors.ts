/**
 * Threat detection as pure bookkeeping over bounded trackers. Each detector
 * answers "is this occurrence a threat, how many so far, and is it time to
 * say so" — events, metrics and the audit line are the monitor's business.
 *
 * Every tracker is a `BoundedMap`: capped entries, least recently touched
 * evicted first, lazy expiry. Under a flood of distinct sources the oldest
 * sources are forgotten (their counts restart), memory is not spent.
 *
 * "Time to say so" is one rule for every kind (`reportable`): at most one
 * event per kind and source per `eventIntervalMs`, unless the severity rose
 * since the last one, so a `high` finding is never held back behind a
 * `medium` one of the same kind. The state for it lives in the source's own
 * entry, so the limit costs no extra map (the replay tracker, keyed by
 * `enc` rather than by source, keeps a bounded one: `replay.ts`).
 */
import { BoundedMap } from './bounded.js'
import type { EchThreatKind, EchThreatSeverity } from './types.js'
import type { PeerId } from '@libp2p/interface'

export interface Finding {
  kind: EchThreatKind
  severity: EchThreatSeverity
  /** Cumulative occurrences from this source while it was tracked */
  count: number
  /** Whether the per-source event interval allows an event now */
  report: boolean
  /** The peer the finding is about, when the tracker knows it (a breaker names only a string) */
  remotePeer?: PeerId
}

/** When a source last had an event of one kind, and how severe it was */
export interface EventState {
  lastReport: number
  lastSeverity?: EchThreatSeverity
}

const RANK: Record<EchThreatSeverity, number> = { low: 0, medium: 1, high: 2 }

/**
 * The per-source event limit: true (and recorded) when `intervalMs` has
 * passed since the source's last event of this kind, or `severity` is higher
 * than that event's.
 */
export function reportable (state: EventState, severity: EchThreatSeverity, now: number, intervalMs: number): boolean {
  const due = now - state.lastReport >= intervalMs || RANK[severity] > RANK[state.lastSeverity ?? 'low']
  if (due) {
    state.lastReport = now
    state.lastSeverity = severity
  }
  return due
}

export interface RateTrackerInit {
  kind: EchThreatKind
  /** More than `limit` occurrences in any `windowMs` is a threat; 0: every occurrence is */
  limit: number
  windowMs: number
  maxSources: number
  eventIntervalMs: number
  now(): number
  severity(count: number): EchThreatSeverity
}

interface RateEntry extends EventState {
  /** The last `limit + 1` occurrence times, oldest first */
  times: number[]
  total: number
}

/**
 * An exact sliding window per source. Keeping the last `limit + 1` times is
 * enough: the rate is exceeded exactly when the oldest of them is inside the
 * window. Memory per source is `limit + 1` numbers.
 */
export class RateTracker {
  readonly #entries: BoundedMap<RateEntry>
  readonly #init: RateTrackerInit

  constructor (init: RateTrackerInit) {
    this.#init = init
    // a source is forgotten once both its window and its event interval ran out
    this.#entries = new BoundedMap(init.maxSources, Math.max(init.windowMs, init.eventIntervalMs), init.now)
  }

  get size (): number {
    return this.#entries.size
  }

  /** Count one occurrence from `source`; a finding when over the rate */
  hit (source: string): Finding | undefined {
    const now = this.#init.now()
    let entry = this.#entries.get(source)
    if (entry == null) {
      entry = { times: [], total: 0, lastReport: -Infinity }
      this.#entries.set(source, entry)
    }
    entry.total++
    entry.times.push(now)
    if (entry.times.length > this.#init.limit + 1) {
      entry.times.shift()
    }
    if (entry.times.length <= this.#init.limit || now - entry.times[0] >= this.#init.windowMs) {
      return undefined
    }
    const severity = this.#init.severity(entry.total)
    return { kind: this.#init.kind, severity, count: entry.total, report: reportable(entry, severity, now, this.#init.eventIntervalMs) }
  }

  clear (): void {
    this.#entries.clear()
  }
}

export interface HalfOpenTrackerInit {
  /** More than `limit` unfinished handshakes at once from one source is a threat */
  limit: number
  maxSources: number
  /** A source with no start or end for this long is forgotten */
  memoryMs: number
  eventIntervalMs: number
  now(): number
}

interface HalfOpenEntry extends EventState {
  open: number
}

/**
 * Unfinished inbound handshakes per source: each start over the limit is a
 * detection (so `rate()` of the metric shows the pressure), its count the
 * number in flight. An end without a tracked start (the source was evicted
 * or forgotten meanwhile) is ignored, so a count is never below zero and a
 * flood of sources only makes the tracker under-count, never grow.
 */
export class HalfOpenTracker {
  readonly #entries: BoundedMap<HalfOpenEntry>
  readonly #init: HalfOpenTrackerInit

  constructor (init: HalfOpenTrackerInit) {
    this.#init = init
    this.#entries = new BoundedMap(init.maxSources, init.memoryMs, init.now)
  }

  get size (): number {
    return this.#entries.size
  }

  started (source: string): Finding | undefined {
    let entry = this.#entries.get(source)
    if (entry == null) {
      entry = { open: 0, lastReport: -Infinity }
      this.#entries.set(source, entry)
    }
    entry.open++
    if (entry.open <= this.#init.limit) {
      return undefined
    }
    return { kind: 'half-open', severity: 'medium', count: entry.open, report: reportable(entry, 'medium', this.#init.now(), this.#init.eventIntervalMs) }
  }

  ended (source: string): void {
    const entry = this.#entries.get(source)
    if (entry != null && entry.open > 0) {
      entry.open--
    }
  }

  clear (): void {
    this.#entries.clear()
  }
}

export interface DowngradeTrackerInit {
  maxPeers: number
  memoryMs: number
  /** Pre-authentication offer failures in a row from which each is a finding */
  preAuthFailuresAt: number
  eventIntervalMs: number
  now(): number
}

interface PeerEntry extends EventState {
  peer: PeerId
  /** Downgrade signals since ECH was last accepted */
  signals: number
  /** Offers in a row that failed before the peer authenticated */
  preAuthFailures: number
}

/**
 * Peers whose responder accepted our outer hello, and what went wrong with
 * them since. Three signals, by how much they say.
 *
 * A rejection without retry configs (which an honest responder that rotated
 * its key would send): only the peer's own key can sign that message 2, so
 * the peer changed, or someone else holds its key: high.
 *
 * Its circuit breaker opened: our ECH offers keep failing and the policy now
 * dials it with stock Noise — what an on-path party that breaks ECH
 * handshakes achieves (SECURITY.md §4.3): high.
 *
 * An offer that failed before the responder authenticated (reset, timeout,
 * tampering): one alone is the network, a run of them is a party in the way:
 * medium from the `preAuthFailuresAt`th in a row. A run ends when the peer
 * authenticates (an authenticated failure, a rejection with retry configs)
 * or accepts.
 */
export class DowngradeTracker {
  readonly #peers: BoundedMap<PeerEntry>
  readonly #init: DowngradeTrackerInit

  constructor (init: DowngradeTrackerInit) {
    this.#init = init
    this.#peers = new BoundedMap(init.maxPeers, init.memoryMs, init.now)
  }

  get size (): number {
    return this.#peers.size
  }

  accepted (peer: PeerId): void {
    this.#peers.set(peer.toString(), { peer, signals: 0, preAuthFailures: 0, lastReport: -Infinity })
  }

  rejected (peer: string, retryConfigs: boolean): Finding | undefined {
    const entry = this.#peers.get(peer)
    if (entry == null) {
      return undefined
    }
    if (retryConfigs) {
      entry.preAuthFailures = 0
      return undefined
    }
    entry.signals++
    return this.#finding(entry, 'high')
  }

  breakerOpened (peer: string): Finding | undefined {
    const entry = this.#peers.get(peer)
    if (entry == null) {
      return undefined
    }
    entry.signals++
    return this.#finding(entry, 'high')
  }

  offerFailed (peer: string, authenticated: boolean): Finding | undefined {
    const entry = this.#peers.get(peer)
    if (entry == null) {
      return undefined
    }
    if (authenticated) {
      entry.preAuthFailures = 0
      return undefined
    }
    entry.preAuthFailures++
    entry.signals++
    return entry.preAuthFailures >= this.#init.preAuthFailuresAt ? this.#finding(entry, 'medium') : undefined
  }

  clear (): void {
    this.#peers.clear()
  }

  #finding (entry: PeerEntry, severity: EchThreatSeverity): Finding {
    const report = reportable(entry, severity, this.#init.now(), this.#init.eventIntervalMs)
    return { kind: 'downgrade', severity, count: entry.signals, report, remotePeer: entry.peer }
  }
}
