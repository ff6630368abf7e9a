/**
 * The security monitor: the wrapper reports what happened on each
 * connection; the monitor turns that into typed events, threat detections,
 * audit lines and metrics. It holds only bounded state and runs no timers.
 *
 * Severities: `replay` and `bad-retry-configs` high; `downgrade` high for a
 * rejection without retry configs or an opened breaker, medium for a run of
 * offers that failed before the peer authenticated; `probing`,
 * `require-refusals`, `slow-handshake` and `half-open` medium; `malformed`
 * low, medium from the `malformedMediumAt`th one from a source.
 *
 * Rate limiting: every detection counts in `libp2p_ech_noise_threats_total`
 * and `getCounters()`; an `ech:threat` event (and its audit line) goes out
 * at most once per `eventIntervalMs` per kind and source (sooner only when
 * the severity rose), and only then spends the global token bucket — every
 * kind, so one noisy source cannot use up the budget that another source's
 * detection needs, and a flood from many sources cannot flood the event bus
 * or the log either.
 */
import { TypedEventEmitter } from 'main-event'
import { AuditLog } from './audit.js'
import { FALLBACK_REASONS, HANDSHAKE_LABELS, MonitorMetrics, ROLES, STALL_STAGES, THREAT_KINDS, zeros } from './metrics.js'
import { MONITOR_DEFAULTS, createTrackers, option } from './options.js'
import { encDigest, reasonOf, sourceKey } from './source.js'
import type { Finding } from './detectors.js'
import type { Trackers } from './options.js'
import type { AuditEntry, EchBreakerDetail, EchFallbackLabel, EchHandshakeLabel, EchHandshakeReport, EchMonitorComponents, EchMonitorCounters, EchMonitorEvents, EchMonitorInit, EchRole, EchRotationDetail, EchStallStage, EchThreatDetail, EchTrackerSizes } from './types.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export { MONITOR_DEFAULTS }

const KNOWN_LABELS: ReadonlySet<string> = new Set(HANDSHAKE_LABELS)
const KNOWN_FALLBACKS: ReadonlySet<string> = new Set(FALLBACK_REASONS)

/**
 * The security monitor. The encrypter makes one (`ech.monitor`) and reports every handshake,
 * fallback and outer hello to it; it detects threats with bounded trackers, writes the audit log,
 * and maintains the `libp2p_ech_noise_*` metrics. Standalone use is for tests and tools.
 */
export class EchMonitor extends TypedEventEmitter<EchMonitorEvents> {
  readonly #log: Logger
  readonly #now: () => number
  readonly #target?: EventTarget
  readonly #metrics: MonitorMetrics
  readonly #audit: AuditLog
  readonly #trackers: Trackers
  readonly #ipv6PrefixLength: number
  #counters: EchMonitorCounters

