/**
 * Public types of the composing wrapper.
 */
import type { NoOfferReason } from './config/peer-store.js'
import type { CryptoProvider } from './hpke/provider.js'
import type { EchKey } from './keys/generate.js'
import type { EchKeyManagerInit } from './keys/manager.js'
import type { EchPolicyOptions, PolicyFallbackReason } from './policy/types.js'
import type { NoiseInit } from '@chainsafe/libp2p-noise'
import type { ComponentLogger, Metrics, PeerId, PeerStore, PrivateKey, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'
import type { TypedEventTarget } from 'main-event'

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

/** Why a dial went to stock Noise */
export type EchFallbackReason = 'disabled' | 'no-peer-id' | NoOfferReason | PolicyFallbackReason

export interface EchConnectionInfo {
  direction: 'inbound' | 'outbound'
  outcome: EchOutcome
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
  /** The config id ECH used (accepted) or offered */
  configId?: number
  /** Why the connection went to stock Noise (`disabled`, `no-config`, `no-peer-id`, …) */
  reason?: string
  /** Whether retry configs from the responder were verified and stored */
  retryConfigsLearned?: boolean
  /** Time spent in `secureInbound`/`secureOutbound`, ms */
  durationMs: number
}

export interface EchThreat {
  kind: string
  severity: 'low' | 'medium' | 'high'
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
  count: number
  error?: string
}

export interface EchHandshakeError {
  direction: 'inbound' | 'outbound'
  remotePeer?: PeerId
  /** `err.name` of the failure */
  error: string
}

export interface EchNoiseEvents {
  'ech:accepted': CustomEvent<EchConnectionInfo>
  'ech:rejected': CustomEvent<EchConnectionInfo>
  'ech:grease': CustomEvent<EchConnectionInfo>
  'ech:not-offered': CustomEvent<EchConnectionInfo>
  'ech:fallback': CustomEvent<EchConnectionInfo>
  /** Every secured connection, whatever its outcome */
  'ech:outcome': CustomEvent<EchConnectionInfo>
  'ech:threat': CustomEvent<EchThreat>
  'ech:error': CustomEvent<EchHandshakeError>
}

export interface EchNoiseInit {
  /** This node's ECH keys, newest first. Without them the node makes, persists and rotates its own. */
  keys?: EchKey[]
  /** Default `opportunistic` */
  mode?: EchMode
  /** Send a GREASE outer hello to peers without a known config (default false) */
  grease?: boolean
  /** Options for the stock Noise encrypter that handles non-ECH connections, and shared settings */
  noise?: NoiseInit
  /** Crypto backend for the ECH engine (default `node:crypto`) */
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
  /** Handshake deadline when the caller gives no abort signal, ms (default 10 000) */
  handshakeTimeout?: number
}

export interface EchNoiseComponents {
  peerId: PeerId
  privateKey: PrivateKey
  logger: ComponentLogger
  upgrader: Upgrader
  peerStore: PeerStore
  datastore: Datastore
  metrics?: Metrics
}

export type EchNoiseEventTarget = TypedEventTarget<EchNoiseEvents>
