/**
 * Public types of the security monitor: what the wrapper reports, the events
 * the monitor dispatches, the audit entry, and the label unions the metrics
 * use (typed so a misspelt label does not compile).
 */
import type { ComponentLogger, Metrics, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type EchRole = 'initiator' | 'responder'

/** What happened on one handshake; `failed` is a handshake that threw */
export type EchHandshakeOutcome = 'accepted' | 'rejected' | 'grease' | 'not-offered' | 'fallback' | 'failed'

/** Which engine secured (or tried to secure) the connection */
export type EchPath = 'ech' | 'stock'

/** Label of `libp2p_ech_noise_handshakes_total`: `<role>_<outcome>` */
export type EchHandshakeLabel = `${EchRole}_${EchHandshakeOutcome}`

/**
 * Why a connection went to stock Noise. Anything else is counted as `other`,
 * so the metric's label set stays closed.
 */
export type EchFallbackReason = 'disabled' | 'rollout' | 'breaker-open' | 'no-peer-id' | 'no-config' | 'expired-config' | 'unusable-config' | 'not-offered' | 'other'

/**
 * - `probing`: outer hellos from one source that fail to decrypt, above a rate
 * - `replay`: an outer hello `enc` seen again inside the replay window
 * - `downgrade`: a peer that accepted our ECH before rejects it without retry configs
 * - `malformed`: an outer hello that does not parse (every one counts)
 * - `require-refusals`: `require`-mode refusals from one source, above a rate
 * - `bad-retry-configs`: retry configs that failed verification
 */
export type EchThreatKind = 'probing' | 'replay' | 'downgrade' | 'malformed' | 'require-refusals' | 'bad-retry-configs'

export type EchThreatSeverity = 'low' | 'medium' | 'high'

/**
 * One handshake, as the wrapper reports it. The object given to
 * `EchMonitor.handshake()` is dispatched as the event detail unchanged, so
 * callers may extend it (e.g. with `direction`) and keep object identity.
 */
export interface EchHandshakeReport {
  role: EchRole
  outcome: EchHandshakeOutcome
  path: EchPath
  /** Time spent in `secureInbound`/`secureOutbound`, ms */
  durationMs: number
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
  /** A short code (`no-config`, an error name, …), never a message with data in it */
  reason?: string
  /** Whether the responder sent retry configs that verified (initiator, `rejected`) */
  retryConfigs?: boolean
  /** The config id ECH used (accepted) or offered */
  configId?: number
  /**
   * `err.name` when the handshake threw. With outcome `failed` it is the
   * failure; with an ECH outcome (a `require`-mode `rejected`, closed before
   * message 3) `ech:error` follows the outcome's events and the handshake is
   * still counted once, under its outcome.
   */
  error?: string
}

export interface EchThreatDetail {
  kind: EchThreatKind
  severity: EchThreatSeverity
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
  /**
   * Occurrences of this kind from this source that the monitor has seen
   * while it kept the source in its tracker (cumulative, so events that were
   * rate-limited are not lost, only folded into the next count)
   */
  count: number
  /** An error name (e.g. for `bad-retry-configs`, `malformed`) */
  error?: string
}

/** Same shape as the key manager's `ech:rotated` detail */
export interface EchRotationDetail {
  /** config_id of the new key */
  added: number
  /** config_ids of keys retired by this rotation */
  retired: number[]
}

/** Same fields as the policy's `breaker:*` event details, plus the new state */
export interface EchBreakerDetail {
  /** The peer id, as a string */
  peer: string
  state: 'open' | 'half-open' | 'closed'
  failures?: number
  cooldownMs?: number
}

export interface EchMonitorEvents {
  'ech:accepted': CustomEvent<EchHandshakeReport>
  'ech:rejected': CustomEvent<EchHandshakeReport>
  'ech:grease': CustomEvent<EchHandshakeReport>
  'ech:not-offered': CustomEvent<EchHandshakeReport>
  'ech:fallback': CustomEvent<EchHandshakeReport>
  /** Every handshake that completed, whatever its outcome (not `failed`) */
  'ech:outcome': CustomEvent<EchHandshakeReport>
  /** A handshake that threw: outcome `failed`, or an ECH outcome with `error` set */
  'ech:error': CustomEvent<EchHandshakeReport>
  'ech:threat': CustomEvent<EchThreatDetail>
  'ech:rotated': CustomEvent<EchRotationDetail>
  'ech:breaker': CustomEvent<EchBreakerDetail>
}

export type EchAuditEvent = 'threat' | 'rotation' | 'breaker'

/**
 * One audit line. Only these fields, only these types: no keys, no
 * plaintext, no `enc` bytes or hashes, no free-form error messages.
 */
export interface AuditEntry {
  /** ISO 8601, from the monitor's clock */
  time: string
  event: EchAuditEvent
  kind?: EchThreatKind
  severity?: EchThreatSeverity
  remotePeer?: string
  remoteAddr?: string
  count?: number
  reason?: string
  configId?: number
}

/** "More than `limit` in any `windowMs`" */
export interface RateLimitInit {
  limit?: number
  windowMs?: number
}

export interface EchMonitorInit {
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
  /** Also receives every audit entry; a throwing (or rejecting) sink is contained */
  auditSink?(entry: AuditEntry): void
  /** Events are also dispatched here (the encrypter passes itself) */
  events?: EventTarget
  /** Scrape-time value of `libp2p_ech_noise_live_keys` */
  getLiveKeys?(): number
  /** Scrape-time value of `libp2p_ech_noise_open_breakers` */
  getOpenBreakers?(): number
  /** Failed outer hellos per source (default more than 10 per minute) */
  probing?: RateLimitInit
  /** `require`-mode refusals per source (default more than 10 per minute) */
  requireRefusals?: RateLimitInit
  /** Malformed hellos from one source at which severity goes low → medium (default 10) */
  malformedMediumAt?: number
  /** How long an `enc` is remembered after its last sighting, ms (default 10 min) */
  replayWindowMs?: number
  /** Most `enc` hashes remembered (default 65,536) */
  maxReplayEntries?: number
  /** How long a peer that accepted ECH is remembered, ms (default 7 days) */
  downgradeMemoryMs?: number
  /** Most peers remembered for downgrade detection (default 10,000) */
  maxPeers?: number
  /** Most sources (IPs) kept by each rate tracker (default 10,000) */
  maxSources?: number
  /** Least time between two `ech:threat` events of one kind from one source, ms (default 1 min) */
  eventIntervalMs?: number
  /** Global cap on `ech:threat` events: burst size (default 100) … */
  threatEventBurst?: number
  /** … and sustained rate per second (default 10) */
  threatEventsPerSecond?: number
  /** Threats kept for `getRecentThreats()` (default 100) */
  maxRecentThreats?: number
  /** IPv6 sources are grouped by this prefix length (default 64; 128 keys each address) */
  ipv6PrefixLength?: number
}

export interface EchMonitorComponents {
  logger: ComponentLogger
  metrics?: Metrics
}

export interface EchMonitorCounters {
  handshakes: Record<EchHandshakeLabel, number>
  fallbacks: Record<EchFallbackReason, number>
  /** Every detection, including those whose event was rate-limited */
  threats: Record<EchThreatKind, number>
  outerHellos: { accepted: number, failed: number, malformed: number }
  requireRefusals: number
  /** `ech:threat` events dropped by the global event budget */
  suppressedThreatEvents: number
  /** Audit sink calls that threw or rejected */
  auditSinkErrors: number
}

export interface EchTrackerSizes {
  probing: number
  malformed: number
  requireRefusals: number
  retryConfigs: number
  replay: number
  acceptedPeers: number
  recentThreats: number
}
