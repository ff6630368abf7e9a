/**
 * The HPKE KEM registry (RFC 9180 §7.1). Callers look KEMs up by id and never
 * name an implementation, so X-Wing (0x647a) and P-256 (0x0010) can join
 * without touching them.
 */
import type { CryptoProvider } from '../crypto/provider.js'

/** A KEM private key held in imported form; see `DhPrivateKey` */
export interface KemPrivateKey {
  /** HPKE KEM id (RFC 9180 §7.1) of this key */
  readonly kemId: number
  /** The serialized public key (RFC 9180 SerializePublicKey) */
  readonly publicKey: Uint8Array
  /** The serialized private key (RFC 9180 SerializePrivateKey); the caller wipes it */
  exportSecret(): Uint8Array
  /** Wipe the secret held by this key; later use throws */
  destroy(): void
}

/** A recipient public key imported once and reused for many encapsulations */
export interface KemPublicKey {
  readonly kemId: number
  readonly bytes: Uint8Array
}

export interface Encapsulation {
  sharedSecret: Uint8Array
  enc: Uint8Array
}

/**
 * What the registry knows of every KEM without loading its implementation
 * (RFC 9180 §7.1 `Npk`, `Nenc`, `Nsk`, `Nsecret`)
 */
export interface KemInfo {
  readonly id: number
  /** Short name used by the CLI and options, e.g. `x25519`, `x-wing` */
  readonly name: string
  readonly publicKeyLength: number
  readonly encLength: number
  readonly privateKeyLength: number
  readonly sharedSecretLength: number
}

export interface Kem extends KemInfo {
  generateKeyPair(provider: CryptoProvider): KemPrivateKey
  /** RFC 9180 DeriveKeyPair; deterministic, for vectors */
  deriveKeyPair(provider: CryptoProvider, ikm: Uint8Array): KemPrivateKey
  importPrivateKey(provider: CryptoProvider, secret: Uint8Array): KemPrivateKey
  importPublicKey(provider: CryptoProvider, publicKey: Uint8Array): KemPublicKey
  /**
   * Throws `HpkeInvalidInputError` for a serialized public key no
   * encapsulation can use (a small-order X25519 point, an ML-KEM key failing
   * FIPS 203 §7.2's modulus check), so a config with such a key is refused
   * when it is parsed for use rather than at every encapsulation
   */
  validatePublicKey(provider: CryptoProvider, publicKey: Uint8Array): void
  /** `ephemeral` fixes skE for known-answer tests; otherwise a fresh one is made and wiped */
  encap(provider: CryptoProvider, publicKey: KemPublicKey, ephemeral?: KemPrivateKey): Encapsulation
  decap(provider: CryptoProvider, enc: Uint8Array, privateKey: KemPrivateKey): Uint8Array
}

/** RFC 9180 §7.1 / IANA HPKE registry ids */
export const KEM_ID = {
  DHKEM_P256_HKDF_SHA256: 0x0010,
  DHKEM_X25519_HKDF_SHA256: 0x0020,
  X_WING: 0x647a
} as const

export const KDF_ID = {
  HKDF_SHA256: 0x0001
} as const

export const AEAD_ID = {
  AES_128_GCM: 0x0001,
  CHACHA20_POLY1305: 0x0003
} as const
