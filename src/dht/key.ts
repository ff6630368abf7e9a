/**
 * The DHT key of a peer's signed config record: `/noise-ech/` followed by
 * the peer id's multihash bytes, the way `/pk/` and `/ipns/` keys are built
 * (libp2p kad-dht spec, "Value storage and retrieval": the namespace is the
 * key's first path segment, and selects the validator and selector).
 *
 * One key per peer, derived from its identity alone: a dialer that knows
 * the peer id knows where to look, and the validator can check that the
 * record is signed by the very peer the key names.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { concat, equalBytes } from '../crypto/bytes.js'
import { EchDhtKeyError } from './errors.js'
import type { PeerId } from '@libp2p/interface'

/** The DHT namespace of ECH config records (the key's first path segment) */
export const ECH_DHT_NAMESPACE = 'noise-ech'

const PREFIX = uint8ArrayFromString(`/${ECH_DHT_NAMESPACE}/`)

/** The DHT key under which `peer` publishes its signed config record */
export function echDhtKey (peer: PeerId): Uint8Array {
  return concat(PREFIX, peer.toMultihash().bytes)
}

/** The peer whose record lives under `key`; throws EchDhtKeyError for any other key */
export function peerIdFromEchDhtKey (key: Uint8Array): PeerId {
  if (!(key instanceof Uint8Array) || key.byteLength <= PREFIX.byteLength || !equalBytes(key.subarray(0, PREFIX.byteLength), PREFIX)) {
    throw new EchDhtKeyError()
  }
  let peer: PeerId
  try {
    // a peer id's string form is the base58btc of its multihash
    peer = peerIdFromString(uint8ArrayToString(key.subarray(PREFIX.byteLength), 'base58btc'))
  } catch (err) {
    throw new EchDhtKeyError('ECH config record key does not end in a peer id multihash', { cause: err })
  }
  // peerIdFromString also takes a CID string (`bafz…`, `k51…`): one peer, one key, byte for byte
  if (!equalBytes(echDhtKey(peer), key)) {
    throw new EchDhtKeyError('ECH config record key does not end in a peer id multihash')
  }
  return peer
}
