/**
 * The security monitor: the wrapper reports what happened on each
 * connection; the monitor turns that into typed events, threat detections,
 * audit lines and metrics. It holds only bounded state and runs no timers.
 *
 * Severities: `replay` high when the replayed hello decrypted, medium when it
 * never did; `downgrade` and `bad-retry-configs` high; `probing` and
 * `require-refusals` medium; `malformed` low, medium from the
 * `malformedMediumAt`th one from a source.
 *
 * Rate limiting: every detection counts in `libp2p_ech_noise_threats_total`
 * and `getCounters()`; an `ech:threat` event (and its audit line) goes out
 * at most once per `eventIntervalMs` per kind and source, and all threat
 * events together spend a token bucket, so a flood from many sources cannot
 * flood the event bus or the log either.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { AuditLog } from './audit.js'
import { RingBuffer, TokenBucket } from './bounded.js'
import { DowngradeTracker, RateTracker, ReplayTracker } from './detectors.js'
import { FALLBACK_REASONS, HANDSHAKE_LABELS, MonitorMetrics, ROLES, THREAT_KINDS, zeros } from './metrics.js'
import { encKey, reasonOf, sourceKey } from './source.js'
import type { Finding } from './detectors.js'
import type { AuditEntry, EchBreakerDetail, EchFallbackLabel, EchHandshakeLabel, EchHandshakeReport, EchMonitorComponents, EchMonitorCounters, EchMonitorEvents, EchMonitorInit, EchRole, EchRotationDetail, EchThreatDetail, EchTrackerSizes } from './types.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const MINUTE = 60 * 1000
const DAY = 24 * 60 * MINUTE

export const MONITOR_DEFAULTS = Object.freeze({
  probing: Object.freeze({ limit: 10, windowMs: MINUTE }),
  requireRefusals: Object.freeze({ limit: 10, windowMs: MINUTE }),
  malformedMediumAt: 10,
  countMemoryMs: 10 * MINUTE,
  replayWindowMs: 10 * MINUTE,
  maxReplayEntries: 65_536,
  downgradeMemoryMs: 7 * DAY,
  maxPeers: 10_000,
  maxSources: 10_000,
  eventIntervalMs: MINUTE,
  threatEventBurst: 100,
  threatEventsPerSecond: 10,
  maxRecentThreats: 100,
  ipv6PrefixLength: 64
})

function option (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (typeof v !== 'number' || !(v >= min && v <= max)) {
    throw new InvalidParametersError(`EchMonitor option ${name} must be a number in [${min}, ${max}]`)
  }
  return v
}

/**
 * The security monitor. The encrypter makes one (`ech.monitor`) and reports every handshake,
 * fallback and outer hello to it; it detects threats with bounded trackers, writes the audit log,
 * and maintains the `libp2p_ech_noise_*` metrics. Standalone use is for tests and tools.
 */
export class EchMonitor extends TypedEventEmitter<EchMonitorEvents> {
  private readonly log: Logger
  private readonly now: () => number
  private readonly target?: EventTarget
  private readonly metrics: MonitorMetrics
  private readonly audit: AuditLog
  private readonly probing: RateTracker
  private readonly malformedHellos: RateTracker
  private readonly refusals: RateTracker
  private readonly retryConfigs: RateTracker
  private readonly replay: ReplayTracker
  private readonly downgrade: DowngradeTracker
  private readonly budget: TokenBucket
  private readonly recent: RingBuffer<AuditEntry>
  private readonly ipv6PrefixLength: number
  private counters: EchMonitorCounters

