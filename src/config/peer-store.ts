/**
 * Peer-store access for remote ECH configs. Every source of configs
 * (application, retry configs, config exchange, HTTP, `/ech` multiaddrs) ends
 * here, under one metadata key, written with `merge` (never `patch`, which
 * replaces all of a peer's metadata).
 *
 * The stored value is either an ECHConfigList in wire form (RFC 9849 §4, u16
 * length prefix, as in a DNS `ech=` value) or a signed config record
 * (DESIGN.md, "Package and public API"). They are told apart by the list's own
 * framing: a wire-form list is exactly its u16 length plus two bytes long;
 * anything else is treated as a record.
 *
 * A wire-form list learned from a peer's own announcement (identify `/ech`)
 * must not be cached longer than 48 h (DESIGN.md "Where configs come from"),
 * but a wire-form list has no room for an expiry. Its expiry is kept beside
 * it, under `ECH_ANNOUNCED_EXPIRY_KEY`, bound to the list by its SHA-256, so
 * the value under `ECH_PEER_STORE_KEY` keeps its contract form and a list the
 * application writes later (a different list) is never expired by it.
 *
 * Writers that read before they write (the freshness rule below, the rule for
 * unsigned lists in `src/multiaddr/store.ts`) hold `withPeerConfigLock`, so
 * two sources storing at once cannot leave the older value behind.
 */
import { equalBytes } from '../crypto/bytes.js'
import { isWireConfigList } from './codec.js'
import { findConfigs } from './finders.js'
import { loadOffer } from './offer.js'
import { EchRecordRollbackError, openSignedConfigRecord } from './record.js'
import { ECH_ANNOUNCED_EXPIRY_KEY, ECH_PEER_STORE_KEY, announcedListExpiry, readStoredConfig, withPeerConfigLock } from './stored.js'
import type { EchOffer } from './offer.js'
import type { StoredConfig } from './stored.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { AbortOptions, Logger, Peer, PeerId, PeerStore } from '@libp2p/interface'

export { ECH_ANNOUNCED_EXPIRY_KEY, ECH_PEER_STORE_KEY, announcedListExpiry, encodeAnnouncedExpiry, readStoredConfig, withPeerConfigLock } from './stored.js'
export type { StoredConfig } from './stored.js'

/** Options of `PeerConfigStore.lookup` */
export interface EchLookupOptions {
  /**
   * The ECHConfigList (wire form) carried by the peer's addresses in its
   * peer-store record (`/noise/ech/…`, from a bootstrap list, peer routing or
   * identify), as the caller reads them: this folder does not parse
   * multiaddrs. Used, unsigned, when nothing usable is stored.
   */
  addressConfig?(record: Peer): Uint8Array | undefined
  /** Ask the registered finders (`registerEchConfigFinder`) when nothing usable is stored or in the addresses (default true) */
  find?: boolean
  /** The dial's signal: once it aborts, the lookup stops waiting for the finders */
  signal?: AbortSignal
}

/** Options of `PeerConfigStore.storeSignedRecord` */
export interface StoreSignedRecordOptions extends AbortOptions {
  /**
   * Leave a wire-form list the application stored in place (the config
   * exchange and `importSignedConfigRecord` do; retry configs replace it).
   * A list learned from the peer's own announcement is replaced either way.
   */
  keepConfigList?: boolean
}

/**
 * Why a verified record was not stored: `config-list`, an application-given
 * list is stored and `keepConfigList` was set; `same-record`, these very
 * bytes are stored already (a no-op)
 */
export type StoreSkipReason = 'config-list' | 'same-record'

/** What `storeSignedRecord` did with a record that verified */
export type StoreSignedRecordResult =
  | { stored: true, reason?: undefined, offer?: EchOffer }
  | { stored: false, reason: StoreSkipReason, offer?: undefined }

/** Why a peer gets no ECH offer from the stored configs */
export type NoOfferReason = 'no-config' | 'expired-config' | 'unusable-config'

