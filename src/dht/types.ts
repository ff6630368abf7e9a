/**
 * Public shapes of the DHT config records service: what it needs of
 * kad-dht, its components, options and events. Structural types only: this
 * package does not depend on `@libp2p/kad-dht`, the application brings it.
 */
import type { CryptoProvider } from '../crypto/provider.js'
import type { EchConfigExchangeRegistrar } from '../exchange/types.js'
import type { AbortOptions, ComponentLogger, Metrics, PeerId, PeerStore, Upgrader } from '@libp2p/interface'

/** The fields of a kad-dht query event this package reads (`@libp2p/kad-dht` `QueryEvent`) */
export interface EchDhtQueryEvent {
  /** `PEER_RESPONSE`, `VALUE`, `QUERY_ERROR`, … */
  name: string
  /** `PEER_RESPONSE`: the peer that answered */
  from?: PeerId
  /** `DIAL_PEER`: the peer the query is about to dial */
  peer?: PeerId
  /** `PEER_RESPONSE`: `GET_VALUE`, `PUT_VALUE`, … */
  messageName?: string
  /** `PEER_RESPONSE`: the record the peer holds for the key (already validated by kad-dht) */
  record?: {
    /** The record's value: a signed config record */
    value: Uint8Array
  } | null
  /** `VALUE`: the record kad-dht selected */
  value?: Uint8Array
  /** `QUERY_ERROR`: what failed */
  error?: Error
}

/** What the service uses of the node's kad-dht service */
export interface EchDhtClient {
  /** Query the DHT for the records under `key` */
  get(key: Uint8Array, options?: AbortOptions): AsyncIterable<EchDhtQueryEvent>
  /** Store `value` under `key` on the closest DHT servers */
  put(key: Uint8Array, value: Uint8Array, options?: AbortOptions): AsyncIterable<EchDhtQueryEvent>
  /** kad-dht's record validators by namespace: must hold `echDhtValidators` */
  readonly validators?: Record<string, unknown>
  /** kad-dht's record selectors by namespace: must hold `echDhtSelectors` */
  readonly selectors?: Record<string, unknown>
}

/** The libp2p components the service uses (libp2p passes them) */
export interface EchDhtConfigsComponents {
  /** This node's peer id: the key it publishes under */
  peerId: PeerId
  /** Where found records are stored (under `ECH_PEER_STORE_KEY`), and the finder is registered */
  peerStore: PeerStore
  /** To find the node's `/noise` encrypter (it must be `echNoise()` to publish) */
  upgrader: Upgrader
  /** Logger `libp2p:noise-ech:dht` */
  logger: ComponentLogger
  /** For `libp2p_ech_noise_dht_lookups_total` and `libp2p_ech_noise_dht_publishes_total` */
  metrics?: Metrics
  /** Whether a DHT query's `DIAL_PEER` will dial at all (not when a connection is open) */
  connectionManager?: {
    /** The open connections to `peer` */
    getConnections(peer?: PeerId): unknown[]
  }
  /** To serve the config exchange protocol on a publishing node without `echConfigExchange()` (`markerProtocol`) */
  registrar?: EchConfigExchangeRegistrar & {
    /** The protocols handled on this node */
    getProtocols(): string[]
  }
  /** libp2p's event bus: lookups start once kad-dht reports its first self-query (`kad-dht:query:self`) */
  events?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
}

