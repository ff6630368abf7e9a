/**
 * The config exchange service: serves this node's signed config record on
 * `ECH_CONFIG_EXCHANGE_PROTOCOL`, and after identify fetches, verifies and
 * stores the records of peers that serve it (freshness rule: `import.ts`).
 *
 * It shares the encrypter's key manager without global state: at `start()` it
 * looks up the node's `/noise` connection encrypter through the upgrader
 * (`getConnectionEncrypters()`) and requires it to be an `EchNoise` (by
 * `instanceof`, or its `libp2p-noise-ech` service capability), whose
 * `getSignedConfigRecord()` it serves.
 */
import { NotStartedError, serviceCapabilities, serviceDependencies, setMaxListeners } from '@libp2p/interface'
import { PeerQueue } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { EchNoise } from '../encrypter/ech-noise.js'
import {
  DEFAULT_MAX_CONCURRENT_FETCHES, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_MAX_QUEUED_FETCHES,
  DEFAULT_MAX_RECORD_SIZE, DEFAULT_TIMEOUT, ECH_CONFIG_EXCHANGE_PROTOCOL
} from './constants.js'
import { EchConfigExchangeOptionsError, EchConfigExchangeUnavailableError, EchEncrypterNotFoundError } from './errors.js'
import { checkMaxAge, checkRefreshMargin, ConfigRecordImporter } from './import.js'
import { readConfigRecord, writeConfigRecord } from './protocol.js'
import type { ImportSkipReason } from './import.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type {
  AbortOptions, ComponentLogger, Connection, IdentifyResult, Libp2pEvents, Logger, Metrics, PeerId, PeerStore, PrivateKey,
  Startable, Stream, StreamHandler, StreamHandlerOptions, Upgrader
} from '@libp2p/interface'
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
  /** Crypto backend used to check that fetched configs import (default `node:crypto`) */
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
  /** `err.name`: `EchRecordSignerError`, `EchRecordInvalidError`, `EchRecordExpiredError` or `EchConfigError` */
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
   * `newer-record`: fetched, but a later valid record was stored meanwhile
   */
  reason: EchFetchSkipReason
}

/** Events of the config exchange service */
export interface EchConfigExchangeEvents {
  /** A peer's record was fetched, verified and stored */
  'ech:record-stored': CustomEvent<EchRecordStoredDetail>
  /** A fetched record failed verification (forged, tampered, expired, malformed configs); nothing was stored */
  'ech:record-refused': CustomEvent<EchRecordRefusedDetail>
  /** The fetch itself failed (timeout, oversized or malformed response, stream error); nothing was stored */
  'ech:fetch-failed': CustomEvent<EchFetchFailedDetail>
  /** No fetch, or nothing stored, for a benign reason */
  'ech:fetch-skipped': CustomEvent<EchFetchSkippedDetail>
}

/** The errors by which a fetched record is refused (as opposed to the fetch failing) */
const REFUSALS = new Set(['EchRecordInvalidError', 'EchRecordSignerError', 'EchRecordExpiredError', 'EchConfigError'])

/** What the service needs from the encrypter */
interface ConfigSource {
  /** False in `disabled` mode or with the kill switch off */
  isEchEnabled(): boolean
  getSignedConfigRecord(): Promise<Uint8Array>
}

/** The capability `EchNoise` declares in `[serviceCapabilities]` */
const ECH_NOISE_CAPABILITY = 'libp2p-noise-ech'

function isConfigSource (encrypter: unknown): encrypter is ConfigSource {
  if (encrypter instanceof EchNoise) {
    return true
  }
  // another copy of this package (e.g. src and dist side by side) fails
  // `instanceof`; recognise it by its capability and method
  const e = encrypter as (Partial<ConfigSource> & { [serviceCapabilities]?: unknown }) | undefined
  return Array.isArray(e?.[serviceCapabilities]) && e[serviceCapabilities].includes(ECH_NOISE_CAPABILITY) &&
    typeof e.getSignedConfigRecord === 'function'
}

function checkPositiveInteger (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new EchConfigExchangeOptionsError(`${name} must be a positive integer`)
  }
  return v
}