  constructor (components: EchMonitorComponents, init: EchMonitorInit = {}) {
    super()
    const d = MONITOR_DEFAULTS
    this.log = components.logger.forComponent('libp2p:noise-ech:monitor')
    this.now = init.now ?? Date.now
    this.target = init.events
    this.ipv6PrefixLength = option('ipv6PrefixLength', init.ipv6PrefixLength, d.ipv6PrefixLength, 1, 128)
    const maxSources = option('maxSources', init.maxSources, d.maxSources, 1)
    const eventIntervalMs = option('eventIntervalMs', init.eventIntervalMs, d.eventIntervalMs, 0)
    const mediumAt = option('malformedMediumAt', init.malformedMediumAt, d.malformedMediumAt, 1)
    const rate = { maxSources, eventIntervalMs, now: this.now }
    this.probing = new RateTracker({
      ...rate,
      kind: 'probing',
      limit: option('probing.limit', init.probing?.limit, d.probing.limit, 0),
      windowMs: option('probing.windowMs', init.probing?.windowMs, d.probing.windowMs, 1),
      severity: () => 'medium'
    })
    this.refusals = new RateTracker({
      ...rate,
      kind: 'require-refusals',
      limit: option('requireRefusals.limit', init.requireRefusals?.limit, d.requireRefusals.limit, 0),
      windowMs: option('requireRefusals.windowMs', init.requireRefusals?.windowMs, d.requireRefusals.windowMs, 1),
      severity: () => 'medium'
    })
    // limit 0: every occurrence is a finding; the tracker rate-limits the
    // event, and its window is how long a source's count is remembered (so
    // severity can escalate however events are throttled)
    const memoryMs = option('countMemoryMs', init.countMemoryMs, d.countMemoryMs, 1)
    this.malformedHellos = new RateTracker({ ...rate, kind: 'malformed', limit: 0, windowMs: memoryMs, severity: count => count >= mediumAt ? 'medium' : 'low' })
    this.retryConfigs = new RateTracker({ ...rate, kind: 'bad-retry-configs', limit: 0, windowMs: memoryMs, severity: () => 'high' })
    this.replay = new ReplayTracker(
      option('maxReplayEntries', init.maxReplayEntries, d.maxReplayEntries, 1),
      option('replayWindowMs', init.replayWindowMs, d.replayWindowMs, 1),
      this.now)
    this.downgrade = new DowngradeTracker(
      option('maxPeers', init.maxPeers, d.maxPeers, 1),
      option('downgradeMemoryMs', init.downgradeMemoryMs, d.downgradeMemoryMs, 1),
      this.now)
    this.budget = new TokenBucket(
      option('threatEventBurst', init.threatEventBurst, d.threatEventBurst, 1),
      option('threatEventsPerSecond', init.threatEventsPerSecond, d.threatEventsPerSecond, 0),
      this.now)
    this.recent = new RingBuffer(option('maxRecentThreats', init.maxRecentThreats, d.maxRecentThreats, 1))
    this.counters = emptyCounters()
    this.audit = new AuditLog(components.logger, init.auditSink, (err) => {
      this.counters.auditSinkErrors++
      this.log('audit sink failed - %e', err)
    })
    this.metrics = new MonitorMetrics(components.metrics, { getLiveKeys: init.getLiveKeys, getOpenBreakers: init.getOpenBreakers })
  }

  /**
   * One handshake finished (or failed). Dispatches `ech:<outcome>` and
   * `ech:outcome`, and/or `ech:error` (outcome `failed` or `error` set), with
   * `report` itself as the detail; counts it once; times it when it
   * completed; feeds downgrade detection.
   */
  handshake<T extends EchHandshakeReport>(report: T): void {
    const label = `${report.role}_${report.outcome}`
    if (!HANDSHAKE_LABELS.includes(label as EchHandshakeLabel)) {
      this.log('ignoring a handshake report with role %s and outcome %s', report.role, report.outcome)
      return
    }
    this.counters.handshakes[label as EchHandshakeLabel]++
    const completed = report.outcome !== 'failed' && report.error == null
    this.metrics.handshake(label as EchHandshakeLabel, report.path, completed ? report.durationMs : undefined)

    const peer = report.remotePeer?.toString()
    if (report.role === 'initiator' && peer != null) {
      if (report.outcome === 'accepted') {
        this.downgrade.accepted(peer)
      } else if (report.outcome === 'rejected') {
        this.found(this.downgrade.rejected(peer, report.retryConfigs === true), report.remotePeer, report.remoteAddr, reasonOf(report.reason))
      }
    }

    if (report.outcome !== 'failed') {
      this.emit(`ech:${report.outcome}`, report)
      this.emit('ech:outcome', report)
    }
    if (report.outcome === 'failed' || report.error != null) {
      this.emit('ech:error', report)
    }
  }