  constructor (components: EchMonitorComponents, init: EchMonitorInit = {}) {
    super()
    this.#log = components.logger.forComponent('libp2p:noise-ech:monitor')
    this.#now = init.now ?? Date.now
    this.#target = init.events
    this.#ipv6PrefixLength = option('ipv6PrefixLength', init.ipv6PrefixLength, MONITOR_DEFAULTS.ipv6PrefixLength, 1, 128)
    this.#trackers = createTrackers(init, this.#now)
    this.#counters = emptyCounters()
    this.#audit = new AuditLog(components.logger, init.auditSink, (err) => {
      this.#counters.auditSinkErrors++
      this.#log('audit sink failed - %e', err)
    })
    this.#metrics = new MonitorMetrics(components.metrics, { getLiveKeys: init.getLiveKeys, getOpenBreakers: init.getOpenBreakers })
  }

  /**
   * One handshake finished (or failed). Dispatches `ech:<outcome>` and
   * `ech:outcome`, and/or `ech:error` (outcome `failed` or `error` set), with
   * `report` itself as the detail; counts it once; times it when it
   * completed; feeds downgrade detection.
   */
  handshake<T extends EchHandshakeReport>(report: T): void {
    const label = `${report.role}_${report.outcome}`
    if (!KNOWN_LABELS.has(label)) {
      this.#log('ignoring a handshake report with role %s and outcome %s', report.role, report.outcome)
      return
    }
    this.#counters.handshakes[label as EchHandshakeLabel]++
    const completed = report.outcome !== 'failed' && report.error == null
    this.#metrics.handshake(label as EchHandshakeLabel, report.path, completed ? report.durationMs : undefined)

    const peer = report.remotePeer
    if (report.role === 'initiator' && peer != null) {
      if (report.outcome === 'accepted') {
        this.#trackers.downgrade.accepted(peer)
      } else if (report.outcome === 'rejected') {
        this.#found(this.#trackers.downgrade.rejected(peer.toString(), report.retryConfigs === true), peer, report.remoteAddr, reasonOf(report.reason))
      }
    }

    if (report.outcome !== 'failed') {
      this.#emit(`ech:${report.outcome}`, report)
      this.#emit('ech:outcome', report)
    }
    if (report.outcome === 'failed' || report.error != null) {
      this.#emit('ech:error', report)
    }
  }

  /** A connection was handed to stock Noise (call where the decision is made) */
  fallback (reason: EchFallbackLabel, remotePeer?: PeerId): void {
    const known: EchFallbackLabel = KNOWN_FALLBACKS.has(reason) ? reason : 'other'
    this.#counters.fallbacks[known]++
    this.#metrics.fallback(known)
    this.#log.trace('fallback to stock noise for %p: %s', remotePeer, known)
  }

  /**
   * An outer hello opened. Its `enc` is remembered for `replayWindowMs`;
   * returns true when it was already remembered (a replay).
   */
  outerHelloAccepted (hello: { enc: Uint8Array, remoteAddr?: Multiaddr, remotePeer?: PeerId }): boolean {
    this.#counters.outerHellos.accepted++
    const source = this.#source(hello.remoteAddr)
    const finding = this.#trackers.replay.opened(encDigest(hello.enc), source)
    this.#found(finding, hello.remotePeer, hello.remoteAddr)
    return finding != null
  }

  /**
   * An outer hello could not be used (unknown config id, failed open, wrong
   * target peer). Not by itself a probe: GREASE and stale configs do exactly
   * this and then complete the handshake; `probe()` reports the connections
   * that then fail. Given `enc`, it is checked (not remembered) for a replay
   * of a hello that opened before; returns true when it is one.
   */
  outerHelloFailed (hello: { reason?: string, enc?: Uint8Array, remoteAddr?: Multiaddr, remotePeer?: PeerId }): boolean {
    this.#counters.outerHellos.failed++
    if (hello.enc == null) {
      return false
    }
    const source = this.#source(hello.remoteAddr)
    const finding = this.#trackers.replay.failed(encDigest(hello.enc), source)
    this.#found(finding, hello.remotePeer, hello.remoteAddr, reasonOf(hello.reason))
    return finding != null
  }

  /**
   * A connection whose outer hello could not be opened ended without
   * completing the handshake (hang-up after message 2, timeout, refusal):
   * feeds `probing`, rate-tracked per source
   */
  probe (hello: { remoteAddr?: Multiaddr, reason?: string }): void {
    this.#hit(this.#trackers.probing, hello.remoteAddr, undefined, hello.reason)
  }

  /** An outer hello that does not parse. `error` is reduced to its name (and bad field) */
  malformed (hello: { error: unknown, remoteAddr?: Multiaddr, remotePeer?: PeerId }): void {
    this.#counters.outerHellos.malformed++
    this.#hit(this.#trackers.malformedHellos, hello.remoteAddr, hello.remotePeer, hello.error)
  }

  /** `require` mode closed a connection that had no acceptable ECH */
  requireRefused (refusal: { role: EchRole, remoteAddr?: Multiaddr, remotePeer?: PeerId, reason?: string }): void {
    if (!ROLES.includes(refusal.role)) {
      return
    }
    this.#counters.requireRefusals++
    this.#hit(this.#trackers.refusals, refusal.remoteAddr, refusal.remotePeer, refusal.reason ?? refusal.role)
  }

  /** Retry configs from `remotePeer` failed verification */
  retryConfigsRefused (refusal: { remotePeer: PeerId, error?: unknown, remoteAddr?: Multiaddr }): void {
    this.#found(this.#trackers.retryConfigs.hit(refusal.remotePeer.toString()), refusal.remotePeer, refusal.remoteAddr, reasonOf(refusal.error))
  }

  /**
   * An ECH offer of ours failed. `authenticated`: whether the responder had
   * proved its identity (message 2 verified) before the failure. To a peer
   * that accepted ECH before, a run of unauthenticated failures is a
   * `downgrade` (medium, from the `preAuthFailuresAt`th in a row); an
   * authenticated failure ends the run (a rejection is reported by
   * `handshake()`).
   */
  offerFailed (report: { remotePeer: PeerId, remoteAddr?: Multiaddr, authenticated: boolean }): void {
    this.#found(this.#trackers.downgrade.offerFailed(report.remotePeer.toString(), report.authenticated === true), report.remotePeer, report.remoteAddr, 'offer-failed')
  }

  /** An inbound handshake hit its deadline at `stage`: feeds `slow-handshake`, rate-tracked per source */
  stalled (stall: { remoteAddr?: Multiaddr, stage: EchStallStage }): void {
    const stage: EchStallStage = STALL_STAGES.includes(stall.stage) ? stall.stage : 'handshake'
    this.#counters.stalls[stage]++
    this.#hit(this.#trackers.slowHandshakes, stall.remoteAddr, undefined, stage)
  }

  /**
   * An inbound handshake began (call `inboundEnded` when it ends, however):
   * feeds `half-open`. Returns the source it counts against, for `inboundEnded`
   */
  inboundStarted (remoteAddr?: Multiaddr): string {
    const source = this.#source(remoteAddr)
    this.#found(this.#trackers.halfOpen.started(source), undefined, remoteAddr)
    return source
  }

  /** An inbound handshake reported to `inboundStarted` ended, however; `source` is what that returned (else worked out again) */
  inboundEnded (remoteAddr?: Multiaddr, source?: string): void {
    this.#trackers.halfOpen.ended(source ?? this.#source(remoteAddr))
  }

  /** The IPv6 prefix length sources are grouped by (`init.ipv6PrefixLength`) */
  get ipv6PrefixLength (): number {
    return this.#ipv6PrefixLength
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
    this.#audit.write({ time: this.#isoNow(), event: 'rotation', configId: detail.added, count: detail.retired.length, reason: `retired:${detail.retired.join(',')}` })
    this.#emit('ech:rotated', detail)
  }

  /**
   * A peer's circuit breaker changed state (pass the policy's `breaker:*` detail and the state).
   * A breaker opening for a peer that accepted our ECH before is a `downgrade` (high): our offers
   * to it keep failing and it now gets stock Noise.
   */
  breaker (detail: EchBreakerDetail): void {
    const peer = String(detail.peer)
    this.#audit.write({ time: this.#isoNow(), event: 'breaker', remotePeer: peer, reason: detail.state, count: detail.failures })
    this.#emit('ech:breaker', detail)
    if (detail.state === 'open') {
      this.#found(this.#trackers.downgrade.breakerOpened(peer), undefined, undefined, 'breaker-open')
    }
  }

  /** The latest threat events (as audit entries: no secrets, JSON-ready), newest first */
  getRecentThreats (limit = Infinity): AuditEntry[] {
    return this.#trackers.recent.newest(limit)
  }

  /** A snapshot of the outcome counters */
  getCounters (): EchMonitorCounters {
    return structuredClone(this.#counters)
  }

  /** Entries held by each tracker right now (all bounded by the `max*` options) */
  getTrackerSizes (): EchTrackerSizes {
    const t = this.#trackers
    return {
      probing: t.probing.size,
      malformed: t.malformedHellos.size,
      requireRefusals: t.refusals.size,
      retryConfigs: t.retryConfigs.size,
      slowHandshakes: t.slowHandshakes.size,
      halfOpen: t.halfOpen.size,
      replay: t.replay.size,
      replaySources: t.replay.sourceCount,
      acceptedPeers: t.downgrade.size,
      recentThreats: t.recent.size
    }
  }

  /** Forget all tracked state (metrics, being registered with libp2p, stay) */
  stop (): void {
    const t = this.#trackers
    for (const tracker of [t.probing, t.malformedHellos, t.refusals, t.retryConfigs, t.slowHandshakes, t.halfOpen, t.replay, t.downgrade, t.recent]) {
      tracker.clear()
    }
  }

  #source (addr?: Multiaddr): string {
    return sourceKey(addr, this.#ipv6PrefixLength)
  }

  /** One occurrence for a per-source rate tracker */
  #hit (tracker: { hit(source: string): Finding | undefined }, remoteAddr: Multiaddr | undefined, remotePeer: PeerId | undefined, reason: unknown): void {
    this.#found(tracker.hit(this.#source(remoteAddr)), remotePeer, remoteAddr, reasonOf(reason))
  }

  /**
   * Count a detection; then, if its source's event interval allows (the
   * finding's `report`), spend the global budget on an event and audit line
   */
  #found (finding: Finding | undefined, remotePeer?: PeerId, remoteAddr?: Multiaddr, error?: string): void {
    if (finding == null) {
      return
    }
    this.#counters.threats[finding.kind]++
    this.#metrics.threat(finding.kind)
    if (!finding.report) {
      return
    }
    if (!this.#trackers.budget.take()) {
      this.#counters.suppressedThreatEvents++
      this.#log.trace('%s threat event from %a dropped by the global budget', finding.kind, remoteAddr)
      return
    }
    const peer = finding.remotePeer ?? remotePeer
    const entry = this.#audit.write({
      time: this.#isoNow(),
      event: 'threat',
      kind: finding.kind,
      severity: finding.severity,
      remotePeer: peer?.toString(),
      remoteAddr: remoteAddr?.toString(),
      count: finding.count,
      reason: error
    })
    this.#trackers.recent.push(entry)
    const detail: EchThreatDetail = { kind: finding.kind, severity: finding.severity, remotePeer: peer, remoteAddr, count: finding.count, error }
    this.#emit('ech:threat', detail)
  }

  /**
   * Dispatch on the monitor and on `init.events`, each only if it has a
   * listener for `type` (most connections report events nobody listens to,
   * work stock Noise does not do); a target that cannot count listeners gets all
   */
  #emit<K extends keyof EchMonitorEvents>(type: K, detail: EchMonitorEvents[K]['detail']): void {
    if (this.listenerCount(type) > 0) {
      this.safeDispatchEvent(type, { detail })
    }
    const target = this.#target
    if (target != null && listenedTo(target, type)) {
      target.dispatchEvent(new CustomEvent(type, { detail }))
    }
  }

  #isoNow (): string {
    return new Date(this.#now()).toISOString()
  }
}

/** Whether `target` has a listener for `type`; true when it cannot tell (a plain `EventTarget`) */
function listenedTo (target: EventTarget, type: string): boolean {
  const count = (target as Partial<Pick<TypedEventEmitter<Record<string, Event>>, 'listenerCount'>>).listenerCount
  return typeof count !== 'function' || count.call(target, type) > 0
}

function emptyCounters (): EchMonitorCounters {
  return {
    handshakes: zeros(HANDSHAKE_LABELS),
    fallbacks: zeros(FALLBACK_REASONS),
    threats: zeros(THREAT_KINDS),
    outerHellos: { accepted: 0, failed: 0, malformed: 0 },
    requireRefusals: 0,
    stalls: zeros(STALL_STAGES),
    suppressedThreatEvents: 0,
    auditSinkErrors: 0
  }
}