export class EchConfigExchange extends TypedEventEmitter<EchConfigExchangeEvents> implements Startable {
  /** `/libp2p-noise-ech/config/1.0.0` */
  readonly protocol = ECH_CONFIG_EXCHANGE_PROTOCOL
  /** `'libp2p-noise-ech/config-exchange'` */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/config-exchange'
  /** What this service provides to other libp2p services */
  readonly [serviceCapabilities]: string[] = ['libp2p-noise-ech/config-exchange']
  /** Needs the identify service */
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']

  private readonly components: EchConfigExchangeComponents
  private readonly log: Logger
  private readonly importer: ConfigRecordImporter
  private readonly refreshMargin: number
  private readonly timeout: number
  private readonly maxRecordSize: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private readonly now: () => number
  private readonly queue: PeerQueue<void>
  private source?: ConfigSource
  private started = false

  constructor (components: EchConfigExchangeComponents, init: EchConfigExchangeInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('libp2p:noise-ech:exchange')
    this.now = init.now ?? Date.now
    const maxAge = checkMaxAge(init.maxAge)
    this.refreshMargin = checkRefreshMargin(init.refreshMargin, maxAge)
    this.timeout = checkPositiveInteger('timeout', init.timeout, DEFAULT_TIMEOUT)
    this.maxRecordSize = checkPositiveInteger('maxRecordSize', init.maxRecordSize, DEFAULT_MAX_RECORD_SIZE)
    this.maxInboundStreams = checkPositiveInteger('maxInboundStreams', init.maxInboundStreams, DEFAULT_MAX_INBOUND_STREAMS)
    this.maxOutboundStreams = checkPositiveInteger('maxOutboundStreams', init.maxOutboundStreams, DEFAULT_MAX_OUTBOUND_STREAMS)
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? false
    this.importer = new ConfigRecordImporter({ peerStore: components.peerStore, provider: init.provider, log: this.log, maxAge, now: this.now })
    this.queue = new PeerQueue({
      concurrency: checkPositiveInteger('maxConcurrentFetches', init.maxConcurrentFetches, DEFAULT_MAX_CONCURRENT_FETCHES),
      maxSize: checkPositiveInteger('maxQueuedFetches', init.maxQueuedFetches, DEFAULT_MAX_QUEUED_FETCHES),
      metricName: 'libp2p_ech_noise_config_exchange_queue',
      metrics: components.metrics
    })
    this.onIdentify = this.onIdentify.bind(this)
    this.handleRequest = this.handleRequest.bind(this)
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }
    const encrypter = this.components.upgrader.getConnectionEncrypters().get('/noise')
    if (!isConfigSource(encrypter)) {
      throw new EchEncrypterNotFoundError()
    }
    this.source = encrypter
    await this.components.registrar.handle(this.protocol, this.handleRequest, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }
    this.started = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.queue.abort()
    await this.components.registrar.unhandle(this.protocol)
  }

  /** Whether the service is started */
  isStarted (): boolean {
    return this.started
  }

  /**
   * Fetch `connection`'s peer's record now, whatever is stored (an app-given
   * list is still not replaced), e.g. after learning that it rotated its
   * keys. Resolves when done; failures are reported as events, not thrown.
   */
  async refresh (connection: Connection): Promise<void> {
    if (!this.started) {
      throw new NotStartedError('The ECH config exchange service is not started')
    }
    await this.enqueue(connection, true)
  }

  private onIdentify (evt: CustomEvent<IdentifyResult>): void {
    const { peerId, protocols, connection } = evt.detail
    if (!this.started || !protocols.includes(this.protocol) || peerId.equals(this.components.peerId) || !connection.remotePeer.equals(peerId)) {
      return
    }
    if (connection.limits != null && !this.runOnLimitedConnection) {
      this.log.trace('not fetching ECH configs of %p over a limited connection', peerId)
      return
    }
    this.enqueue(connection, false).catch(err => {
      this.log.error('config exchange with %p failed - %e', peerId, err)
    })
  }

  private async enqueue (connection: Connection, force: boolean): Promise<void> {
    const peer = connection.remotePeer
    // `has` and `add` run in one tick: at most one fetch per peer is queued or running
    if (this.queue.has(peer)) {
      this.skipped(peer, 'in-flight')
      return
    }
    if (this.queue.size >= this.queue.maxSize) {
      this.skipped(peer, 'queue-full')
      return
    }
    try {
      await this.queue.add(async ({ signal }) => { await this.fetch(connection, force, signal ?? new AbortController().signal) }, { peerId: peer })
    } catch (err: any) {
      // aborted by stop(): nothing to report
      if (err?.name !== 'AbortError') {
        throw err
      }
    }
  }

  /** One fetch: check freshness, read the record, verify and store it. Never throws. */
  private async fetch (connection: Connection, force: boolean, queueSignal: AbortSignal): Promise<void> {
    const peer = connection.remotePeer
    const timeoutSignal = AbortSignal.timeout(this.timeout)
    const signal = AbortSignal.any([queueSignal, timeoutSignal])
    setMaxListeners(Infinity, signal)
    let stage: 'fetch' | 'verify' = 'fetch'
    try {
      const status = await this.importer.inspect(peer)
      if (status.kind === 'config-list' || (!force && this.importer.isFresh(status, this.refreshMargin))) {
        this.skipped(peer, status.kind === 'config-list' ? 'config-list' : 'fresh')
        return
      }
      signal.throwIfAborted()
      const record = await this.request(connection, signal, timeoutSignal)
      signal.throwIfAborted()
      stage = 'verify'
      const result = await this.importer.import(peer, record, { signal })
      if (!result.stored) {
        this.skipped(peer, result.reason)
        return
      }
      this.log('stored ECH config record of %p, expires %s', peer, new Date(result.expiresAt).toISOString())
      this.safeDispatchEvent('ech:record-stored', { detail: { remotePeer: peer, issuedAt: result.issuedAt, expiresAt: result.expiresAt } })
    } catch (err: any) {
      if (queueSignal.aborted) {
        return
      }
      const error: string = err?.name ?? 'Error'
      if (stage === 'verify' && REFUSALS.has(error)) {
        this.log.error('refused ECH config record from %p - %e', peer, err)
        this.safeDispatchEvent('ech:record-refused', { detail: { remotePeer: peer, error } })
        return
      }
      // a deadline that fired inside libp2p (newStream, peer store) surfaces as AbortError/TimeoutError
      const reported = timeoutSignal.aborted && !error.startsWith('Ech') ? 'EchConfigFetchTimeoutError' : error
      this.log.error('could not fetch ECH config record from %p - %e', peer, err)
      this.safeDispatchEvent('ech:fetch-failed', { detail: { remotePeer: peer, error: reported } })
    }
  }

  private async request (connection: Connection, signal: AbortSignal, timeoutSignal: AbortSignal): Promise<Uint8Array> {
    const stream = await connection.newStream(this.protocol, { signal, runOnLimitedConnection: this.runOnLimitedConnection })
    try {
      // the request is empty: close our write end at once
      await stream.close({ signal })
      const record = await readConfigRecord(stream, { maxRecordSize: this.maxRecordSize, signal, timeoutSignal })
      await stream.closeRead({ signal })
      return record
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private skipped (remotePeer: PeerId, reason: EchFetchSkipReason): void {
    this.log.trace('no config fetch from %p: %s', remotePeer, reason)
    this.safeDispatchEvent('ech:fetch-skipped', { detail: { remotePeer, reason } })
  }

  private async handleRequest (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeout)
    setMaxListeners(Infinity, signal)
    try {
      const record = await this.currentRecord()
      await writeConfigRecord(stream, record, { signal })
      this.log.trace('served ECH config record to %p', connection.remotePeer)
    } catch (err: any) {
      this.log.error('could not serve ECH config record to %p - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }

  /** The record to serve: the encrypter's (re-signed by it every 24 h and on key changes), unless ECH is off */
  private async currentRecord (): Promise<Uint8Array> {
    const source = this.source
    // a node that would not accept ECH must not invite peers to offer it
    if (source == null || !source.isEchEnabled()) {
      throw new EchConfigExchangeUnavailableError()
    }
    return source.getSignedConfigRecord()
  }
}

/**
 * The config exchange service, for `services`. Needs `echNoise()` as the
 * node's `/noise` connection encrypter and `identify()` as a service.
 *
 * @example
 *
 * ```TypeScript
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise()],
 *   services: { identify: identify(), echConfigs: echConfigExchange() }
 * })
 * ```
 */
export function echConfigExchange (init: EchConfigExchangeInit = {}): (components: EchConfigExchangeComponents) => EchConfigExchange {
  return (components) => new EchConfigExchange(components, init)
}
