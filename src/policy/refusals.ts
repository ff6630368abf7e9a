/**
 * What failed outer hellos tell about a peer, counted where the evidence is.
 *
 * A dial that fails before message 2 proved the responder's identity says
 * nothing about the peer: whoever answers at the address (a stale address, a
 * bogus routing result, an on-path box) caused it. So it is remembered
 * against that (peer, address) only, and the next dial there goes to stock
 * Noise (`address-refused`) — which is what gets a peer whose stock Noise
 * rejects any message-1 payload (rust-libp2p ≤ 0.52) back on its second dial.
 * Three bogus addresses ahead of the real one cannot open a breaker for the
 * peer: they only mark themselves.
 *
 * When the stock handshake at a refused address then proves the peer, the
 * peer there (its Noise, or a box on that path) does not take an outer hello:
 * that address gets no GREASE, and not the refused config again, for
 * `intolerantMs` (`config-refused`); a new config is tried (the peer may have
 * been upgraded). Other addresses of the peer are not touched, so a box on
 * one path cannot downgrade the others. Failures after the responder proved
 * its identity are the peer's own, and go to its circuit breaker as before.
 *
 * Everything is in memory, bounded (least recently used first out), and
 * expires; a restart costs at most one failed dial per such address again.
 */
import { equalBytes } from '../crypto/bytes.js'

export interface RefusalsOptions {
  /** Most (peer, address) pairs and peers remembered, each table */
  maxEntries: number
  /** How long a refused address gets stock Noise without a confirming handshake, ms */
  addressMs: number
  /** How long a peer that refused an outer hello gets no GREASE (and a refused config stays refused), ms */
  intolerantMs: number
  now(): number
}

interface AddressEntry {
  /** `unproven`: an outer hello failed here before the responder proved anything; `proven`: then a stock handshake proved the peer here */
  state: 'unproven' | 'proven'
  until: number
  /** The config the failed offer was sealed to; undefined for GREASE */
  config?: Uint8Array
}

/** A Map kept in least-recently-used order (first key oldest), capped, with lazy expiry */
class Lru<V extends { until: number }> {
  readonly #map = new Map<string, V>()
  readonly #max: number
  readonly #now: () => number

  constructor (max: number, now: () => number) {
    this.#max = max
    this.#now = now
  }

  get (key: string): V | undefined {
    const value = this.#map.get(key)
    if (value == null) { return undefined }
    this.#map.delete(key)
    if (value.until <= this.#now()) { return undefined }
    this.#map.set(key, value)
    return value
  }

  set (key: string, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value
      if (oldest != null) { this.#map.delete(oldest) }
    }
  }

  delete (key: string): boolean {
    return this.#map.delete(key)
  }

  get size (): number {
    return this.#map.size
  }
}

export class OuterHelloRefusals {
  readonly #options: RefusalsOptions
  readonly #addresses: Lru<AddressEntry>
  readonly #tolerant: Lru<{ until: number }>

  constructor (options: RefusalsOptions) {
    this.#options = options
    this.#addresses = new Lru(options.maxEntries, options.now)
    this.#tolerant = new Lru(options.maxEntries, options.now)
  }

  /** An offer (with its config) or GREASE (without) failed at this address before the responder proved anything */
  failedBeforeProof (peer: string, address: string, config?: Uint8Array): void {
    this.#addresses.set(key(peer, address), { state: 'unproven', until: this.#options.now() + this.#options.addressMs, config })
  }

  /**
   * A stock handshake at this address proved the peer. When the address had
   * refused an outer hello, the peer there does not take one: returns true.
   */
  confirmWithStock (peer: string, address?: string): boolean {
    const entry = address == null ? undefined : this.#addresses.get(key(peer, address))
    if (address == null || entry?.state !== 'unproven') { return false }
    this.#addresses.set(key(peer, address), { state: 'proven', until: this.#options.now() + this.#options.intolerantMs, config: entry.config })
    this.#tolerant.delete(peer)
    return true
  }

  /**
   * Why an offer of `config` (raw ECHConfig bytes) must not go to this
   * address: an offer of this very config failed there and is not settled
   * yet (`address-refused`), or the peer proven there refused it
   * (`config-refused`). A different config is new information (the peer
   * rotated, or published one after a GREASE failure), so it is offered.
   */
  offerRefusal (peer: string, address: string | undefined, config: Uint8Array): 'address-refused' | 'config-refused' | undefined {
    const entry = address == null ? undefined : this.#addresses.get(key(peer, address))
    if (entry?.config == null || !equalBytes(entry.config, config)) { return undefined }
    return entry.state === 'unproven' ? 'address-refused' : 'config-refused'
  }

  /**
   * The peer, proven by a handshake with our outer hello, answered it as
   * stock Noise: it does not take outer hellos there
   */
  refusedAfterProof (peer: string, address: string, config?: Uint8Array): void {
    this.#addresses.set(key(peer, address), { state: 'proven', until: this.#options.now() + this.#options.intolerantMs, config })
    this.#tolerant.delete(peer)
  }

  /** Whether an outer hello of any kind was refused at this address (settled or not) */
  isAddressRefusing (peer: string, address?: string): boolean {
    return address != null && this.#addresses.get(key(peer, address)) != null
  }

  /** An outer-hello handshake (offer, retry or GREASE) completed with the peer: it takes outer hellos */
  completed (peer: string, address?: string): void {
    if (address != null) { this.#addresses.delete(key(peer, address)) }
    this.#tolerant.set(peer, { until: Infinity })
  }

  /** Known from experience to take outer hellos */
  isTolerant (peer: string): boolean {
    return this.#tolerant.get(peer) != null
  }

  /** Entries held, for tests and status */
  get sizes (): { addresses: number, tolerant: number } {
    return { addresses: this.#addresses.size, tolerant: this.#tolerant.size }
  }
}

function key (peer: string, address: string): string {
  return `${peer} ${address}`
}
