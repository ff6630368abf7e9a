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
 * was found, or nothing usable, is not looked up again for 5 s, then after
 * each further miss twice as long, up to `negativeTtl`: a peer that
 * publishes late (it just started) is found soon, and a stock peer costs a
 * dial one wait per `negativeTtl` once it settled. Every query that ends
 * without a usable record is such a miss: none found (`not-found`), one
 * refused or stored but giving no offer for this dialer's KEMs (`refused`,
 * `unusable`), and one that timed out, reached nobody or failed (`error`).
 * The last proves nothing about the peer, but not remembering it let a
 * loaded 64-node fleet, whose queries stopped finishing in time, start a
 * query on every dial to a stock peer (~3500 queries against 523, ECH
 * success 24 %): the brake matters more than a found-late record, which
 * the backoff's 5 s first step still finds soon. Queries in flight never
 * exceed `maxConcurrent`, whatever the DHT does: each ends at `queryTimeout`.
 *
 * A peer identify has told about is not looked up when it lists no ECH
 * config service (`notEch`, reported `not-ech`): a 64-node fleet's dials to
 * stock peers, almost all met before through the DHT's own walks, were
 * most of its queries, each running to the end of the DHT to prove there
 * is no record, and each costing the dial the whole bound.
 *
 * A DHT query dials peers itself, and those dials come back here: one that
 * waited for a lookup of its own would hold up the query that dialled it
 * (and, while the query is the lookup for that very peer, wait for itself).
 * So the first dial to a peer after a query of ours (or a publication)
 * announced it is about to dial it (kad-dht's `DIAL_PEER` event, emitted
 * before the dial starts), within `timeout` ms, waits for a lookup only a
 * quarter of `timeout`, not at all when a query for that peer runs (it may
 * be the very query dialling it: it would wait for itself), and starts a
 * query only while at most half of `maxConcurrent` run: lookups fanning out
 * into lookups of every peer their queries dial took the slots application
 * dials need (a 64-node fleet: 43 of them went without a config, `busy`);
 * it is reported `nested`. One announcement marks one dial: the application's dials to the peer
 * meanwhile wait as any other (a mark that outlived the query's dial, one
 * that reused a connection, would otherwise cost them their config).
 */
import { setMaxListeners } from '@libp2p/interface'
import { deadline } from './deadline.js'
import { selectEchDhtRecord } from './record.js'
import type { EchDhtLookupResult, EchDhtQueryEvent, EchDhtQueryResult } from './types.js'
import type { EchConfigFinder } from '../config/finders.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** How long a peer without a record is first not looked up again, ms (then twice as long each time, up to `negativeTtl`) */
const FIRST_MISS_TTL = 5000

/** Share of `timeout` a dial made by one of our own queries waits for a lookup */
const NESTED_WAIT = 0.25

interface Collected {
  records: Uint8Array[]
  /** Servers that answered the query */
  answers: number
  /** The kad-dht query ran to its end (it asked the closest servers it could reach) */
  completed: boolean
}

/** What a query ended with, as the dials that waited for all of it see it */
type QueryResult = EchDhtQueryResult

export interface DhtConfigFinderInit {
  /** kad-dht's `get`, as an event stream */
  get(key: Uint8Array, options: { signal: AbortSignal }): AsyncIterable<EchDhtQueryEvent>
  /** The DHT key of a peer's record */
  keyOf(peer: PeerId): Uint8Array
  /**
   * Verify and store a found record; throws the record's error when it is
   * refused. Resolves whether the peer store now gives this dialer an offer
   * for the peer (false: stored, or already there, but none of its configs
   * is one this dialer encrypts to)
   */
  store(peer: PeerId, record: Uint8Array): Promise<boolean>
  /** Whether this node has a connection to `peer` (kad-dht then dials nothing) */
  connected?(peer: PeerId): boolean
  /**
   * Whether what identify told of `peer` shows it has no config to look up
   * (its protocols are known and the marker protocol is not among them); such
   * a peer is not looked up, and is remembered as a miss for `negativeTtl`
   */
  notEch?(peer: PeerId): Promise<boolean>
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
  /** One call per query: how it ended, and how long it ran, ms */
  counted(peer: PeerId, result: QueryResult, ms: number): void
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
  /** Peer → until when it is known to have no record, and for how long it was last; insertion order is age */
  private readonly misses = new Map<string, { until: number, ttl: number }>()
  /** Peer → until when a dial to it is one our own queries make; insertion order is age */
  private readonly dialled = new Map<string, number>()
  private readonly stopping = new AbortController()
  private held = false

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