/**
 * The offer for a peer, or why there is none; with no config at all, the
 * peer's record when the store has one (what identify learned: whether
 * GREASE is safe for it)
 */
export type EchOfferLookup = { offer: EchOffer, reason?: undefined } | { offer?: undefined, reason: NoOfferReason, record?: Peer }

const NO_CONFIG: EchOfferLookup = Object.freeze({ reason: 'no-config' as const })
const EXPIRED_CONFIG: EchOfferLookup = Object.freeze({ reason: 'expired-config' as const })
const UNUSABLE_CONFIG: EchOfferLookup = Object.freeze({ reason: 'unusable-config' as const })

interface CacheEntry {
  stored: Uint8Array
  /** The `ECH_ANNOUNCED_EXPIRY_KEY` value read with it */
  announcedExpiry?: Uint8Array
  offer: EchOffer | undefined
  /** The stored record had already expired when it was read */
  expired?: boolean
}

export interface PeerConfigStoreInit {
  peerStore: PeerStore
  provider: CryptoProvider
  log: Logger
  /** Most peers whose parsed configs are kept in memory */
  cacheSize?: number
  /** KEM ids this dialer will encrypt to (default: every implemented KEM) */
  kemIds?: ReadonlySet<number>
  /**
   * How `lookup` reads a peer's configs (default `readStoredConfig`). One
   * may leave out the record of a peer with a config (`lookup` reads it when
   * that config gives no offer), and of a peer without a config only when
   * its addresses cannot carry one either (`EchLookupOptions.addressConfig`
   * is given that record); such a one must not be used where GREASE needs it
   */
  read?(peer: PeerId): Promise<StoredConfig>
  now?(): number
}

/**
 * Reads, verifies and caches remote configs. Parsing, signature checks and
 * key import happen once per stored value, not once per dial.
 */
export class PeerConfigStore {
  private readonly peerStore: PeerStore
  private readonly provider: CryptoProvider
  private readonly log: Logger
  private readonly cacheSize: number
  private readonly now: () => number
  private readonly kemIds?: ReadonlySet<number>
  private readonly read: (peer: PeerId) => Promise<StoredConfig>
  private readonly cache = new Map<string, CacheEntry>()

  constructor (init: PeerConfigStoreInit) {
    this.peerStore = init.peerStore
    this.provider = init.provider
    this.log = init.log
    this.cacheSize = init.cacheSize ?? 1024
    this.now = init.now ?? Date.now
    this.kemIds = init.kemIds
    this.read = init.read ?? (async (peer) => readStoredConfig(this.peerStore, peer))
  }

  /**
   * The offer for this peer, or why there is none. Where from, first usable
   * wins: the value stored under `ECH_PEER_STORE_KEY`; the config list the
   * peer's stored addresses carry (`options.addressConfig`); the registered
   * finders (the DHT), waited for at most their `timeout`, then the store
   * again. Without any, the stored value's reason (`no-config`,
   * `expired-config`, `unusable-config`).
   */
  async lookup (peer: PeerId, options: EchLookupOptions = {}): Promise<EchOfferLookup> {
    const { lookup: stored, record: storedRecord } = await this.lookupStored(peer)
    if (stored.offer != null) {
      return stored
    }
    // a `read` may leave out the record of a peer with a config (read it
    // now: its addresses may carry a usable one), and leaves it out of a
    // peer without a config only when its addresses carry none
    const record = storedRecord ?? (stored.reason === 'no-config' || options.addressConfig == null ? undefined : await this.readRecord(peer))
    const fromAddresses = await this.lookupAddresses(peer, record, options)
    if (fromAddresses != null) {
      return fromAddresses
    }
    if (options.find === false || !await findConfigs(this.peerStore, peer, this.log, { signal: options.signal })) {
      return stored
    }
    const { lookup: found } = await this.lookupStored(peer)
    return found.offer != null ? found : stored
  }

