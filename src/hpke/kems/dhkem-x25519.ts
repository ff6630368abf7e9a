/**
 * DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (RFC 9180 §4.1, §7.1).
 * Private keys wrap the provider's imported `DhPrivateKey` for their whole
 * life, so a decapsulation is one scalar multiplication and two HMAC chains.
 */
import { fromString } from 'uint8arrays/from-string'
import { assertNonZeroSharedSecret, concat, equalBytes } from '../../crypto/bytes.js'
import { HpkeDecapError, HpkeEncapError, HpkeInvalidInputError } from '../errors.js'
import { HASH_LENGTH, kemSuiteId, label, labeledExpand, labeledExtract } from '../labeled.js'
import type { CryptoProvider, DhPrivateKey, DhPublicKey } from '../../crypto/provider.js'
import type { Encapsulation, Kem, KemPrivateKey, KemPublicKey } from '../kem.js'

const KEM_ID = 0x0020
const N_PK = 32
const N_SK = 32
const SUITE_ID = kemSuiteId(KEM_ID)
const EMPTY = new Uint8Array(0)
const LABEL_DKP_PRK = label('dkp_prk')
const LABEL_SK = label('sk')
const LABEL_EAE_PRK = label('eae_prk')
const LABEL_SHARED_SECRET = label('shared_secret')

/**
 * Public keys whose X25519 output is all zero for every scalar: the
 * small-order points of Curve25519 and their non-canonical encodings
 * (RFC 7748 §6.1; the list Go and libsodium reject)
 */
const SMALL_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
].map(point => fromString(point, 'base16'))

/**
 * A fixed scalar for the DH probe. Clamping makes every X25519 scalar a
 * multiple of the cofactor 8 (RFC 7748 §5), so its DH with any point of
 * small order, however encoded (bit 255 is ignored), is all zero.
 */
const PROBE_SCALAR = fromString('a8abababababababababababababababababababababababababababababab6b', 'base16')

class X25519PrivateKey implements KemPrivateKey {
  readonly kemId = KEM_ID
  readonly publicKey: Uint8Array
  readonly dh: DhPrivateKey

  constructor (dh: DhPrivateKey) {
    this.dh = dh
    this.publicKey = dh.publicKey
  }

  exportSecret (): Uint8Array {
    return this.dh.exportSecret()
  }

  destroy (): void {
    this.dh.destroy()
  }
}

class X25519PublicKey implements KemPublicKey {
  readonly kemId = KEM_ID
  readonly bytes: Uint8Array
  readonly dh: DhPublicKey

  constructor (dh: DhPublicKey) {
    this.dh = dh
    this.bytes = dh.bytes
  }
}

/** A KEM input of a fixed length (`Npk`, `Nsk`, `Nenc`, RFC 9180 §7.1); X-Wing's checks use it too */
export function checkBytes (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== length) {
    throw new HpkeInvalidInputError(`${what} must be ${length} bytes`)
  }
}

function asPrivateKey (key: KemPrivateKey): X25519PrivateKey {
  if (!(key instanceof X25519PrivateKey)) {
    throw new HpkeInvalidInputError('not a DHKEM(X25519) private key')
  }
  return key
}

/** ExtractAndExpand(dh, kem_context) (RFC 9180 §4.1); wipes dh and kem_context */
function extractAndExpand (provider: CryptoProvider, dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(provider, SUITE_ID, EMPTY, LABEL_EAE_PRK, dh)
  dh.fill(0)
  const sharedSecret = labeledExpand(provider, SUITE_ID, prk, LABEL_SHARED_SECRET, kemContext, HASH_LENGTH)
  prk.fill(0)
  kemContext.fill(0)
  return sharedSecret
}

/** RFC 9180 §7.1.4: an all-zero DH output (small-order point) fails Encap/Decap */
function dhOrThrow (dh: () => Uint8Array, Err: typeof HpkeEncapError | typeof HpkeDecapError): Uint8Array {
  try {
    return dh()
  } catch (err) {
    throw new Err(undefined, { cause: err })
  }
}

