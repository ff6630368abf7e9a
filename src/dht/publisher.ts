/**
 * Publishing this node's signed config record under its DHT key: at start
 * (retried with backoff until a DHT server takes it: at start the routing
 * table may still be empty), every `interval` after that, and at once when
 * the live keys change (a rotation or an expiry re-signs the record). A node
 * with ECH off (kill switch, `disabled` mode) publishes nothing: its record
 * must not invite offers it would not open. The record is the one the
 * encrypter hands out everywhere else (retry configs, config exchange).
 */
import { setMaxListeners } from '@libp2p/interface'
import { equalBytes } from '../crypto/bytes.js'
import { deadline } from './deadline.js'
import type { EchDhtPublishedDetail, EchDhtQueryEvent } from './types.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** Longest wait between retries of a publication no server took, ms */
const MAX_RETRY_INTERVAL = 60_000

/**
 * DHT servers that must take the record for a publication to count as done:
 * fewer (a young routing table, a `require`-mode node that reaches few
 * peers yet) is retried with backoff, not left for `interval`
 */
const MIN_STORED = 3

/** Deadline of one publication (closest-peer search and puts), ms */
const PUBLISH_TIMEOUT = 30_000

export interface DhtPublisherInit {
  /** kad-dht's `put`, as an event stream */
  put(key: Uint8Array, value: Uint8Array, options: { signal: AbortSignal }): AsyncIterable<EchDhtQueryEvent>
  /** This node's DHT key */
  key: Uint8Array
  /** The record to publish (the encrypter's current one) */
  record(): Promise<Uint8Array>
  /** Whether the node accepts ECH now */
  enabled(): boolean
  interval: number
  retryInterval: number
  log: Logger
  report(detail: EchDhtPublishedDetail): void
  /** Each peer the put is about to dial (its `DIAL_PEER` events) */
  dialing?(peer: PeerId): void
}

export class DhtPublisher {
  private readonly init: DhtPublisherInit
  private timer?: ReturnType<typeof setTimeout>
  private running?: Promise<EchDhtPublishedDetail>
  private again = false
  private retry: number
  private published = false
  private readonly stopping = new AbortController()

  constructor (init: DhtPublisherInit) {
    this.init = init
    this.retry = init.retryInterval
    setMaxListeners(Infinity, this.stopping.signal)
  }

  /** Schedule the first publication (after `retryInterval`: kad-dht needs peers first) */
  start (): void {
    this.schedule(this.init.retryInterval)
  }

  stop (): void {
    clearTimeout(this.timer)
    this.stopping.abort()
  }

  /**
   * The live keys changed: publish the new record now. Before the first
   * publication went out there is nothing to replace (the encrypter makes
   * its first key while it starts): the scheduled first run sends the
   * current record.
   */
  keysChanged (): void {
    if (this.published) { void this.publish() }
  }

  /**
   * Publish now; a call while a publication runs makes one more run after it
   * (with the record current then). Resolves with what the last run did.
   */
  async publish (): Promise<EchDhtPublishedDetail> {
    if (this.running != null) {
      this.again = true
      return this.running
    }
    clearTimeout(this.timer)
    this.running = this.run().finally(() => { this.running = undefined })
    const detail = await this.running
    if (this.again && !this.stopping.signal.aborted) {
      this.again = false
      return this.publish()
    }
    return detail
  }

  private schedule (ms: number): void {
    clearTimeout(this.timer)
    if (this.stopping.signal.aborted) { return }
    this.timer = setTimeout(() => { void this.publish() }, ms)
    // a pending republication must not keep the process alive
    this.timer.unref?.()
  }

  private async run (): Promise<EchDhtPublishedDetail> {
    let detail: EchDhtPublishedDetail
    try {
      detail = this.init.enabled() ? await this.put(await this.init.record()) : { stored: 0, errors: 0, skipped: 'disabled' }
    } catch (err: any) {
      this.init.log.error('publishing the ECH config record failed - %e', err)
      detail = { stored: 0, errors: 1, firstError: err?.name ?? 'Error' }
    }
    if (detail.stored >= MIN_STORED || detail.skipped != null) {
      this.published ||= detail.stored > 0
      this.retry = this.init.retryInterval
      this.schedule(this.init.interval)
    } else {
      this.schedule(this.retry)
      this.retry = Math.min(this.retry * 2, MAX_RETRY_INTERVAL)
    }
    this.init.report(detail)
    return detail
  }

  private async put (record: Uint8Array): Promise<EchDhtPublishedDetail> {
    const timeout = deadline(PUBLISH_TIMEOUT, this.stopping.signal)
    const signal = timeout.signal
    const detail: EchDhtPublishedDetail = { stored: 0, errors: 0 }
    try {
      await this.collect(record, signal, detail)
    } finally {
      timeout.clear()
    }
    this.init.log('published the ECH config record to %d DHT servers (%d errors)', detail.stored, detail.errors)
    return detail
  }

  private async collect (record: Uint8Array, signal: AbortSignal, detail: EchDhtPublishedDetail): Promise<void> {
    for await (const event of this.init.put(this.init.key, record, { signal })) {
      if (event.name === 'DIAL_PEER' && event.peer != null) {
        this.init.dialing?.(event.peer)
      } else if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
        // a server counts only if it echoed the very record (kad-dht then also reports a
        // QUERY_ERROR "Value not put correctly", counted below, for one that did not)
        if (event.record?.value != null && equalBytes(event.record.value, record)) { detail.stored++ }
      } else if (event.name === 'QUERY_ERROR') {
        detail.errors++
        detail.firstError ??= event.error?.name ?? 'Error'
      }
    }
  }
}