  /** A connection was handed to stock Noise (call where the decision is made) */
  fallback (reason: EchFallbackLabel, remotePeer?: PeerId): void {
    const known: EchFallbackLabel = FALLBACK_REASONS.includes(reason) ? reason : 'other'
    this.counters.fallbacks[known]++
    this.metrics.fallback(known)
    this.log.trace('fallback to stock noise for %p: %s', remotePeer, known)
  }

  /** An outer hello decrypted. Returns true when its `enc` was seen before (a replay) */
  outerHelloAccepted (hello: { enc: Uint8Array, remoteAddr?: Multiaddr, remotePeer?: PeerId }): boolean {
    this.counters.outerHellos.accepted++
    return this.seen(hello.enc, true, hello.remoteAddr, hello.remotePeer)
  }

  /**
   * An outer hello could not be used (unknown config id, failed open, wrong
   * target peer). Feeds probing detection and, given `enc`, replay detection.
   */
  outerHelloFailed (hello: { reason?: string, enc?: Uint8Array, remoteAddr?: Multiaddr, remotePeer?: PeerId }): boolean {
    this.counters.outerHellos.failed++
    const replayed = hello.enc != null && this.seen(hello.enc, false, hello.remoteAddr, hello.remotePeer)
    this.found(this.probing.hit(this.source(hello.remoteAddr)), hello.remotePeer, hello.remoteAddr, reasonOf(hello.reason))
    return replayed
  }

  /** An outer hello that does not parse. `error` is reduced to its name (and bad field) */
  malformed (hello: { error: unknown, remoteAddr?: Multiaddr, remotePeer?: PeerId }): void {
    this.counters.outerHellos.malformed++
    this.found(this.malformedHellos.hit(this.source(hello.remoteAddr)), hello.remotePeer, hello.remoteAddr, reasonOf(hello.error))
  }

  /** `require` mode closed a connection that had no acceptable ECH */
  requireRefused (refusal: { role: EchRole, remoteAddr?: Multiaddr, remotePeer?: PeerId, reason?: string }): void {
    if (!ROLES.includes(refusal.role)) {
      return
    }
    this.counters.requireRefusals++
    this.found(this.refusals.hit(this.source(refusal.remoteAddr)), refusal.remotePeer, refusal.remoteAddr, reasonOf(refusal.reason ?? refusal.role))
  }

  /** Retry configs from `remotePeer` failed verification */
  retryConfigsRefused (refusal: { remotePeer: PeerId, error?: unknown, remoteAddr?: Multiaddr }): void {
    this.found(this.retryConfigs.hit(refusal.remotePeer.toString()), refusal.remotePeer, refusal.remoteAddr, reasonOf(refusal.error))
  }

  /**
   * Follow a key manager's rotations (`ech:rotated`) and a policy's breaker
   * transitions (`breaker:open|half-open|close`): each is audited and
   * re-dispatched as `ech:rotated` / `ech:breaker`
   */
  observe (sources: { keys?: EventTarget, policy?: EventTarget }): void {
    sources.keys?.addEventListener('ech:rotated', (evt) => {
      this.rotation((evt as CustomEvent<EchRotationDetail>).detail)
    })
    for (const [type, state] of [['breaker:open', 'open'], ['breaker:half-open', 'half-open'], ['breaker:close', 'closed']] as const) {
      sources.policy?.addEventListener(type, (evt) => {
        this.breaker({ ...(evt as CustomEvent<Omit<EchBreakerDetail, 'state'>>).detail, state })
      })
    }
  }