/**
 * X25519 public-key validation, shared with X-Wing's `pk_X`: not one of the
 * small-order points (RFC 7748 §6.1), and a DH with a fixed scalar that is
 * not all zero (RFC 9180 §7.1.4: the check Encap would fail). Throws
 * `HpkeInvalidInputError`.
 */
export function validateX25519PublicKey (provider: CryptoProvider, publicKey: Uint8Array, what = 'X25519 public key'): void {
  checkBytes(publicKey, N_PK, what)
  if (SMALL_ORDER_POINTS.some(point => equalBytes(point, publicKey))) {
    throw new HpkeInvalidInputError(`${what} is a small-order point (RFC 7748 §6.1)`)
  }
  const probe = provider.x25519FromSecret(PROBE_SCALAR)
  try {
    const dh = provider.x25519(probe, publicKey)
    try {
      assertNonZeroSharedSecret(dh)
    } finally {
      dh.fill(0)
    }
  } catch (err) {
    throw new HpkeInvalidInputError(`${what} gives an all-zero X25519 output (RFC 9180 §7.1.4)`, { cause: err })
  } finally {
    probe.destroy()
  }
}

export const dhkemX25519: Kem = {
  id: KEM_ID,
  name: 'x25519',
  publicKeyLength: N_PK,
  encLength: N_PK,
  privateKeyLength: N_SK,
  sharedSecretLength: HASH_LENGTH,

  generateKeyPair (provider) {
    return new X25519PrivateKey(provider.x25519Generate())
  },

  /** DeriveKeyPair for X25519 (RFC 9180 §7.1.3): sk is the expanded bytes, clamped by X25519 itself */
  deriveKeyPair (provider, ikm) {
    if (!(ikm instanceof Uint8Array) || ikm.byteLength < N_SK) {
      // §7.1.3: ikm SHOULD have at least Nsk bytes of entropy
      throw new HpkeInvalidInputError(`DeriveKeyPair ikm must be at least ${N_SK} bytes`)
    }
    const prk = labeledExtract(provider, SUITE_ID, EMPTY, LABEL_DKP_PRK, ikm)
    const sk = labeledExpand(provider, SUITE_ID, prk, LABEL_SK, EMPTY, N_SK)
    prk.fill(0)
    try {
      return new X25519PrivateKey(provider.x25519FromSecret(sk))
    } finally {
      sk.fill(0)
    }
  },

  importPrivateKey (provider, secret) {
    checkBytes(secret, N_SK, 'X25519 private key')
    return new X25519PrivateKey(provider.x25519FromSecret(secret))
  },

  importPublicKey (provider, publicKey) {
    checkBytes(publicKey, N_PK, 'X25519 public key')
    return new X25519PublicKey(provider.x25519ImportPublic(publicKey))
  },

  validatePublicKey (provider, publicKey) {
    validateX25519PublicKey(provider, publicKey)
  },

  /** Encap(pkR) (RFC 9180 §4.1); a fresh skE is destroyed before returning */
  encap (provider, publicKey, ephemeral?): Encapsulation {
    if (!(publicKey instanceof X25519PublicKey)) {
      throw new HpkeInvalidInputError('not a DHKEM(X25519) public key')
    }
    const skE = ephemeral != null ? asPrivateKey(ephemeral) : new X25519PrivateKey(provider.x25519Generate())
    try {
      const dh = dhOrThrow(() => provider.x25519(skE.dh, publicKey.dh), HpkeEncapError)
      const enc = Uint8Array.from(skE.publicKey)
      const sharedSecret = extractAndExpand(provider, dh, concat(enc, publicKey.bytes))
      return { sharedSecret, enc }
    } finally {
      if (ephemeral == null) { skE.destroy() }
    }
  },

  /** Decap(enc, skR) (RFC 9180 §4.1) */
  decap (provider, enc, privateKey) {
    checkBytes(enc, N_PK, 'X25519 enc')
    const skR = asPrivateKey(privateKey)
    const dh = dhOrThrow(() => provider.x25519(skR.dh, enc), HpkeDecapError)
    return extractAndExpand(provider, dh, concat(enc, skR.publicKey))
  }
}
