/**
 * Peer-store access for remote ECH configs. Every source of configs
 * (application, retry configs, config exchange, HTTP) ends here, under one
 * metadata key, written with `merge` (never `patch`, which replaces all of a
 * peer's metadata).
 *
 * The stored value is either an ECHConfigList in wire form (RFC 9849 §4, u16
 * length prefix, as in a DNS `ech=` value) or a signed config record. They are
 * told apart by the list's own framing: a wire-form list is exactly its u16
 * length plus two bytes long; anything else is treated as a record.
 */
import { equalBytes } from '../crypto/bytes.js'
import { isWireConfigList } from './codec.js'
import { selectOffer } from './offer.js'
import { openSignedConfigRecord } from './record.js'
import type { EchOffer } from './offer.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Logger, Peer, PeerId, PeerStore } from '@libp2p/interface'

/** The peer-store metadata key under which a peer's ECH configs are kept */
export const ECH_PEER_STORE_KEY = 'libp2p-noise-ech'

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
  private readonly cache = new Map<string, CacheEntry>()

  constructor (init: PeerConfigStoreInit) {
    this.peerStore = init.peerStore
    this.provider = init.provider
    this.log = init.log
    this.cacheSize = init.cacheSize ?? 1024
    this.now = init.now ?? Date.now
    this.kemIds = init.kemIds
  }

  /** The offer for this peer, or why there is none */
  async lookup (peer: PeerId): Promise<EchOfferLookup> {
    let record: Peer
    try {
      record = await this.peerStore.get(peer)
    } catch (err: any) {
      if (err?.name !== 'NotFoundError') {
        this.log.error('could not read ECH config of %p - %e', peer, err)
      }
      return NO_CONFIG
    }
    const stored = record.metadata.get(ECH_PEER_STORE_KEY)
    if (stored == null) {
      return { reason: 'no-config', record }
    }

    const key = peer.toString()
    let entry = this.cache.get(key)
    if (entry != null && equalBytes(entry.stored, stored)) {
      // refresh LRU position
      this.cache.delete(key)
      this.cache.set(key, entry)
    } else {
      entry = { stored, ...await this.decode(peer, stored) }
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
   * against the peer it claims to come from, then store it with `merge`.
   * Throws the record's typed error when verification fails.
   */
  async storeSignedRecord (peer: PeerId, record: Uint8Array): Promise<EchOffer | undefined> {
    const opened = await openSignedConfigRecord(record, peer, { now: this.now() })
    const offer = selectOffer(this.provider, opened.configList, opened.expiresAt * 1000, this.kemIds)
    await this.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: record } })
    this.remember(peer.toString(), { stored: record, offer })
    return offer
  }

  private async decode (peer: PeerId, stored: Uint8Array): Promise<Omit<CacheEntry, 'stored'>> {
    try {
      if (isWireConfigList(stored)) {
        return { offer: selectOffer(this.provider, stored, undefined, this.kemIds) }
      }
      const opened = await openSignedConfigRecord(stored, peer, { now: this.now() })
      return { offer: selectOffer(this.provider, opened.configList, opened.expiresAt * 1000, this.kemIds) }
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
