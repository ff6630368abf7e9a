/**
 * The small crypto-provider interface that HPKE (RFC 9180) and the Noise
 * state machine are written against. Three backends implement it:
 * `node:crypto` (synchronous, native, the fast path on Node), `@noble/*`
 * (portable, pure JS) and the browser backend (`browser.ts`: native
 * randomness, `@noble/*` for the rest, because the interface is synchronous
 * and WebCrypto's `subtle` is not). Protocol code never asks which backend it
 * has: anything platform-specific (key handles, which cipher is fastest for a
 * frame size) stays behind this interface.
 *
 * Key import dominates X25519 cost with `node:crypto` (~480 us to re-import a
 * private key from DER against ~35 us for a DH with a ready `KeyObject`), so
 * private keys are held as opaque, already-imported handles (`DhPrivateKey`)
 * and public keys may be imported once (`importPublicKey`) and reused.
 */

import type { Uint8ArrayList } from 'uint8arraylist'

/** An imported X25519 private key. Opaque: a `KeyObject` or raw bytes by backend. */
export interface DhPrivateKey {
  /** Discriminant */
  readonly kind: 'x25519-private'
  /** Raw 32-byte public key */
  readonly publicKey: Uint8Array
  /** Export the raw 32-byte secret (a copy the caller must wipe) */
  exportSecret(): Uint8Array
  /** Drop/zero the secret held by this handle; later use throws */
  destroy(): void
}

/** An imported X25519 public key, reusable across many DH operations */
export interface DhPublicKey {
  /** Discriminant */
  readonly kind: 'x25519-public'
  /** Raw 32-byte public key */
  readonly bytes: Uint8Array
}

/** The AEADs a provider implements, by name */
export type AeadId = 'chacha20-poly1305' | 'aes-128-gcm'

/** One AEAD of a provider (RFC 9180 §7.3 `Nk`, `Nn`, `Nt`) */
export interface Aead {
  /** Key length in bytes (`Nk`) */
  readonly keyLength: number
  /** Nonce length in bytes (`Nn`) */
  readonly nonceLength: number
  /** Tag length in bytes (`Nt`) */
  readonly tagLength: number
  /** Returns ciphertext || tag */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** Returns the plaintext, or throws on authentication failure */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array
}

/**
 * ChaCha20-Poly1305 (RFC 8439) as Noise uses it (Noise §12.3), for handshake
 * messages and transport frames alike. Input may be one array or a list of
 * chunks (a frame split over reads is never concatenated first); output is a
 * `Uint8Array` for array input, and an array or a list for list input.
 */
export interface NoiseCipher {
  /** ciphertext || 16-byte tag, for one array */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** ciphertext || 16-byte tag, for an array or a list of chunks */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList
  /** The plaintext of one array; throws on a short input or a bad tag */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array
  /** The plaintext of an array or a list of chunks; throws on a short input or a bad tag */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList
}

/**
 * The primitives HPKE and the Noise state machine need, all synchronous; pass `nodeProvider`,
 * `nobleProvider` or `browserProvider` as `EchNoiseInit.provider`
 */
export interface CryptoProvider {
  /** Which backend this is */
  readonly name: 'node' | 'noble' | 'browser'
  /** Cryptographically secure random bytes */
  randomBytes(length: number): Uint8Array
  /** SHA-256 over the concatenation of the parts */
  sha256(...parts: Uint8Array[]): Uint8Array
  /** HMAC-SHA-256 over the concatenation of the parts */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array
  /** A fresh X25519 key pair */
  x25519Generate(): DhPrivateKey
  /** Import a raw 32-byte secret (the input is not retained) */
  x25519FromSecret(secret: Uint8Array): DhPrivateKey
  /** Import a raw 32-byte public key once, for reuse in many DHs */
  x25519ImportPublic(publicKey: Uint8Array): DhPublicKey
  /**
   * X25519(sk, pk). Throws when the result is all zeros (a small-order public
   * key), as RFC 7748 §6.1 allows and RFC 9180 §7.1.4 requires.
   */
  x25519(privateKey: DhPrivateKey, publicKey: DhPublicKey | Uint8Array): Uint8Array
  /** The AEAD with this name (HPKE) */
  aead(id: AeadId): Aead
  /**
   * ChaCha20-Poly1305 for Noise handshake messages and transport frames.
   * Optional, so a provider written before it existed still works: without it
   * Noise uses `aead('chacha20-poly1305')`, joining lists first.
   */
  readonly noiseCipher?: NoiseCipher
}

/** The provider's Noise cipher, or one made from its ChaCha20-Poly1305 AEAD */
export function noiseCipherOf (provider: CryptoProvider): NoiseCipher {
  if (provider.noiseCipher != null) { return provider.noiseCipher }
  const aead = provider.aead('chacha20-poly1305')
  return {
    seal: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | Uint8ArrayList): any => aead.seal(key, nonce, ad, plaintext.subarray()),
    open: (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList): any => aead.open(key, nonce, ad, ciphertext.subarray())
  }
}
