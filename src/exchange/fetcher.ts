/**
 * Fetching peers' config records for the config exchange service: a bounded
 * queue that holds at most one fetch per peer, and the pipeline of one fetch
 * (freshness check, request on the protocol, verification and storage by
 * `import.ts`), which ends in exactly one event and never throws. The service
 * (`service.ts`) decides when to fetch (after identify, on `refresh()`); this
 * module is how a fetch runs, kept apart from the serving side and the
 * libp2p wiring.
 */
import { setMaxListeners } from '@libp2p/interface'
import { PeerQueue } from '@libp2p/utils'
import { readConfigRecord } from './protocol.js'
import type { ConfigRecordImporter } from './import.js'
import type { EchConfigExchangeEvents, EchFetchSkipReason } from './types.js'
import type { Connection, Logger, Metrics, PeerId } from '@libp2p/interface'
import type { TypedEventEmitter } from 'main-event'

/** The errors by which a fetched record is refused (as opposed to the fetch failing) */
const REFUSALS = new Set([
  'EchRecordInvalidError', 'EchRecordSignerError', 'EchRecordExpiredError', 'EchRecordNotYetValidError', 'EchRecordRollbackError', 'EchConfigError'
])

export interface ConfigFetcherInit {
  /** The config exchange protocol id */
  protocol: string
  importer: ConfigRecordImporter
  /** Fetch again when a stored record has less than this left, ms */
  refreshMargin: number
  /** Deadline of one fetch, ms */
  timeout: number
  /** Largest record read from a peer, bytes */
  maxRecordSize: number
  runOnLimitedConnection: boolean
  /** Fetches running at once across all peers */
  concurrency: number
  /** Fetches waiting for a slot; beyond this they are skipped */
  maxQueued: number
  /** For the queue gauge */
  metrics?: Metrics
  log: Logger
  /** Where each fetch's event goes: the service, so that its listeners see it */
  events: Pick<TypedEventEmitter<EchConfigExchangeEvents>, 'safeDispatchEvent'>
}

export class ConfigFetcher {
  private readonly protocol: string
  private readonly importer: ConfigRecordImporter
  private readonly refreshMargin: number
  private readonly timeout: number
  private readonly maxRecordSize: number
  private readonly runOnLimitedConnection: boolean
  private readonly log: Logger
  private readonly events: ConfigFetcherInit['events']
  private readonly queue: PeerQueue<void>

  constructor (init: ConfigFetcherInit) {
    this.protocol = init.protocol
    this.importer = init.importer
    this.refreshMargin = init.refreshMargin
    this.timeout = init.timeout
    this.maxRecordSize = init.maxRecordSize
    this.runOnLimitedConnection = init.runOnLimitedConnection
    this.log = init.log
    this.events = init.events
    this.queue = new PeerQueue({
      concurrency: init.concurrency,
      maxSize: init.maxQueued,
      metricName: 'libp2p_ech_noise_config_exchange_queue',
      metrics: init.metrics
    })
  }

  /** Drop every queued fetch and abort the running ones; they report nothing */
  abort (): void {
    this.queue.abort()
  }

  /**
   * Queue a fetch of `connection`'s peer's record and resolve when it is
   * done; `force` fetches even when a fresh record is stored
   */
  async enqueue (connection: Connection, force: boolean): Promise<void> {
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
      this.events.safeDispatchEvent('ech:record-stored', { detail: { remotePeer: peer, issuedAt: result.issuedAt, expiresAt: result.expiresAt } })
    } catch (err: any) {
      if (queueSignal.aborted) {
        return
      }
      const error: string = err?.name ?? 'Error'
      if (stage === 'verify' && REFUSALS.has(error)) {
        this.log.error('refused ECH config record from %p - %e', peer, err)
        this.events.safeDispatchEvent('ech:record-refused', { detail: { remotePeer: peer, error } })
        return
      }
      // a deadline that fired inside libp2p (newStream, peer store) surfaces as AbortError/TimeoutError
      const reported = timeoutSignal.aborted && !error.startsWith('Ech') ? 'EchConfigFetchTimeoutError' : error
      this.log.error('could not fetch ECH config record from %p - %e', peer, err)
      this.events.safeDispatchEvent('ech:fetch-failed', { detail: { remotePeer: peer, error: reported } })
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
    this.events.safeDispatchEvent('ech:fetch-skipped', { detail: { remotePeer, reason } })
  }
}
