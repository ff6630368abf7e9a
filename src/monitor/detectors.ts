/**
 * Threat detection as pure bookkeeping over bounded trackers. Each detector
 * answers "is this occurrence a threat, how many so far, and is it time to
 * say so" — events, metrics and the audit line are the monitor's business.
 *
 * Every tracker is a `BoundedMap`: capped entries, least recently touched
 * evicted first, lazy expiry. Under a flood of distinct sources the oldest
 * sources are forgotten (their counts restart), memory is not spent.
 */
import { BoundedMap } from './bounded.js'
import type { EchThreatKind, EchThreatSeverity } from './types.js'

export interface Finding {
  kind: EchThreatKind
  severity: EchThreatSeverity
  /** Cumulative occurrences from this source while it was tracked */
  count: number
  /** Whether the per-source event interval allows an event now */
  report: boolean
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

interface RateEntry {
  /** The last `limit + 1` occurrence times, oldest first */
  times: number[]
  total: number
  lastReport: number
}

/**
 * An exact sliding window per source. Keeping the last `limit + 1` times is
 * enough: the rate is exceeded exactly when the oldest of them is inside the
 * window. Memory per source is `limit + 1` numbers.
 */
export class RateTracker {
  private readonly entries: BoundedMap<RateEntry>
  private readonly init: RateTrackerInit

  constructor (init: RateTrackerInit) {
    this.init = init
    // a source is forgotten once both its window and its event interval ran out
    this.entries = new BoundedMap(init.maxSources, Math.max(init.windowMs, init.eventIntervalMs), init.now)
  }

  get size (): number {
    return this.entries.size
  }

  /** Count one occurrence from `source`; a finding when over the rate */
  hit (source: string): Finding | undefined {
    const now = this.init.now()
    let entry = this.entries.get(source)
    if (entry == null) {
      entry = { times: [], total: 0, lastReport: -Infinity }
      this.entries.set(source, entry)
    }
    entry.total++
    entry.times.push(now)
    if (entry.times.length > this.init.limit + 1) {
      entry.times.shift()
    }
    if (entry.times.length <= this.init.limit || now - entry.times[0] >= this.init.windowMs) {
      return undefined
    }
    const report = now - entry.lastReport >= this.init.eventIntervalMs
    if (report) {
      entry.lastReport = now
    }
    return { kind: this.init.kind, severity: this.init.severity(entry.total), count: entry.total, report }
  }

  clear (): void {
    this.entries.clear()
  }
}

interface ReplayEntry {
  count: number
  /** Whether any sighting decrypted: a captured real hello, not a repeated guess */
  accepted: boolean
}

/**
 * Outer hello `enc` values seen within the window (by truncated hash). Two
 * honest initiators never share an `enc` (a fresh HPKE ephemeral each time),
 * so a repeat is a replay. It is `high` when the hello decrypted (someone
 * resent a real, captured hello) and `medium` when it never did (a prober
 * resending the same garbage, which an attacker can trigger at will).
 */
export class ReplayTracker {
  private readonly entries: BoundedMap<ReplayEntry>

  constructor (maxEntries: number, windowMs: number, now: () => number) {
    this.entries = new BoundedMap(maxEntries, windowMs, now)
  }

  get size (): number {
    return this.entries.size
  }

  seen (key: string, accepted: boolean): Finding | undefined {
    const entry = this.entries.get(key)
    if (entry == null) {
      this.entries.set(key, { count: 1, accepted })
      return undefined
    }
    entry.count++
    entry.accepted ||= accepted
    return { kind: 'replay', severity: entry.accepted ? 'high' : 'medium', count: entry.count, report: true }
  }

  clear (): void {
    this.entries.clear()
  }
}

interface PeerEntry {
  /** Downgrades since ECH was last accepted */
  downgrades: number
}

/**
 * Peers whose responder accepted our outer hello. If one later rejects it
 * without sending retry configs (which an honest responder that rotated its
 * key would send), an on-path party or a substituted responder is suspected.
 */
export class DowngradeTracker {
  private readonly peers: BoundedMap<PeerEntry>

  constructor (maxPeers: number, memoryMs: number, now: () => number) {
    this.peers = new BoundedMap(maxPeers, memoryMs, now)
  }

  get size (): number {
    return this.peers.size
  }

  accepted (peer: string): void {
    this.peers.set(peer, { downgrades: 0 })
  }

  rejected (peer: string, retryConfigs: boolean): Finding | undefined {
    const entry = this.peers.get(peer)
    if (entry == null || retryConfigs) {
      return undefined
    }
    entry.downgrades++
    return { kind: 'downgrade', severity: 'high', count: entry.downgrades, report: true }
  }

  clear (): void {
    this.peers.clear()
  }
}