  /** The peer's whole record, or undefined when there is none or it cannot be read */
  private async readRecord (peer: PeerId): Promise<Peer | undefined> {
    try {
      return (await readStoredConfig(this.peerStore, peer)).record
    } catch (err: any) {
      this.log.error('could not read the record of %p - %e', peer, err)
      return undefined
    }
  }

  /** The offer from the config list the peer's addresses carry, parsed once per list */
  private async lookupAddresses (peer: PeerId, record: Peer | undefined, options: EchLookupOptions): Promise<EchOfferLookup | undefined> {
    if (record == null || options.addressConfig == null) {
      return undefined
    }
    let list: Uint8Array | undefined
    try {
      list = options.addressConfig(record)
    } catch (err: any) {
      this.log.error('could not read the ECH config in the addresses of %p - %e', peer, err)
      return undefined
    }
    if (list == null) {
      return undefined
    }
    const key = `address ${peer.toString()}`
    let entry = this.cache.get(key)
    if (entry == null || !equalBytes(entry.stored, list)) {
      entry = { stored: list, ...await this.decodeList(peer, list) }
    }
    this.remember(key, entry)
    return entry.offer == null ? undefined : { offer: entry.offer }
  }

  /** An unsigned list from an address: no expiry of its own (the address book's entry is its lifetime) */
  private async decodeList (peer: PeerId, list: Uint8Array): Promise<Omit<CacheEntry, 'stored'>> {
    try {
      return { offer: await loadOffer(this.provider, list, undefined, this.kemIds) }
    } catch (err: any) {
      this.log.error('ignoring the unusable ECH config in the addresses of %p - %e', peer, err)
      return { offer: undefined }
    }
  }

  /** The offer from what is stored under `ECH_PEER_STORE_KEY`, or why there is none; and the peer's record */
  private async lookupStored (peer: PeerId): Promise<{ lookup: EchOfferLookup, record?: Peer }> {
    let current: StoredConfig
    try {
      current = await this.read(peer)
    } catch (err: any) {
      this.log.error('could not read ECH config of %p - %e', peer, err)
      return { lookup: NO_CONFIG }
    }
    const { value: stored, announcedExpiry, record } = current
    if (stored == null) {
      return { lookup: record == null ? NO_CONFIG : { reason: 'no-config', record }, record }
    }
    return { lookup: await this.lookupValue(peer, stored, announcedExpiry), record }
  }

  /** The offer from a stored value, parsed, verified and imported once per value */
  private async lookupValue (peer: PeerId, stored: Uint8Array, announcedExpiry: Uint8Array | undefined): Promise<EchOfferLookup> {
    const key = peer.toString()
    let entry = this.cache.get(key)
    if (entry != null && equalBytes(entry.stored, stored) && sameBytes(entry.announcedExpiry, announcedExpiry)) {
      // refresh LRU position
      this.cache.delete(key)
      this.cache.set(key, entry)
    } else {
      entry = { stored, announcedExpiry, ...await this.decode(peer, stored, announcedExpiry) }
      this.remember(key, entry)
    }

    const { offer } = entry
    if (offer == null) {
      return entry.expired === true ? EXPIRED_CONFIG : UNUSABLE_CONFIG
    }
    if (offer.expiresAt != null && offer.expiresAt <= this.now()) {
      this.log('ECH config of %p expired', peer)
      return EXPIRED_CONFIG
    }
    return { offer }
  }