  /** A query or publication of ours is about to dial `peer`: that dial must not wait for a lookup */
  dialing (peer: PeerId): void {
    // connected: kad-dht takes the open connection, and no dial of its reaches the encrypter to
    // take the mark; the application's next dial would
    if (this.init.connected?.(peer) === true) { return }
    remember(this.dialled, peer.toString(), this.init.now() + this.timeout, this.init.maxNegativeEntries)
  }

  /**
   * Until `ready()`, dials start no query and wait for none (reported
   * `busy`): kad-dht holds every query until its first self-query has run,
   * and a dial that self-query makes would wait for a lookup that waits for
   * the self-query, a cycle only the bound breaks (the service holds the
   * finder until kad-dht's `kad-dht:query:self` event)
   */
  hold (): void {
    this.held = true
  }

  /** kad-dht has run its first self-query: lookups may start */
  ready (): void {
    this.held = false
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
    // one announced dial makes one nested dial: a later dial to the peer (the application's,
    // say) is not the query's and waits as any other
    const nested = (this.dialled.get(key) ?? 0) > this.init.now()
    this.dialled.delete(key)
    if (nested && this.running.has(key)) {
      // the query running for this peer may be the very one dialling it: it would wait for itself
      return 'nested'
    }
    if ((this.misses.get(key)?.until ?? 0) > this.init.now()) {
      return 'cached-miss'
    }
    if (!this.running.has(key) && await this.isNotEch(peer)) {
      return 'not-ech'
    }
    const run = this.running.get(key) ?? this.start(peer, nested)
    if (run == null) {
      return nested ? 'nested' : 'busy'
    }
    if (!nested) {
      return raceSignal<EchDhtLookupResult>(run, signal, 'gave-up')
    }
    const short = deadline(Math.ceil(this.timeout * NESTED_WAIT), signal)
    try {
      return await raceSignal<EchDhtLookupResult>(run, short.signal, 'nested')
    } finally {
      short.clear()
    }
  }

  /**
   * A query for `peer`, unless held or too many run. A query's own dials
   * (`nested`) start one only while at most half the slots are taken: a
   * `require`-mode node's DHT dials need their peers' configs, but lookups
   * must not fan out into lookups of every peer their queries dial and take
   * the slots application dials need
   */
  private start (peer: PeerId, nested: boolean): Promise<QueryResult> | undefined {
    const cap = nested ? Math.floor(this.init.maxConcurrent / 2) : this.init.maxConcurrent
    if (this.held || this.running.size >= cap || this.stopping.signal.aborted) {
      return undefined
    }
    const key = peer.toString()
    const run = this.run(peer).finally(() => { this.running.delete(key) })
    this.running.set(key, run)
    return run
  }

  /**
   * Whether identify showed `peer` runs no ECH config service; remembered as
   * a miss for `negativeTtl` so the next dials skip the peer-store read. A
   * peer that starts one later is found by the config exchange at its next
   * identify, whatever is remembered here
   */
  private async isNotEch (peer: PeerId): Promise<boolean> {
    let notEch = false
    try {
      notEch = await this.init.notEch?.(peer) === true
    } catch (err: any) {
      this.init.log.error('could not read the protocols of %p - %e', peer, err)
    }
    if (notEch) {
      const ttl = this.init.negativeTtl
      remember(this.misses, peer.toString(), { until: this.init.now() + ttl, ttl }, this.init.maxNegativeEntries)
    }
    return notEch
  }

