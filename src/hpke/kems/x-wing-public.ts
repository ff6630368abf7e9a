/**
 * The part of X-Wing (HPKE KEM 0x647a, draft-connolly-cfrg-xwing-kem-06) that
 * needs neither ML-KEM nor SHA-3: its sizes (§5), the public key's split and
 * import, and the public-key check a config gets when it is parsed for use
 * (FIPS 203 §7.2 modulus check, RFC 9180 §7.1.4 for the X25519 half). It is
 * always in the main bundle, so a config naming X-Wing parses, validates and
 * becomes an offer before `x-wing.ts` (ML-KEM-768, `@noble/post-quantum`) is
 * loaded (`loadKem`, `hpke/registry.ts`).
 */
import { HpkeInvalidInputError } from '../errors.js'
import { checkBytes, validateX25519PublicKey } from './dhkem-x25519.js'
import { mlKem768ModulusCheck } from './ml-kem-check.js'
import type { CryptoProvider, DhPublicKey } from '../../crypto/provider.js'
import type { KemInfo, KemPublicKey } from '../kem.js'

export const XWING_KEM_ID = 0x647a
/** Nsk: the serialized private key is the seed */
export const N_SEED = 32
export const N_PK = 1216
export const N_ENC = 1120
export const N_SECRET = 32
export const PK_M_LENGTH = 1184

export const xwingInfo: KemInfo = {
  id: XWING_KEM_ID,
  name: 'x-wing',
  publicKeyLength: N_PK,
  encLength: N_ENC,
  privateKeyLength: N_SEED,
  sharedSecretLength: N_SECRET
}

export class XWingPublicKey implements KemPublicKey {
  readonly kemId = XWING_KEM_ID
  readonly bytes: Uint8Array
  readonly pkM: Uint8Array
  readonly pkX: Uint8Array
  readonly dhX: DhPublicKey

  constructor (bytes: Uint8Array, dhX: DhPublicKey) {
    this.bytes = bytes
    this.pkM = bytes.subarray(0, PK_M_LENGTH)
    this.pkX = bytes.subarray(PK_M_LENGTH)
    this.dhX = dhX
  }
}

/** DeserializePublicKey is the identity; the X25519 half is imported once for reuse */
export function importXWingPublicKey (provider: CryptoProvider, publicKey: Uint8Array): XWingPublicKey {
  checkBytes(publicKey, N_PK, 'X-Wing public key')
  const bytes = Uint8Array.from(publicKey)
  return new XWingPublicKey(bytes, provider.x25519ImportPublic(bytes.subarray(PK_M_LENGTH)))
}

/**
 * `pk_M` must pass ML-KEM-768's encapsulation-key check (FIPS 203 §7.2:
 * its type check is the length, then the modulus check), and
 * `pk_X` the X25519 checks, without which Encap fails (draft §5.4)
 */
export function validateXWingPublicKey (provider: CryptoProvider, publicKey: Uint8Array): void {
  checkBytes(publicKey, N_PK, 'X-Wing public key')
  if (!mlKem768ModulusCheck(publicKey.subarray(0, PK_M_LENGTH))) {
    throw new HpkeInvalidInputError('X-Wing ML-KEM-768 public key fails the modulus check (FIPS 203 §7.2)')
  }
  validateX25519PublicKey(provider, publicKey.subarray(PK_M_LENGTH), 'X-Wing X25519 public key')
}
