/**
 * Public types of the composing wrapper.
 */
import type { OpenBudgetInit } from './open-budget.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { EchKey } from '../keys/generate.js'
import type { EchKeyManagerInit } from '../keys/types.js'
import type { EchBreakerDetail, EchHandshakeReport, EchMonitorInit, EchRotationDetail, EchThreatDetail } from '../monitor/types.js'
import type { EchPolicyOptions } from '../policy/types.js'
import type { NoiseInit } from '@chainsafe/libp2p-noise'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, PrivateKey, TypedEventTarget, Upgrader } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/**
 * `opportunistic` (default): offer ECH to peers with a known config, accept it
 * from peers that offer it, and speak stock Noise with everyone else.
 * `require`: only ECH; the initiator never sends its identity unless ECH was
 * accepted, and the responder closes before message 2 unless it was.
 * `disabled`: stock Noise in both directions.
 */
export type EchMode = 'opportunistic' | 'require' | 'disabled'

/**
 * What happened to ECH on one connection:
 * - `accepted`: the outer hello was decrypted and bound into the session keys
 * - `rejected`: ECH was offered but the responder could not (or would not) use it
 * - `grease`: a GREASE outer hello was sent (outbound only)
 * - `not-offered`: the initiator spoke stock Noise (inbound only)
 * - `fallback`: this side handed the connection to stock Noise (see `reason`)
 */
export type EchOutcome = 'accepted' | 'rejected' | 'grease' | 'not-offered' | 'fallback'

export type { EchFallbackReason } from '../monitor/types.js'

/**
 * One secured connection as the encrypter saw it: the event detail of
 * `ech:<outcome>` and `ech:outcome`, and what `getConnectionInfo()` returns.
 */
export interface EchConnectionInfo extends EchHandshakeReport {
  /** `outbound`: this node dialled (initiator); `inbound`: it was dialled (responder) */
  direction: 'inbound' | 'outbound'
  /** What happened to ECH on this connection */
  outcome: EchOutcome
  /** Why the connection went to stock Noise (`disabled`, `no-config`, `rollout`, …) */
  reason?: string
  /** Whether retry configs from the responder were verified and stored */
  retryConfigsLearned?: boolean
}

/** The detail of `ech:error`: a handshake that failed (or was refused in `require` mode) */
export interface EchHandshakeError extends EchHandshakeReport {
  /** `outbound`: this node dialled; `inbound`: it was dialled */
  direction: 'inbound' | 'outbound'
  /** `err.name` of the failure */
  error: string
}

export type { EchThreatDetail as EchThreat, EchThreatKind, EchRotationDetail, EchBreakerDetail, AuditEntry } from '../monitor/types.js'

/**
 * Events of the encrypter (`EchNoise` is a typed `EventTarget`). For each secured connection:
 * `ech:<outcome>` then `ech:outcome`; for each failed one: `ech:error`.
 */
export interface EchNoiseEvents {
  /** ECH was accepted: the outer hello was opened and bound into the session keys */
  'ech:accepted': CustomEvent<EchConnectionInfo>
  /** ECH was offered but not accepted; in `opportunistic` mode the connection is plain Noise XX */
  'ech:rejected': CustomEvent<EchConnectionInfo>
  /** This node sent a GREASE outer hello (outbound) */
  'ech:grease': CustomEvent<EchConnectionInfo>
  /** The initiator spoke stock Noise (inbound) */
  'ech:not-offered': CustomEvent<EchConnectionInfo>
  /** This node handed the connection to stock Noise; `reason` says why */
  'ech:fallback': CustomEvent<EchConnectionInfo>
  /** Every secured connection, whatever its outcome */
  'ech:outcome': CustomEvent<EchConnectionInfo>
  /**
   * A handshake failed or was refused; `error` is the typed `err.name` (libp2p's upgrader rethrows
   * it as `EncryptionFailedError`)
   */
  'ech:error': CustomEvent<EchHandshakeError>
  /** The security monitor detected a threat (rate-limited per kind and source, and globally) */
  'ech:threat': CustomEvent<EchThreatDetail>
  /** A key was added to this node's live keys (also the first, at start) */
  'ech:rotated': CustomEvent<EchRotationDetail>
  /** A peer's circuit breaker opened, went half-open or closed */
  'ech:breaker': CustomEvent<EchBreakerDetail>
}

