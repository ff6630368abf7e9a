/**
 * The rule for storing an unsigned ECHConfigList taken from a multiaddr,
 * shared by the two places one comes from: an address the application dials
 * (`dialWithEch`) and the addresses a peer announces in identify
 * (`EchAddressConfigs`).
 *
 * An unsigned list never replaces a signed config record that still
 * verifies: the record carries the peer's identity-key signature and its own
 * expiry (DESIGN.md: "configs that travel between peers are sealed … and
 * verified before use"), the list only the word of whoever wrote the
 * address. It replaces nothing stored, a value that does not verify (expired,
 * malformed, another signer), or a different wire-form list (unsigned too:
 * the newer word wins).
 *
 * An announced list is cached for at most 48 h after the peer last announced
 * it (DESIGN.md "Cache for at most 48 hours"): its expiry goes beside it
 * under `ECH_ANNOUNCED_EXPIRY_KEY`, and announcing the same list again
 * extends it. A list from an address the application dials is the
 * application's own and, like one it stores with `peerStore.merge`, has no
 * expiry; announcing the very list the application gave does not give it one.
 */
import { isWireConfigList } from '../config/codec.js'
import {
  ECH_ANNOUNCED_EXPIRY_KEY, ECH_PEER_STORE_KEY, announcedListExpiry, encodeAnnouncedExpiry, readStoredConfig, withPeerConfigLock
} from '../config/peer-store.js'
import { MAX_RECORD_TTL_SECONDS, openSignedConfigRecord } from '../config/record.js'
import { equalBytes } from '../crypto/bytes.js'
import { defaultProvider } from '../crypto/default.js'
import type { AbortOptions, PeerId, PeerStore } from '@libp2p/interface'

/** How long an announced list is used after the peer last announced it: 48 h, as a signed record at most */
export const ANNOUNCED_LIST_TTL = MAX_RECORD_TTL_SECONDS * 1000

/**
 * What storing an unsigned list did: `stored`; `unchanged`, the same list
 * was stored already (an announced one has its expiry extended);
 * `kept-signed-record`, a signed record that verifies is stored and stays
 */
export type StoreConfigListResult = 'stored' | 'unchanged' | 'kept-signed-record'

export interface StoreConfigListOptions extends AbortOptions {
  /** `application`: from an address the application dials (no expiry); `announced`: from the peer's identify addresses */
  source: 'application' | 'announced'
  /** The current time, ms since the epoch (default `Date.now()`) */
  now?: number
}

/** Store `list` (wire form) for `peer` following the rule above */
export async function storeConfigList (peerStore: PeerStore, peer: PeerId, list: Uint8Array, options: StoreConfigListOptions): Promise<StoreConfigListResult> {
  const now = options.now ?? Date.now()
  return withPeerConfigLock(peerStore, peer, async () => {
    const { value, announcedExpiry } = await readStoredConfig(peerStore, peer, options)
    if (value != null && !isWireConfigList(value) && await verifies(value, peer, now)) {
      return 'kept-signed-record'
    }
    const expiry = options.source === 'announced' ? encodeAnnouncedExpiry(defaultProvider, list, now + ANNOUNCED_LIST_TTL) : undefined
    if (value != null && equalBytes(value, list)) {
      // the same announcement again: extend its expiry; an application's list stays as it is
      if (expiry != null && announcedListExpiry(defaultProvider, value, announcedExpiry) != null) {
        await peerStore.merge(peer, { metadata: { [ECH_ANNOUNCED_EXPIRY_KEY]: expiry } }, options)
      }
      return 'unchanged'
    }
    // an application's list drops the expiry of the announced list it replaces (undefined deletes)
    await peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: list, [ECH_ANNOUNCED_EXPIRY_KEY]: expiry } }, options)
    return 'stored'
  })
}

/** Whether `record` is a signed config record of `peer` that is valid now */
async function verifies (record: Uint8Array, peer: PeerId, now: number): Promise<boolean> {
  try {
    await openSignedConfigRecord(record, peer, { now })
    return true
  } catch {
    // expired or unusable: it protects nothing, an unsigned list may replace it
    return false
  }
}
