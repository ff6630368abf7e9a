/**
 * X-Wing, HPKE KEM id 0x647a: ML-KEM-768 and X25519 joined by a SHA3-256
 * combiner (draft-connolly-cfrg-xwing-kem-06 §5, the revision the IANA HPKE
 * registry cites; the construction is unchanged through -10).
 *
 * The private key is a 32-byte seed (Nsk = 32); `SHAKE256(seed, 96)` expands
 * it to the ML-KEM-768 `d || z` and the X25519 secret. The public key is
 * `pk_M || pk_X` (1184 + 32 = 1216 bytes), `enc` is `ct_M || ct_X`
 * (1088 + 32 = 1120 bytes), and the shared secret is
 * `SHA3-256(ss_M || ss_X || ct_X || pk_X || "\.//^\")`. HPKE `DeriveKeyPair(ikm)`
 * is `GenerateKeyPairDerand(SHAKE256(ikm, 32))` (draft §5.6).
 *
 * `@noble/post-quantum`'s `ml_kem768_x25519` is this construction (same
 * expansion, split and combiner; it reproduces the draft's vectors, see
 * test/hpke/xwing.spec.ts). It is not called here because it re-expands the
 * seed (an ML-KEM key generation and an X25519 base multiplication) on every
 * decapsulation and does its X25519 in pure JS. The draft (§5.5.1) lets an
 * implementation keep the expanded decapsulation key, so this module builds
 * the same steps from noble's ML-KEM-768, SHA3-256 and SHAKE256, holds the
 * expanded key in the private-key object, and does X25519 through the crypto
 * provider (native on Node).
 *
 * One deliberate difference from the draft text: X25519 here refuses a
 * small-order `ct_X` or `pk_X` (both providers do, as RFC 9180 §7.1.4 asks of
 * DHKEM) instead of hashing an all-zero `ss_X`. Honest peers never produce
 * such values; the result is an explicit `HpkeDecapError` / `HpkeEncapError`
 * where the draft would reject implicitly.
 *
 * This module (with ML-KEM-768 and SHA-3, ~40 KiB minified) is loaded on
 * first use through `loadKem` (`hpke/registry.ts`, a dynamic import), so an
 * X25519-only application does not ship it in its main chunk; what a config
 * needs before that (sizes, public-key import and checks) is in
 * `x-wing-public.ts`.
 */
import { sha3_256 as sha3256, shake256 } from '@noble/hashes/sha3.js'
import { ml_kem768 as mlKem768 } from '@noble/post-quantum/ml-kem.js'
import { concat } from '../../crypto/bytes.js'
import { HpkeDecapError, HpkeDestroyedError, HpkeEncapError, HpkeInvalidInputError } from '../errors.js'
import { checkBytes } from './dhkem-x25519.js'
import { N_ENC, N_PK, N_SEED, PK_M_LENGTH, XWING_KEM_ID as KEM_ID, XWingPublicKey, importXWingPublicKey, validateXWingPublicKey, xwingInfo } from './x-wing-public.js'
import type { CryptoProvider, DhPrivateKey } from '../../crypto/provider.js'
import type { Encapsulation, Kem, KemPrivateKey, KemPublicKey } from '../kem.js'

const CT_M_LENGTH = 1088
/** EncapsulateDerand's eseed: ML-KEM `m` (32) || X25519 ek_X (32) */
const ESEED_LENGTH = 64
/** SHAKE256 output of expandDecapsulationKey: ML-KEM `d || z` (64) || sk_X (32) */
const EXPANDED_LENGTH = 96
/** XWingLabel, `\.//^\` (draft §5.3) */
const XWING_LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c)

interface Expanded {
  /** ML-KEM-768 decapsulation key (2400 bytes) */
  skM: Uint8Array
  skX: DhPrivateKey
  pkX: Uint8Array
}

/** An X-Wing private key: the seed and its cached expansion (draft §5.5.1) */
class XWingPrivateKey implements KemPrivateKey {
  readonly kemId = KEM_ID
  readonly publicKey: Uint8Array
  #seed: Uint8Array | undefined
  #expanded: Expanded | undefined

  constructor (seed: Uint8Array, expanded: Expanded, publicKey: Uint8Array) {
    this.#seed = seed
    this.#expanded = expanded
    this.publicKey = publicKey
  }

  get expanded (): Expanded {
    if (this.#expanded == null) {
      throw new HpkeDestroyedError('X-Wing private key was destroyed')
    }
    return this.#expanded
  }

