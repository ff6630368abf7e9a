/**
 * The public shapes of the config exchange service: its components, its
 * options and its events. In a module of their own so that the service
 * (`service.ts`) and its fetch pipeline (`fetcher.ts`), which both use the
 * event types, do not import each other.
 */
import type { ImportSkipReason } from './import.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { AbortOptions, ComponentLogger, Libp2pEvents, Metrics, PeerId, PeerStore, PrivateKey, StreamHandler, StreamHandlerOptions, Upgrader } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** The subset of the libp2p registrar the service uses */
export interface EchConfigExchangeRegistrar {
  /** Register a protocol handler */
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  /** Remove a protocol handler */
  unhandle(protocol: string, options?: AbortOptions): Promise<void>
}

/** The libp2p components the config exchange service uses (libp2p passes them) */
export interface EchConfigExchangeComponents {
  /** This node's peer id */
  peerId: PeerId
  /** This node's identity key */
  privateKey: PrivateKey
  /** Where fetched records are stored */
  peerStore: PeerStore
  /** To serve the protocol */
  registrar: EchConfigExchangeRegistrar
  /** To find the node's `/noise` encrypter (it must be `echNoise()`) */
  upgrader: Upgrader
  /** For `peer:identify`, which triggers fetches */
  events: TypedEventTarget<Libp2pEvents>
  /** Logger `libp2p:noise-ech:exchange` */
  logger: ComponentLogger
  /** For the fetch queue gauge `libp2p_ech_noise_config_exchange_queue` */
  metrics?: Metrics
}

/** Options of `echConfigExchange()` */
export interface EchConfigExchangeInit {
  /** Longest a fetched record is trusted after its issue time, ms (default and maximum 48 h) */
  maxAge?: number
  /** Fetch again when a stored record has less than this left, ms (default 1 h) */
  refreshMargin?: number
  /** Deadline of one fetch and of serving one request, ms (default 10 000) */
  timeout?: number
  /** Largest record read from a peer, bytes (default 16 KiB) */
  maxRecordSize?: number
  /** Fetches running at once across all peers (default 4) */
  maxConcurrentFetches?: number
  /** Fetches waiting for a slot; beyond this they are dropped until the next identify (default 256) */
  maxQueuedFetches?: number
  /** Concurrent inbound requests per connection (default 2) */
  maxInboundStreams?: number
  /** Concurrent outbound requests per connection (default 2) */
  maxOutboundStreams?: number
  /** Serve and fetch over limited (relayed) connections too (default false) */
  runOnLimitedConnection?: boolean
  /** Crypto backend used to check that fetched configs import (default: the platform's) */
  provider?: CryptoProvider
  /** Current time, ms since the epoch (default `Date.now`); for tests */
  now?(): number
}

/** The detail of `ech:record-stored` */
export interface EchRecordStoredDetail {
  /** The peer whose record was stored */
  remotePeer: PeerId
  /** ms since the epoch */
  issuedAt: number
  /** ms since the epoch, capped by `maxAge` */
  expiresAt: number
}

/** The detail of `ech:record-refused` */
export interface EchRecordRefusedDetail {
  /** The peer whose record was refused */
  remotePeer: PeerId
  /**
   * `err.name`: `EchRecordSignerError`, `EchRecordInvalidError`, `EchRecordExpiredError`,
   * `EchRecordNotYetValidError` (issued in the future), `EchRecordRollbackError` (issued before
   * the valid record already stored) or `EchConfigError`
   */
  error: string
}

/** The detail of `ech:fetch-failed` */
export interface EchFetchFailedDetail {
  /** The peer the fetch was from */
  remotePeer: PeerId
  /** `err.name`, e.g. `EchConfigFetchTimeoutError`, `EchConfigResponseTooLargeError`, `StreamResetError` */
  error: string
}

/** Why a fetch was not made or its record not stored; see `EchFetchSkippedDetail.reason` */
export type EchFetchSkipReason = ImportSkipReason | 'fresh' | 'in-flight' | 'queue-full'

/** The detail of `ech:fetch-skipped` */
export interface EchFetchSkippedDetail {
  /** The peer concerned */
  remotePeer: PeerId
  /**
   * `config-list`: an app-given list is stored; `fresh`: a record with more
   * than `refreshMargin` left is stored; `in-flight`: a fetch for the peer is
   * already queued or running; `queue-full`: too many fetches waiting;
   * `same-record`: fetched, but the very same record is stored already
   */
  reason: EchFetchSkipReason
}

/** Events of the config exchange service */
export interface EchConfigExchangeEvents {
  /** A peer's record was fetched, verified and stored */
  'ech:record-stored': CustomEvent<EchRecordStoredDetail>
  /** A fetched record failed verification (forged, tampered, expired, future-dated, older than the stored one, malformed configs); nothing was stored */
  'ech:record-refused': CustomEvent<EchRecordRefusedDetail>
  /** The fetch itself failed (timeout, oversized or malformed response, stream error); nothing was stored */
  'ech:fetch-failed': CustomEvent<EchFetchFailedDetail>
  /** No fetch, or nothing stored, for a benign reason */
  'ech:fetch-skipped': CustomEvent<EchFetchSkippedDetail>
}
