/**
 * Public types of the security monitor: what the wrapper reports, the events
 * the monitor dispatches, the audit entry, and the label unions the metrics
 * use (typed so a misspelt label does not compile).
 */
import type { NoOfferReason } from '../config/peer-store.js'
import type { PolicyFallbackReason } from '../policy/types.js'
import type { ComponentLogger, Metrics, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** This node's role in a handshake: `initiator` (it dialled) or `responder` */
export type EchRole = 'initiator' | 'responder'

/** What happened on one handshake; `failed` is a handshake that threw */
export type EchHandshakeOutcome = 'accepted' | 'rejected' | 'grease' | 'not-offered' | 'fallback' | 'failed'

/** Which engine secured (or tried to secure) the connection */
export type EchPath = 'ech' | 'stock'

/** Label of `libp2p_ech_noise_handshakes_total`: `<role>_<outcome>` */
export type EchHandshakeLabel = `${EchRole}_${EchHandshakeOutcome}`

/** Why this node sent a dial to stock Noise instead of offering ECH */
export type EchFallbackReason = 'disabled' | 'no-peer-id' | NoOfferReason | PolicyFallbackReason

/**
 * Label of `libp2p_ech_noise_fallbacks_total`: a fallback reason, or
 * `not-offered` (an inbound stock hello); anything else is counted as
 * `other`, so the metric's label set stays closed.
 */
export type EchFallbackLabel = EchFallbackReason | 'not-offered' | 'other'

/**
 * What a detection is about (one label of `libp2p_ech_noise_threats_total`).
 *
 * `probing`: connections from one source whose outer hello this node could not open and that then
 * failed without completing the handshake, above a rate (an unopenable hello alone is GREASE or a
 * stale config when the handshake completes). `replay`: the `enc` of an outer hello that opened,
 * seen again inside the replay window. `downgrade`: a peer that accepted our ECH before rejects it
 * without retry configs, has its circuit breaker opened, or keeps failing our offers before it
 * authenticates. `malformed`: an outer hello that does not parse (every one counts).
 * `require-refusals`: `require`-mode refusals from one source, above a rate. `bad-retry-configs`:
 * retry configs that failed verification. `slow-handshake`: inbound handshakes from one source
 * that hit their deadline, above a rate. `half-open`: concurrent unfinished inbound handshakes
 * from one source, above a limit.
 */
export type EchThreatKind = 'probing' | 'replay' | 'downgrade' | 'malformed' | 'require-refusals' | 'bad-retry-configs' | 'slow-handshake' | 'half-open'

/** How far an inbound handshake got before its deadline: message 1 never fully arrived, or later */
export type EchStallStage = 'message1' | 'handshake'

/** How serious a detection is; see `EchThreatDetail.severity` */
export type EchThreatSeverity = 'low' | 'medium' | 'high'

/**
 * One handshake, as the wrapper reports it. The object given to
 * `EchMonitor.handshake()` is dispatched as the event detail unchanged, so
 * callers may extend it (e.g. with `direction`) and keep object identity.
 */
export interface EchHandshakeReport {
  /** This node's role */
  role: EchRole
  /** The ECH outcome, or `failed` */
  outcome: EchHandshakeOutcome
  /** `ech` when the ECH engine ran, `stock` when the stock Noise encrypter did */
  path: EchPath
  /** Time spent in `secureInbound`/`secureOutbound`, ms */
  durationMs: number
  /** The remote peer, when known (always for completed handshakes) */
  remotePeer?: PeerId
  /** The remote address of the connection, when the transport gives one */
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

/** The detail of `ech:threat`: one threat detection that passed the event rate limits */
export interface EchThreatDetail {
  /** What was detected */
  kind: EchThreatKind
  /**
   * `replay`, `bad-retry-configs`: high; `downgrade`: high for a rejection without retry configs
   * or an opened breaker, medium for offers that failed before the peer authenticated;
   * `probing`, `require-refusals`, `slow-handshake`, `half-open`: medium; `malformed`: low,
   * medium from `malformedMediumAt` per source
   */
  severity: EchThreatSeverity
  /** The remote peer, when known */
  remotePeer?: PeerId
  /** The remote address, when known (the source the detection counts against) */
  remoteAddr?: Multiaddr
  /**
   * Occurrences of this kind from this source that the monitor has seen
   * while it kept the source in its tracker (cumulative, so events that were
   * rate-limited are not lost, only folded into the next count). `replay`:
   * sightings of that `enc`; `downgrade`: downgrade signals from the peer
   * since it last accepted ECH; `half-open`: the source's unfinished inbound
   * handshakes at the detection.
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
  /** The breaker's new state */
  state: 'open' | 'half-open' | 'closed'
  /** Consecutive failed ECH handshakes with the peer */
  failures?: number
  /** The cool-down of the current opening, ms */
  cooldownMs?: number
}

/** Events of `EchMonitor`; the encrypter re-dispatches them (see `EchNoiseEvents`) */
export interface EchMonitorEvents {
  /** A handshake completed with ECH accepted */
  'ech:accepted': CustomEvent<EchHandshakeReport>
  /** A handshake completed with ECH offered but not accepted */
  'ech:rejected': CustomEvent<EchHandshakeReport>
  /** A handshake completed after a GREASE outer hello (initiator) */
  'ech:grease': CustomEvent<EchHandshakeReport>
  /** A handshake completed without an outer hello from the initiator (responder) */
  'ech:not-offered': CustomEvent<EchHandshakeReport>
  /** A handshake this node handed to stock Noise completed */
  'ech:fallback': CustomEvent<EchHandshakeReport>
  /** Every handshake that completed, whatever its outcome (not `failed`) */
  'ech:outcome': CustomEvent<EchHandshakeReport>
  /** A handshake that threw: outcome `failed`, or an ECH outcome with `error` set */
  'ech:error': CustomEvent<EchHandshakeReport>
  /** A threat was detected (rate-limited per kind and source, and globally) */
  'ech:threat': CustomEvent<EchThreatDetail>
  /** The key manager added a key (also the first one, at start) */
  'ech:rotated': CustomEvent<EchRotationDetail>
  /** A peer's circuit breaker changed state */
  'ech:breaker': CustomEvent<EchBreakerDetail>
}

/** The kinds of audit line */
export type EchAuditEvent = 'threat' | 'rotation' | 'breaker'

/**
 * One audit line. Only these fields, only these types: no keys, no
 * plaintext, no `enc` bytes or hashes, no free-form error messages.
 */
export interface AuditEntry {
  /** ISO 8601, from the monitor's clock */
  time: string
  /** What the line is about */
  event: EchAuditEvent
  /** `threat`: the threat kind */
  kind?: EchThreatKind
  /** `threat`: its severity */
  severity?: EchThreatSeverity
  /** `threat` (when known), `breaker`: the peer id */
  remotePeer?: string
  /** `threat`: the remote multiaddr, when known */
  remoteAddr?: string
  /**
   * `threat`: occurrences from the source so far; `rotation`: keys retired; `breaker`: consecutive
   * failures
   */
  count?: number
  /**
   * `threat`: a short code or error name; `rotation`: `retired:<config ids>`; `breaker`: the new
   * state
   */
  reason?: string
  /** `rotation`: the new key's config id */
  configId?: number
}

/** "More than `limit` in any `windowMs`" */
export interface RateLimitInit {
  /** Occurrences allowed per window from one source; one more is a detection */
  limit?: number
  /** The sliding window, ms */
  windowMs?: number
}

/**
 * Options of `EchMonitor`; the encrypter takes them as `EchNoiseInit.monitor` (without `events`,
 * `getLiveKeys`, `getOpenBreakers`)
 */
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
  /** Failed connections after an unopenable outer hello (`probe()`), per source (default more than 10 per minute) */
  probing?: RateLimitInit
  /** `require`-mode refusals per source (default more than 10 per minute) */
  requireRefusals?: RateLimitInit
  /** Malformed hellos from one source at which severity goes low → medium (default 10) */
  malformedMediumAt?: number
  /**
   * How long a source's malformed-hello, bad-retry-config and half-open
   * counts are remembered after its last occurrence, ms (default 10 min)
   */
  countMemoryMs?: number
  /** How long the `enc` of an outer hello that opened is remembered after it was first seen, ms (default 10 min) */
  replayWindowMs?: number
  /** Most `enc` digests remembered (default 65,536; about 70 bytes each) */
  maxReplayEntries?: number
  /** How long a peer that accepted ECH is remembered, ms (default 7 days) */
  downgradeMemoryMs?: number
  /** Most peers remembered for downgrade detection (default 10,000) */
  maxPeers?: number
  /**
   * Offers in a row to a peer that accepted ECH before, failed before the peer authenticated
   * (`offerFailed()`), from which each is a `downgrade` detection (medium) (default 3)
   */
  preAuthFailuresAt?: number
  /** Inbound handshakes per source that hit their deadline (`stalled()`) (default more than 10 per minute) */
  slowHandshakes?: RateLimitInit
  /**
   * Concurrent unfinished inbound handshakes from one source (`inboundStarted()`) above which
   * each new one is a `half-open` detection (default 8, below libp2p's node-wide
   * `maxIncomingPendingConnections` of 10)
   */
  maxHalfOpen?: number
  /** Most sources (IPs) kept by each rate tracker (default 10,000) */
  maxSources?: number
  /**
   * Least time between two `ech:threat` events of one kind from one source, ms (default 1 min),
   * unless the severity rose since the last one
   */
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

/** What the monitor needs from libp2p */
export interface EchMonitorComponents {
  /** For the monitor's log and the audit log (`libp2p:noise-ech:audit`) */
  logger: ComponentLogger
  /** Where `libp2p_ech_noise_*` metrics are registered; none without it */
  metrics?: Metrics
}

/**
 * In-memory counters since start (`EchMonitor.getCounters()`, `/ech/status`), the same as the
 * metrics
 */
export interface EchMonitorCounters {
  /**
   * Handshakes by `<role>_<outcome>`, as the `role_outcome` label of
   * `libp2p_ech_noise_handshakes_total`
   */
  handshakes: Record<EchHandshakeLabel, number>
  /**
   * Connections handed to stock Noise, by the `reason` label of `libp2p_ech_noise_fallbacks_total`
   */
  fallbacks: Record<EchFallbackLabel, number>
  /** Every detection, including those whose event was rate-limited */
  threats: Record<EchThreatKind, number>
  /** Outer hellos received: opened, not openable (stale config, GREASE, probes), unparseable */
  outerHellos: {
    /** Opened with a live key */
    accepted: number
    /** Parsed but not openable: unknown config id, unsupported suite, failed open, wrong peer (stale configs, GREASE, probes) */
    failed: number
    /** Did not parse */
    malformed: number
  }
  /** Connections `require` mode refused, both roles */
  requireRefusals: number
  /** Inbound handshakes that hit their deadline (`stalled()`), by stage */
  stalls: Record<EchStallStage, number>
  /** `ech:threat` events dropped by the global event budget */
  suppressedThreatEvents: number
  /** Audit sink calls that threw or rejected */
  auditSinkErrors: number
}

/** Entries held by each bounded tracker (`EchMonitor.getTrackerSizes()`), for capacity checks */
export interface EchTrackerSizes {
  /** Sources tracked for `probing` */
  probing: number
  /** Sources tracked for `malformed` */
  malformed: number
  /** Sources tracked for `require-refusals` */
  requireRefusals: number
  /** Peers tracked for `bad-retry-configs` */
  retryConfigs: number
  /** Sources tracked for `slow-handshake` */
  slowHandshakes: number
  /** Sources tracked for `half-open` */
  halfOpen: number
  /** `enc` digests remembered for `replay` */
  replay: number
  /** Sources whose last `replay` event time is kept (the per-source event interval) */
  replaySources: number
  /** Peers remembered for `downgrade` */
  acceptedPeers: number
  /** Threats kept for `getRecentThreats()` */
  recentThreats: number
}
