/**
 * Looking a peer's signed config record up in the DHT on the dial path
 * (registered with the peer store as an `EchConfigFinder`, `config/finders.ts`).
 *
 * One query per peer at a time, however many dials wait for it; at most
 * `maxConcurrent` queries at once (a dial beyond that goes ahead without).
 * A query ends at the first of: `quorum` holders answered with a record,
 * `settleTime` after the first one, the end of the kad-dht query, or
 * `queryTimeout`; the newest record (`selectEchDhtRecord`) is then verified
 * and stored by the rule every stored record follows. A dial stops waiting
 * at its bound (`lookupTimeout`, enforced by `config/finders.ts`); the query
 * goes on and what it finds serves the next dial. A peer for which nothing
 * was found is not looked up again for `negativeTtl`, so stock peers cost a
 * dial at most one wait per `negativeTtl`.
 */
import { setMaxListeners } from '@libp2p/interface'
import { selectEchDhtRecord } from './record.js'
import type { EchDhtLookupResult, EchDhtQueryEvent } from './types.js'
import type { EchConfigFinder } from '../config/finders.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** What a query ended with, as the dials that waited for all of it see it */
type QueryResult = Exclude<EchDhtLookupResult, 'gave-up' | 'cached-miss' | 'busy'>

export interface DhtConfigFinderInit {
  /** kad-dht's `get`, as an event stream */
  get(key: Uint8Array, options: { signal: AbortSignal }): AsyncIterable<EchDhtQueryEvent>
  /** The DHT key of a peer's record */
  keyOf(peer: PeerId): Uint8Array
  /** Verify and store a found record; throws the record's error when it is refused */
  store(peer: PeerId, record: Uint8Array): Promise<void>
  /** Longest a dial waits, ms */
  timeout: number
  queryTimeout: number
  quorum: number
  settleTime: number
  negativeTtl: number
  maxConcurrent: number
  maxNegativeEntries: number
  now(): number
  log: Logger
  /** One call per dial that waited: what it saw */
  report(peer: PeerId, result: EchDhtLookupResult, waitedMs: number): void
  /** One call per query: how it ended */
  counted(result: QueryResult): void
}

/** The value of a record in a query event: a holder's answer (`PEER_RESPONSE`) or kad-dht's pick (`VALUE`) */
function recordOf (event: EchDhtQueryEvent): Uint8Array | undefined {
  if (event.name === 'PEER_RESPONSE') { return event.record?.value ?? undefined }
  return event.name === 'VALUE' ? event.value : undefined
}

/** Resolves `onAbort` when `signal` aborts, unless `work` settles first */
async function raceSignal<T> (work: Promise<T>, signal: AbortSignal, onAbort: T): Promise<T> {
  if (signal.aborted) { return onAbort }
  let listener: (() => void) | undefined
  const aborted = new Promise<T>(resolve => {
    listener = () => { resolve(onAbort) }
    signal.addEventListener('abort', listener, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    if (listener != null) { signal.removeEventListener('abort', listener) }
  }
}

export class DhtConfigFinder implements EchConfigFinder {
  readonly timeout: number
  private readonly init: DhtConfigFinderInit
  private readonly running = new Map<string, Promise<QueryResult>>()
  /** Peer → until when it is known to have no record; insertion order is age */
  private readonly misses = new Map<string, number>()
  private readonly stopping = new AbortController()

  constructor (init: DhtConfigFinderInit) {
    this.init = init
    this.timeout = init.timeout
    setMaxListeners(Infinity, this.stopping.signal)
  }

  async find (peer: PeerId, options: { signal: AbortSignal }): Promise<void> {
    const started = this.init.now()
    const result = await this.wait(peer, options.signal)
    this.init.report(peer, result, this.init.now() - started)
  }

  /** Abort every query; dials waiting for them go ahead */
  stop (): void {
    this.stopping.abort()
  }

  /** Queries running and peers remembered without a record, for tests and status */
  get sizes (): { running: number, misses: number } {
    return { running: this.running.size, misses: this.misses.size }
  }

  private async wait (peer: PeerId, signal: AbortSignal): Promise<EchDhtLookupResult> {
    const key = peer.toString()
    const until = this.misses.get(key)
    if (until != null && until > this.init.now()) {
      return 'cached-miss'
    }
    this.misses.delete(key)
    let run = this.running.get(key)
    if (run == null) {
      if (this.running.size >= this.init.maxConcurrent || this.stopping.signal.aborted) {
        return 'busy'
      }
      run = this.run(peer).finally(() => { this.running.delete(key) })
      this.running.set(key, run)
    }
    return raceSignal<EchDhtLookupResult>(run, signal, 'gave-up')
  }

  private async run (peer: PeerId): Promise<QueryResult> {
    const result = await this.query(peer)
    this.init.counted(result)
    if (result === 'not-found' || result === 'error') {
      this.remember(peer.toString())
    }
    return result
  }

  private async query (peer: PeerId): Promise<QueryResult> {
    let records: Uint8Array[]
    const key = this.init.keyOf(peer)
    try {
      records = await this.collect(key)
    } catch (err: any) {
      this.init.log.error('DHT lookup of the ECH config record of %p failed - %e', peer, err)
      return 'error'
    }
    if (records.length === 0) {
      return 'not-found'
    }
    try {
      await this.init.store(peer, records[await selectEchDhtRecord(key, records)])
      return 'found'
    } catch (err: any) {
      this.init.log('not storing the ECH config record of %p found in the DHT - %e', peer, err)
      return 'refused'
    }
  }

  /** The records holders returned, until quorum, settle time, the end of the query or its timeout */
  private async collect (key: Uint8Array): Promise<Uint8Array[]> {
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, this.stopping.signal, AbortSignal.timeout(this.init.queryTimeout)])
    setMaxListeners(Infinity, signal)
    const records: Uint8Array[] = []
    let settle: ReturnType<typeof setTimeout> | undefined
    try {
      for await (const event of this.init.get(key, { signal })) {
        const value = recordOf(event)
        if (value == null) { continue }
        records.push(value)
        if (records.length >= this.init.quorum) { break }
        settle ??= setTimeout(() => { controller.abort() }, this.init.settleTime)
      }
    } catch (err) {
      // a query cut short (settle time, timeout, stop) keeps what it found
      if (!signal.aborted) { throw err }
    } finally {
      clearTimeout(settle)
      controller.abort()
    }
    return records
  }

  private remember (key: string): void {
    this.misses.delete(key)
    this.misses.set(key, this.init.now() + this.init.negativeTtl)
    if (this.misses.size > this.init.maxNegativeEntries) {
      const oldest = this.misses.keys().next().value
      if (oldest != null) { this.misses.delete(oldest) }
    }
  }
}
