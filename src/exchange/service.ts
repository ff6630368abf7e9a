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
 *
 * This file is the libp2p wiring (options, start/stop, the identify
 * listener); a fetch runs in `fetcher.ts`, a request is answered in
 * `server.ts`, and the public types are in `types.ts`.
 */
import { NotStartedError, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import {
  DEFAULT_MAX_CONCURRENT_FETCHES, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_MAX_QUEUED_FETCHES,
  DEFAULT_MAX_RECORD_SIZE, DEFAULT_TIMEOUT, ECH_CONFIG_EXCHANGE_PROTOCOL
} from './constants.js'
import { EchConfigExchangeOptionsError, EchEncrypterNotFoundError } from './errors.js'
import { ConfigFetcher } from './fetcher.js'
import { checkMaxAge, checkRefreshMargin, ConfigRecordImporter } from './import.js'
import { isConfigSource, serveConfigRecord } from './server.js'
import type { ConfigSource } from './server.js'
import type { EchConfigExchangeComponents, EchConfigExchangeEvents, EchConfigExchangeInit } from './types.js'
import type { Connection, IdentifyResult, Logger, Startable, Stream } from '@libp2p/interface'

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
  private readonly timeout: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly runOnLimitedConnection: boolean
  private readonly fetcher: ConfigFetcher
  private source?: ConfigSource
  private started = false

  constructor (components: EchConfigExchangeComponents, init: EchConfigExchangeInit = {}) {
    super()
    this.components = components
    this.log = components.logger.forComponent('libp2p:noise-ech:exchange')
    const now = init.now ?? Date.now
    const maxAge = checkMaxAge(init.maxAge)
    const refreshMargin = checkRefreshMargin(init.refreshMargin, maxAge)
    this.timeout = checkPositiveInteger('timeout', init.timeout, DEFAULT_TIMEOUT)
    const maxRecordSize = checkPositiveInteger('maxRecordSize', init.maxRecordSize, DEFAULT_MAX_RECORD_SIZE)
    this.maxInboundStreams = checkPositiveInteger('maxInboundStreams', init.maxInboundStreams, DEFAULT_MAX_INBOUND_STREAMS)
    this.maxOutboundStreams = checkPositiveInteger('maxOutboundStreams', init.maxOutboundStreams, DEFAULT_MAX_OUTBOUND_STREAMS)
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? false
    // the options are checked in this order: the first bad one is the one reported
    this.fetcher = new ConfigFetcher({
      protocol: this.protocol,
      importer: new ConfigRecordImporter({ peerStore: components.peerStore, provider: init.provider, log: this.log, maxAge, now }),
      refreshMargin,
      timeout: this.timeout,
      maxRecordSize,
      runOnLimitedConnection: this.runOnLimitedConnection,
      concurrency: checkPositiveInteger('maxConcurrentFetches', init.maxConcurrentFetches, DEFAULT_MAX_CONCURRENT_FETCHES),
      maxQueued: checkPositiveInteger('maxQueuedFetches', init.maxQueuedFetches, DEFAULT_MAX_QUEUED_FETCHES),
      metrics: components.metrics,
      log: this.log,
      events: this
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
    this.fetcher.abort()
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
    await this.fetcher.enqueue(connection, true)
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
    this.fetcher.enqueue(connection, false).catch(err => {
      this.log.error('config exchange with %p failed - %e', peerId, err)
    })
  }

  private async handleRequest (stream: Stream, connection: Connection): Promise<void> {
    await serveConfigRecord(stream, connection, this.source, { timeout: this.timeout, log: this.log })
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