  private async run (peer: PeerId): Promise<QueryResult> {
    const started = this.init.now()
    const result = await this.query(peer)
    this.init.counted(peer, result, this.init.now() - started)
    const key = peer.toString()
    if (result === 'found') {
      this.misses.delete(key)
    } else if (!this.stopping.signal.aborted) {
      // every query without a usable record is a miss (the header says why errors count too); a
      // peer may publish soon after it starts: misses are remembered 5 s, then twice as long each time
      const previous = this.misses.get(key)?.ttl
      const ttl = Math.min(previous == null ? FIRST_MISS_TTL : previous * 2, this.init.negativeTtl)
      remember(this.misses, key, { until: this.init.now() + ttl, ttl }, this.init.maxNegativeEntries)
    }
    return result
  }

  private async query (peer: PeerId): Promise<QueryResult> {
    let found: Collected
    const key = this.init.keyOf(peer)
    try {
      found = await this.collect(key)
    } catch (err: any) {
      this.init.log.error('DHT lookup of the ECH config record of %p failed - %e', peer, err)
      return 'error'
    }
    if (found.records.length === 0) {
      // "no record" needs a query that ran to its end and reached servers: one cut short or
      // that reached nobody proves nothing (servers without the validator answer "none" too)
      return found.completed && found.answers > 0 ? 'not-found' : 'error'
    }
    try {
      const usable = await this.init.store(peer, found.records[await selectEchDhtRecord(key, found.records)])
      return usable ? 'found' : 'unusable'
    } catch (err: any) {
      this.init.log('not storing the ECH config record of %p found in the DHT - %e', peer, err)
      return 'refused'
    }
  }

  /**
   * The records holders returned, until quorum, settle time, the end of the
   * query or its timeout; and how many answered at all. The query ends at
   * its signal even when kad-dht's `get` does not (a dial or a read inside
   * it that ignores the signal): a loaded 64-node fleet saw queries run 38 s
   * with a 10 s `queryTimeout`, holding their slots
   */
  private async collect (key: Uint8Array): Promise<Collected> {
    const controller = new AbortController()
    const timeout = deadline(this.init.queryTimeout, controller.signal, this.stopping.signal)
    const signal = timeout.signal
    const records: Uint8Array[] = []
    let answers = 0
    let completed = false
    let settle: ReturnType<typeof setTimeout> | undefined
    const events = this.init.get(key, { signal })[Symbol.asyncIterator]()
    const ended = { done: true, value: undefined } as const
    try {
      for (;;) {
        const next = await raceSignal<IteratorResult<EchDhtQueryEvent>>(events.next(), signal, ended)
        if (next.done === true) { break }
        const event = next.value
        if (event.name === 'DIAL_PEER' && event.peer != null) { this.dialing(event.peer) }
        if (event.name === 'PEER_RESPONSE') { answers++ }
        const value = recordOf(event)
        if (value == null) { continue }
        records.push(value)
        if (records.length >= this.init.quorum) { break }
        settle ??= setTimeout(() => { controller.abort() }, this.init.settleTime)
      }
      completed = !signal.aborted
    } catch (err) {
      // a query cut short (settle time, timeout, stop) keeps what it found
      if (!signal.aborted) { throw err }
    } finally {
      clearTimeout(settle)
      timeout.clear()
      controller.abort()
      // not awaited: a generator stuck in an await returns only once that settles
      events.return?.().catch(() => {})
    }
    return { records, answers, completed }
  }
}

/** Set `key` to `value` in `map`, as its newest entry, dropping the oldest beyond `max` */
function remember<V> (map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) {
    const oldest = map.keys().next().value
    if (oldest != null) { map.delete(oldest) }
  }
}