  /**
   * Verify a signed config record (retry configs, config exchange, HTTP)
   * against the peer it claims to come from, then store it with `merge`,
   * following the freshness rule every path that stores a record shares.
   *
   * A stored record that still verifies is replaced only by one issued later
   * or in the same second; the very same record is a no-op (`same-record`);
   * an older one is refused with `EchRecordRollbackError` and logged. Issue
   * times are whole seconds and a key rotation re-signs at once, so two
   * records of one second are the peer's word from that second: the later
   * received wins, as it must for a rotation's retry configs to repair a
   * record signed a moment before it.
   *
   * A stored value that does not verify (expired, malformed, another signer),
   * or nothing stored: the record is stored. A wire-form list: replaced,
   * unless `keepConfigList` is set and the application gave it
   * (`config-list`); a list the peer announced is replaced either way (its
   * own signed word beats its unsigned one).
   *
   * Throws the record's typed error when verification fails
   * (`EchRecordInvalidError`, `EchRecordSignerError`, `EchRecordExpiredError`,
   * `EchRecordNotYetValidError`, `EchConfigError`); nothing is stored then.
   */
  async storeSignedRecord (peer: PeerId, record: Uint8Array, options: StoreSignedRecordOptions = {}): Promise<StoreSignedRecordResult> {
    const opened = await openSignedConfigRecord(record, peer, { now: this.now() })
    const offer = await loadOffer(this.provider, opened.configList, opened.expiresAt * 1000, this.kemIds)
    return withPeerConfigLock(this.peerStore, peer, async () => {
      const current = await readStoredConfig(this.peerStore, peer, options)
      const reason = await this.keepStored(peer, record, opened.issuedAt, current, options.keepConfigList === true)
      if (reason != null) {
        this.log.trace('not storing the config record of %p: %s', peer, reason)
        return { stored: false, reason }
      }
      options.signal?.throwIfAborted()
      // a record carries its own expiry: drop the one of a list it replaces
      await this.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: record, [ECH_ANNOUNCED_EXPIRY_KEY]: undefined } }, options)
      this.remember(peer.toString(), { stored: record, offer })
      return { stored: true, offer }
    })
  }

  /** The freshness rule of `storeSignedRecord`: why `current` stays, if it does; throws for a rollback */
  private async keepStored (peer: PeerId, record: Uint8Array, issuedAt: number, current: StoredConfig, keepConfigList: boolean): Promise<StoreSkipReason | undefined> {
    const { value } = current
    if (value == null) {
      return undefined
    }
    if (equalBytes(value, record)) {
      return 'same-record'
    }
    if (isWireConfigList(value)) {
      const announced = announcedListExpiry(this.provider, value, current.announcedExpiry) != null
      return keepConfigList && !announced ? 'config-list' : undefined
    }
    let storedIssuedAt: number
    try {
      storedIssuedAt = (await openSignedConfigRecord(value, peer, { now: this.now() })).issuedAt
    } catch {
      // expired or unusable: it protects nothing, so it does not block
      return undefined
    }
    if (issuedAt < storedIssuedAt) {
      this.log.error('refusing a config record of %p issued %d s before the one stored (rollback)', peer, storedIssuedAt - issuedAt)
      throw new EchRecordRollbackError(`Signed config record is issued ${storedIssuedAt - issuedAt} s before the one stored`)
    }
    return undefined
  }

  private async decode (peer: PeerId, stored: Uint8Array, announcedExpiry: Uint8Array | undefined): Promise<Omit<CacheEntry, 'stored'>> {
    try {
      if (isWireConfigList(stored)) {
        // an announced list expires; an application-given one does not
        return { offer: await loadOffer(this.provider, stored, announcedListExpiry(this.provider, stored, announcedExpiry), this.kemIds) }
      }
      const opened = await openSignedConfigRecord(stored, peer, { now: this.now() })
      return { offer: await loadOffer(this.provider, opened.configList, opened.expiresAt * 1000, this.kemIds) }
    } catch (err: any) {
      // a bad stored value must not break dialing: log it and dial without ECH
      this.log.error('ignoring unusable ECH config stored for %p - %e', peer, err)
      return { offer: undefined, expired: err?.name === 'EchRecordExpiredError' }
    }
  }

  private remember (key: string, entry: CacheEntry): void {
    this.cache.delete(key)
    this.cache.set(key, entry)
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value
      if (oldest != null) { this.cache.delete(oldest) }
    }
  }
}

function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a == null || b == null ? a === b : equalBytes(a, b)
}
