/**
 * Staged rollout: which peers are offered ECH at a given percentage.
 *
 * A peer's bucket is a pure function of its peer id, so every node (and
 * every restart) puts a peer in the same bucket, and a peer in at p% is in at
 * every higher percentage: raising the percentage only adds peers.
 *
 * The bucket comes from SHA-256 over a domain tag and the peer id's multihash
 * bytes. The raw multihash is not spread evenly (an Ed25519 id starts with
 * the same six bytes, and its tail is a public key chosen by the peer), and
 * the tag keeps this split independent of any other hash-based split of peer
 * ids. The first 32 bits of the digest are scaled, not reduced mod 10,000,
 * onto [0, 10000); either bias is below 10^-5.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { PeerId } from '@libp2p/interface'

/** Buckets per 100 %: the rollout percentage has a resolution of 0.01 % */
export const ROLLOUT_BUCKETS = 10_000

const DOMAIN = new TextEncoder().encode('libp2p-noise-ech/rollout/v1\0')

/** The peer's rollout bucket, an integer in [0, 10000) */
export function rolloutBucket (peer: PeerId): number {
  const digest = sha256.create().update(DOMAIN).update(peer.toMultihash().bytes).digest()
  const word = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0
  return Math.floor(word * ROLLOUT_BUCKETS / 0x1_0000_0000)
}

/**
 * The number of buckets offered ECH at a percentage. Rounded to whole
 * buckets so float noise (`0.07 * 100 === 7.000000000000001`) cannot add a
 * bucket; rounding is monotonic, so rollout stays monotonic too.
 */
export function rolloutThreshold (percentage: number): number {
  return Math.round(percentage * (ROLLOUT_BUCKETS / 100))
}

/** Whether a bucket is offered ECH at a percentage: bucket < percentage × 100 */
export function inRollout (bucket: number, percentage: number): boolean {
  return bucket < rolloutThreshold(percentage)
}