  exportSecret (): Uint8Array {
    if (this.#seed == null) {
      throw new HpkeDestroyedError('X-Wing private key was destroyed')
    }
    return Uint8Array.from(this.#seed)
  }

  destroy (): void {
    this.#seed?.fill(0)
    this.#expanded?.skM.fill(0)
    this.#expanded?.skX.destroy()
    this.#seed = undefined
    this.#expanded = undefined
  }
}

/**
 * Encapsulation randomness held as a `KemPrivateKey`, so `encap`'s and
 * `setupBaseS`'s `ephemeral` can fix it for known-answer tests. X-Wing's
 * ephemeral is a 64-byte seed, not a key pair; it has no public key.
 */
class XWingEncapsulationSeed implements KemPrivateKey {
  readonly kemId = KEM_ID
  readonly publicKey = new Uint8Array(0)
  #eseed: Uint8Array | undefined

  constructor (eseed: Uint8Array) {
    this.#eseed = eseed
  }

  get eseed (): Uint8Array {
    if (this.#eseed == null) {
      throw new HpkeDestroyedError('X-Wing encapsulation seed was destroyed')
    }
    return this.#eseed
  }

  exportSecret (): Uint8Array {
    return Uint8Array.from(this.eseed)
  }

  destroy (): void {
    this.#eseed?.fill(0)
    this.#eseed = undefined
  }
}

function asPrivateKey (key: KemPrivateKey): XWingPrivateKey {
  if (!(key instanceof XWingPrivateKey)) {
    throw new HpkeInvalidInputError('not an X-Wing private key')
  }
  return key
}

function asPublicKey (key: KemPublicKey): XWingPublicKey {
  if (!(key instanceof XWingPublicKey)) {
    throw new HpkeInvalidInputError('not an X-Wing public key')
  }
  return key
}

/** Run one component step, turning its failure into the operation's typed error */
function step<T> (fn: () => T, Err: typeof HpkeEncapError | typeof HpkeDecapError, what: string): T {
  try {
    return fn()
  } catch (err) {
    throw new Err(`X-Wing ${what} failed`, { cause: err })
  }
}

/**
 * expandDecapsulationKey(sk) and GenerateKeyPairDerand(sk) (draft §5.2).
 * The seed is copied; the caller keeps (and wipes) its own.
 */
function keyPairFromSeed (provider: CryptoProvider, seed: Uint8Array): XWingPrivateKey {
  const expanded = shake256(seed, { dkLen: EXPANDED_LENGTH })
  let skM: Uint8Array | undefined
  try {
    // noble's keygen(seed) reads d = seed[0:32], z = seed[32:64]: KeyGen_internal(d, z)
    const mlkem = mlKem768.keygen(expanded.subarray(0, 64))
    skM = mlkem.secretKey
    const skX = provider.x25519FromSecret(expanded.subarray(64, EXPANDED_LENGTH))
    const publicKey = new Uint8Array(N_PK)
    publicKey.set(mlkem.publicKey)
    publicKey.set(skX.publicKey, PK_M_LENGTH)
    const key = new XWingPrivateKey(Uint8Array.from(seed), { skM, skX, pkX: publicKey.subarray(PK_M_LENGTH) }, publicKey)
    skM = undefined
    return key
  } finally {
    expanded.fill(0)
    skM?.fill(0)
  }
}

/** Combiner(ss_M, ss_X, ct_X, pk_X) (draft §5.3); the caller wipes the secrets */
function combiner (ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  const input = concat(ssM, ssX, ctX, pkX, XWING_LABEL)
  try {
    return sha3256(input)
  } finally {
    input.fill(0)
  }
}

/**
 * EncapsulateDerand(pk, eseed) (draft §5.4.1): `eseed[0:32]` is ML-KEM's
 * `m`, `eseed[32:64]` the X25519 ephemeral secret. For known-answer tests
 * only; `encap` calls it with fresh randomness. `eseed` is not wiped.
 */
export function encapDerand (provider: CryptoProvider, publicKey: KemPublicKey, eseed: Uint8Array): Encapsulation {
  const pk = asPublicKey(publicKey)
  checkBytes(eseed, ESEED_LENGTH, 'X-Wing eseed')
  let ekX: DhPrivateKey | undefined
  let ssX: Uint8Array | undefined
  let ssM: Uint8Array | undefined
  try {
    ekX = provider.x25519FromSecret(eseed.subarray(32, ESEED_LENGTH))
    const ctX = ekX.publicKey
    const dh = ekX
    ssX = step(() => provider.x25519(dh, pk.dhX), HpkeEncapError, 'X25519')
    // throws when pk_M fails the FIPS 203 §7.2 encapsulation key check (draft §5.6: an EncapError)
    const mlkem = step(() => mlKem768.encapsulate(pk.pkM, eseed.subarray(0, 32)), HpkeEncapError, 'ML-KEM-768 encapsulation')
    ssM = mlkem.sharedSecret
    const enc = new Uint8Array(N_ENC)
    enc.set(mlkem.cipherText)
    enc.set(ctX, CT_M_LENGTH)
    return { sharedSecret: combiner(ssM, ssX, ctX, pk.pkX), enc }
  } finally {
    ssX?.fill(0)
    ssM?.fill(0)
    ekX?.destroy()
  }
}

/**
 * Wrap a 64-byte `eseed` as the `ephemeral` of `encap` / `setupBaseS`, for
 * known-answer tests. Internal: not exported from the package. The seed is
 * copied; `destroy()` wipes the copy.
 */
export function xwingEncapsulationSeed (eseed: Uint8Array): KemPrivateKey {
  checkBytes(eseed, ESEED_LENGTH, 'X-Wing eseed')
  return new XWingEncapsulationSeed(Uint8Array.from(eseed))
}

export const xwing: Kem = {
  ...xwingInfo,

  /** GenerateKeyPair() = GenerateKeyPairDerand(random(32)) (draft §5.2) */
  generateKeyPair (provider) {
    const seed = provider.randomBytes(N_SEED)
    try {
      return keyPairFromSeed(provider, seed)
    } finally {
      seed.fill(0)
    }
  },

  /** DeriveKeyPair(ikm) = GenerateKeyPairDerand(SHAKE256(ikm, 32)) (draft §5.6) */
  deriveKeyPair (provider, ikm) {
    if (!(ikm instanceof Uint8Array) || ikm.byteLength < N_SEED) {
      // draft §5.6: ikm SHOULD be at least 32 bytes; held to it like DHKEM's Nsk
      throw new HpkeInvalidInputError(`DeriveKeyPair ikm must be at least ${N_SEED} bytes`)
    }
    const seed = shake256(ikm, { dkLen: N_SEED })
    try {
      return keyPairFromSeed(provider, seed)
    } finally {
      seed.fill(0)
    }
  },

  /** DeserializePrivateKey is the identity on the 32-byte seed (draft §5.6) */
  importPrivateKey (provider, secret) {
    checkBytes(secret, N_SEED, 'X-Wing private key')
    return keyPairFromSeed(provider, secret)
  },

  /** DeserializePublicKey (x-wing-public.ts: needs no ML-KEM, so configs import before this module loads) */
  importPublicKey: importXWingPublicKey,

  /** The FIPS 203 §7.2 and X25519 checks (x-wing-public.ts) */
  validatePublicKey: validateXWingPublicKey,

  /**
   * Encap(pk) = EncapsulateDerand(pk, random(64)) (draft §5.4). `ephemeral`
   * must come from `xwingEncapsulationSeed` (known-answer tests); a fresh
   * seed is wiped before returning.
   */
  encap (provider, publicKey, ephemeral?) {
    if (ephemeral != null) {
      if (!(ephemeral instanceof XWingEncapsulationSeed)) {
        throw new HpkeInvalidInputError('the X-Wing ephemeral must be an encapsulation seed')
      }
      return encapDerand(provider, publicKey, ephemeral.eseed)
    }
    asPublicKey(publicKey)
    const eseed = provider.randomBytes(ESEED_LENGTH)
    try {
      return encapDerand(provider, publicKey, eseed)
    } finally {
      eseed.fill(0)
    }
  },

  /** Decap(enc, sk) = Decapsulate(ct, sk) (draft §5.5) with the cached expansion */
  decap (provider, enc, privateKey) {
    checkBytes(enc, N_ENC, 'X-Wing enc')
    const { skM, skX, pkX } = asPrivateKey(privateKey).expanded
    const ctX = enc.subarray(CT_M_LENGTH)
    let ssM: Uint8Array | undefined
    let ssX: Uint8Array | undefined
    try {
      // ML-KEM rejects implicitly: a wrong ct_M gives a pseudorandom ss_M, not an error
      ssM = step(() => mlKem768.decapsulate(enc.subarray(0, CT_M_LENGTH), skM), HpkeDecapError, 'ML-KEM-768 decapsulation')
      ssX = step(() => provider.x25519(skX, ctX), HpkeDecapError, 'X25519')
      return combiner(ssM, ssX, ctX, pkX)
    } finally {
      ssM?.fill(0)
      ssX?.fill(0)
    }
  }
}