/** Options of `echNoise()`. Every default is listed in the README's configuration reference. */
export interface EchNoiseInit {
  /** This node's ECH keys, newest first. Without them the node makes, persists and rotates its own. */
  keys?: EchKey[]
  /** Default `opportunistic` */
  mode?: EchMode
  /**
   * KEMs this node encrypts to when dialing, by name (`x25519`, `x-wing`);
   * from a peer's list the first config with one of them is used (default:
   * every KEM the package implements)
   */
  kems?: string[]
  /**
   * Send a GREASE outer hello to peers without a known config (default
   * false). It does not make real offers indistinguishable: its fixed
   * X25519/ChaCha20Poly1305 shape differs from offers to default or X-Wing
   * keys, and the responder's retry record enlarges message 2
   */
  grease?: boolean
  /** Options for the stock Noise encrypter that handles non-ECH connections, and shared settings */
  noise?: NoiseInit
  /** Crypto backend for the ECH engine (default: the platform's, `node:crypto` on Node, `browserProvider` in browser bundles) */
  provider?: CryptoProvider
  /** Key generation and rotation settings when `keys` is not given */
  keyManager?: Omit<EchKeyManagerInit, 'keys' | 'provider'>
  /**
   * Kill switch: false sends every connection through stock Noise (default
   * true). The `ECH_ENABLED` environment variable wins.
   */
  enabled?: boolean
  /**
   * Share of peers (0-100, by a stable hash of the peer id) that are offered
   * ECH (default 100). The `ECH_ROLLOUT_PERCENTAGE` environment variable wins.
   */
  rolloutPercentage?: number
  /** Circuit breaker and persistence settings; `env` replaces `process.env` (tests) */
  policy?: Omit<EchPolicyOptions, 'enabled' | 'rolloutPercentage'>
  /** Threat detection thresholds, tracker sizes and the audit sink */
  monitor?: Omit<EchMonitorInit, 'events' | 'getLiveKeys' | 'getOpenBreakers'>
  /** Handshake deadline when the caller gives no abort signal, ms (default 10 000) */
  handshakeTimeout?: number
  /**
   * Inbound: message 1 must arrive within this many ms (default 2000), far
   * below libp2p's 10 s upgrade timeout: a real one takes a round trip, and a
   * peer that trickles it (slowloris) gives its pending-connection slot back
   * sooner (SECURITY.md §4.4)
   */
  message1Timeout?: number
  /**
   * Inbound handshakes one source (an IP, an IPv6 /64) may have in flight at
   * once (default 8); more are refused at once with `InboundLimitError`
   */
  maxPendingPerSource?: number
  /**
   * Per-source budget of HPKE opens on the responder, in units of one
   * DHKEM(X25519) open (an X-Wing open costs 8): `burst` at once (default
   * 128), `perSecond` after that (default 32). An outer hello over it is
   * answered as one that cannot be opened (SECURITY.md §7)
   */
  openBudget?: Omit<OpenBudgetInit, 'now'>
}

/** The libp2p components the encrypter uses (libp2p passes them) */
export interface EchNoiseComponents {
  /** This node's peer id (the target an inner hello must name) */
  peerId: PeerId
  /** This node's identity key: signs the Noise payload and the config records */
  privateKey: PrivateKey
  /** Loggers `libp2p:noise-ech`, `…:keys`, `…:policy`, `…:monitor`, `…:audit` */
  logger: ComponentLogger
  /** Read lazily, for the stream muxers to offer in the handshake */
  upgrader: Upgrader
  /** Where remote configs are found and stored (`ECH_PEER_STORE_KEY`) */
  peerStore: PeerStore
  /** Where generated keys and open breakers are persisted */
  datastore: Datastore
  /** Where `libp2p_ech_noise_*` metrics are registered, when the node has metrics */
  metrics?: Metrics
  /**
   * The node's event bus: in `require` mode, a listener on a transport that
   * secures itself (`transport:listening`) is reported as a way around it
   */
  events?: TypedEventTarget<Libp2pEvents>
}