  /** The key manager rotated (pass its `ech:rotated` detail) */
  rotation (detail: EchRotationDetail): void {
    this.audit.write({ time: this.isoNow(), event: 'rotation', configId: detail.added, count: detail.retired.length, reason: `retired:${detail.retired.join(',')}` })
    this.emit('ech:rotated', detail)
  }

  /** A peer's circuit breaker changed state (pass the policy's `breaker:*` detail and the state) */
  breaker (detail: EchBreakerDetail): void {
    this.audit.write({ time: this.isoNow(), event: 'breaker', remotePeer: String(detail.peer), reason: detail.state, count: detail.failures })
    this.emit('ech:breaker', detail)
  }

  /** The latest threat events (as audit entries: no secrets, JSON-ready), newest first */
  getRecentThreats (limit = Infinity): AuditEntry[] {
    return this.recent.newest(limit)
  }

  /** A snapshot of the outcome counters */
  getCounters (): EchMonitorCounters {
    return structuredClone(this.counters)
  }

  /** Entries held by each tracker right now (all bounded by the `max*` options) */
  getTrackerSizes (): EchTrackerSizes {
    return {
      probing: this.probing.size,
      malformed: this.malformedHellos.size,
      requireRefusals: this.refusals.size,
      retryConfigs: this.retryConfigs.size,
      replay: this.replay.size,
      acceptedPeers: this.downgrade.size,
      recentThreats: this.recent.size
    }
  }

  /** Forget all tracked state (metrics, being registered with libp2p, stay) */
  stop (): void {
    this.probing.clear()
    this.malformedHellos.clear()
    this.refusals.clear()
    this.retryConfigs.clear()
    this.replay.clear()
    this.downgrade.clear()
    this.recent.clear()
  }

  private seen (enc: Uint8Array, accepted: boolean, remoteAddr?: Multiaddr, remotePeer?: PeerId): boolean {
    const finding = this.replay.seen(encKey(enc), accepted)
    this.found(finding, remotePeer, remoteAddr)
    return finding != null
  }

  private source (addr?: Multiaddr): string {
    return sourceKey(addr, this.ipv6PrefixLength)
  }

  private found (finding: Finding | undefined, remotePeer?: PeerId, remoteAddr?: Multiaddr, error?: string): void {
    if (finding == null) {
      return
    }
    this.counters.threats[finding.kind]++
    this.metrics.threat(finding.kind)
    if (!finding.report) {
      return
    }
    if (!this.budget.take()) {
      this.counters.suppressedThreatEvents++
      return
    }
    const entry = this.audit.write({
      time: this.isoNow(),
      event: 'threat',
      kind: finding.kind,
      severity: finding.severity,
      remotePeer: remotePeer?.toString(),
      remoteAddr: remoteAddr?.toString(),
      count: finding.count,
      reason: error
    })
    this.recent.push(entry)
    const detail: EchThreatDetail = { kind: finding.kind, severity: finding.severity, remotePeer, remoteAddr, count: finding.count, error }
    this.emit('ech:threat', detail)
  }

  private emit<K extends keyof EchMonitorEvents>(type: K, detail: EchMonitorEvents[K]['detail']): void {
    this.safeDispatchEvent(type, { detail })
    this.target?.dispatchEvent(new CustomEvent(type, { detail }))
  }

  private isoNow (): string {
    return new Date(this.now()).toISOString()
  }
}

function emptyCounters (): EchMonitorCounters {
  return {
    handshakes: zeros(HANDSHAKE_LABELS),
    fallbacks: zeros(FALLBACK_REASONS),
    threats: zeros(THREAT_KINDS),
    outerHellos: { accepted: 0, failed: 0, malformed: 0 },
    requireRefusals: 0,
    suppressedThreatEvents: 0,
    auditSinkErrors: 0
  }
}
