/**
 * What the peer store holds for a peer's remote ECH configs: the two
 * metadata keys, the expiry kept beside an announced wire-form list, reading
 * both, and the per-peer lock writers that read before they write hold
 * (`peer-store.ts` says why each exists).
 */
import { equalBytes } from '../crypto/bytes.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { AbortOptions, Peer, PeerId, PeerStore } from '@libp2p/interface'

/** The peer-store metadata key under which a peer's ECH configs are kept */
export const ECH_PEER_STORE_KEY = 'libp2p-noise-ech'

/**
 * The metadata key of the expiry of an announced wire-form list: uint64
 * big-endian ms since the epoch, then the SHA-256 of the list it belongs to
 */
export const ECH_ANNOUNCED_EXPIRY_KEY = 'libp2p-noise-ech/announced-expiry'

const EXPIRY_ENTRY_LENGTH = 8 + 32

/** The `ECH_ANNOUNCED_EXPIRY_KEY` value saying that `list` expires at `expiresAt` (ms since the epoch) */
export function encodeAnnouncedExpiry (provider: CryptoProvider, list: Uint8Array, expiresAt: number): Uint8Array {
  const out = new Uint8Array(EXPIRY_ENTRY_LENGTH)
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.floor(expiresAt)))
  out.set(provider.sha256(list), 8)
  return out
}

/**
 * When the wire-form `list` stored for a peer expires (ms since the epoch),
 * if `entry` was written for this very list; undefined when it was not (a
 * list the application gave, which is used until something replaces it)
 */
export function announcedListExpiry (provider: CryptoProvider, list: Uint8Array, entry: Uint8Array | undefined): number | undefined {
  if (entry == null || entry.byteLength !== EXPIRY_ENTRY_LENGTH || !equalBytes(entry.subarray(8), provider.sha256(list))) {
    return undefined
  }
  return Number(new DataView(entry.buffer, entry.byteOffset, 8).getBigUint64(0))
}

/** What the peer store holds for a peer's ECH configs */
export interface StoredConfig {
  /** The value under `ECH_PEER_STORE_KEY` */
  value?: Uint8Array
  /** The value under `ECH_ANNOUNCED_EXPIRY_KEY` */
  announcedExpiry?: Uint8Array
  /** The whole peer record, when the store has the peer (what identify learned, for GREASE) */
  record?: Peer
}

/** Read both keys; an unknown peer holds nothing. Other peer-store errors are thrown. */
export async function readStoredConfig (peerStore: PeerStore, peer: PeerId, options?: AbortOptions): Promise<StoredConfig> {
  try {
    const record = await peerStore.get(peer, options)
    return { value: record.metadata.get(ECH_PEER_STORE_KEY), announcedExpiry: record.metadata.get(ECH_ANNOUNCED_EXPIRY_KEY), record }
  } catch (err: any) {
    if (err?.name === 'NotFoundError') { return {} }
    throw err
  }
}

/**
 * Per peer store and peer, the tail of the queue of read-then-write
 * operations. Keyed by the peer store object so that every writer in the
 * process (the encrypter, the exchange service, the identify listener, the
 * application's own imports) queues on the same lock; weak, so a stopped
 * node's store is not kept alive.
 */
const locks = new WeakMap<PeerStore, Map<string, Promise<void>>>()

/** Run `fn` once every earlier `fn` for the same peer store and peer has settled */
export async function withPeerConfigLock<T> (peerStore: PeerStore, peer: PeerId, fn: () => Promise<T>): Promise<T> {
  let queue = locks.get(peerStore)
  if (queue == null) {
    queue = new Map()
    locks.set(peerStore, queue)
  }
  const key = peer.toString()
  const run = (queue.get(key) ?? Promise.resolve()).then(fn)
  const tail = run.then(() => {}, () => {})
  queue.set(key, tail)
  try {
    return await run
  } finally {
    if (queue.get(key) === tail) { queue.delete(key) }
  }
}