/** Options of `echDhtConfigs()` */
export interface EchDhtConfigsInit {
  /** The name of the kad-dht service in `services` (default `dht`) */
  dhtService?: string
  /**
   * Longest a dial waits for a DHT lookup, ms, 1..1500 (default 1000). The
   * wait happens inside `secureOutbound` on an open connection, before
   * message 1 is sent, and this package's responders close a connection
   * whose message 1 has not arrived within 2 s (`message1Timeout`): a longer
   * wait would turn a fallback into a failed dial (PROTOCOL §3.2).
   */
  lookupTimeout?: number
  /** Longest one DHT query runs, ms (default 10 000); a record it finds after the dial stopped waiting is stored for the next dial */
  queryTimeout?: number
  /** Records that end a query early, once this many holders answered with one (default 2) */
  quorum?: number
  /** ms to wait for more holders after the first record, before taking the newest so far (default 25) */
  settleTime?: number
  /** Longest a peer for which no record was found is not looked up again, ms (default 60 000; the first miss 5 s, doubling) */
  negativeTtl?: number
  /** Queries running at once; a dial that would start one more goes ahead without (default 8) */
  maxConcurrentLookups?: number
  /** Peers remembered as having no record (least recently used dropped first; default 4096) */
  maxNegativeEntries?: number
  /** Publish this node's record (default true; false: look up only, e.g. a DHT client without ECH keys) */
  publish?: boolean
  /** Look up peers' records on dials (default true) */
  lookup?: boolean
  /**
   * A peer identify has answered for (its `AgentVersion` is stored) whose
   * protocols do not include this one is not looked up (`not-ech`): it runs
   * no ECH config service. Default the config
   * exchange protocol (`/libp2p-noise-ech/config/1.0.0`), which every node
   * that publishes with this service lists: the service serves it itself
   * when the node has no `echConfigExchange()`. `false` looks up every peer
   * (e.g. peers whose records reach the DHT some other way). A peer
   * identify has not reached yet is always looked up.
   */
  markerProtocol?: string | false
  /** ms between republications (default 1 h); a rotation republishes at once */
  republishInterval?: number
  /** First retry of a publication that no DHT server accepted, ms (default 1000); doubles up to 60 s */
  retryInterval?: number
  /** Crypto backend used to check that found configs import (default: the platform's) */
  provider?: CryptoProvider
  /**
   * The KEMs this node's `echNoise()` encrypts to, as its `kems` option
   * (default: every implemented one). A record whose configs are all for
   * other KEMs is stored but gives no offer: such a peer is remembered as a
   * miss (`unusable`) instead of being looked up again on every dial.
   * An unknown name throws `InvalidParametersError`.
   */
  kems?: string[]
}

/**
 * What one dial saw of its lookup: `not-ech` (identify listed the peer's
 * protocols without `markerProtocol`: not looked up), `found` (a record was stored), `not-found`
 * (the query ended without one), `gave-up` (the dial stopped waiting at
 * `lookupTimeout`; the query goes on), `cached-miss` (none found recently),
 * `busy` (`maxConcurrentLookups` queries running, or kad-dht has not run
 * its first self-query yet, which holds every query), `nested` (the dial is the
 * one a DHT query or publication of this service announced: it waits a
 * quarter of `lookupTimeout` at most, not at all for a query already running
 * for the peer, and starts a query only while at most half of
 * `maxConcurrentLookups` run),
 * `refused` (the record found was not stored: older than the stored one, or
 * it failed to import), `unusable` (the record is stored, but none of its
 * configs is for a KEM this dialer encrypts to, `kems`), `error` (the DHT
 * failed, or the query reached no server or was cut short). Every query
 * that ends other than `found` makes the peer a miss (`cached-miss` for
 * 5 s, then doubling up to `negativeTtl`)
 */
export type EchDhtLookupResult = 'found' | 'not-found' | 'gave-up' | 'cached-miss' | 'busy' | 'nested' | 'not-ech' | 'refused' | 'unusable' | 'error'

/** How a DHT query ended (`ech:dht-query`): the results of `EchDhtLookupResult` a query itself gives */
export type EchDhtQueryResult = 'found' | 'not-found' | 'refused' | 'unusable' | 'error'

/** The detail of `ech:dht-query` */
export interface EchDhtQueryDetail {
  /** The peer whose record was looked for */
  remotePeer: PeerId
  /** How the query ended */
  result: EchDhtQueryResult
  /** ms from its start to its end (the dials that waited for it may have stopped earlier) */
  durationMs: number
}

/** The detail of `ech:dht-lookup` */
export interface EchDhtLookupDetail {
  /** The peer looked up */
  remotePeer: PeerId
  /** What the dial saw */
  result: EchDhtLookupResult
  /** ms the dial waited */
  waitedMs: number
}

/** The detail of `ech:dht-published` */
export interface EchDhtPublishedDetail {
  /** DHT servers that acknowledged the record */
  stored: number
  /** Query errors while finding the closest servers and putting to them (refusals included) */
  errors: number
  /** `err.name` of the first refusal or failure, when there was one */
  firstError?: string
  /** Why nothing was sent: `disabled` (no ECH: kill switch, `disabled` mode) */
  skipped?: 'disabled'
}

/** Events of the DHT config records service */
export interface EchDhtConfigsEvents {
  /** A dial looked up a peer's record in the DHT */
  'ech:dht-lookup': CustomEvent<EchDhtLookupDetail>
  /** A DHT query for a peer's record ended (one per query, however many dials waited for it) */
  'ech:dht-query': CustomEvent<EchDhtQueryDetail>
  /** This node's record was put to the DHT (or a publication was skipped) */
  'ech:dht-published': CustomEvent<EchDhtPublishedDetail>
}
