/**
 * ECH key generation: an HPKE KEM key pair (RFC 9180 §4) and the ECHConfig
 * (RFC 9849 §4) that publishes its public half.
 */
import { encodeEchConfigList } from '../config/codec.js'
import { createEchConfig } from '../config/create.js'
import { equalBytes } from '../crypto/bytes.js'
import { defaultProvider } from '../crypto/default.js'
import { AEAD_ID, KDF_ID } from '../hpke/kem.js'
import { getKem, getKemByName, importKem, requireKemLoaded } from '../hpke/registry.js'
import { EchConfigIdExhaustedError, EchKeyDecodeError, EchKeyOptionsError, EchUnsupportedKemError } from './errors.js'
import type { EchConfig, HpkeSymmetricCipherSuite } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Kem, KemPrivateKey } from '../hpke/kem.js'

/**
 * The default `public_name`. In TLS it is the outer SNI a client-facing
 * server answers for; libp2p has no outer SNI, so the name carries no meaning
 * here. `.invalid` is reserved never to resolve (RFC 6761 §6.4) while still
 * being a valid LDH name that ECH clients accept (RFC 9849 §6.1.7).
 */
export const DEFAULT_PUBLIC_NAME = 'libp2p.invalid'

/** The default KEM: DHKEM(X25519, HKDF-SHA256), 0x0020 */
export const DEFAULT_KEM = 'x25519'

/**
 * HKDF-SHA256 with AES-128-GCM is mandatory to implement (RFC 9849 §9);
 * ChaCha20-Poly1305 is offered too for hosts without AES hardware.
 */
export const DEFAULT_CIPHER_SUITES: readonly HpkeSymmetricCipherSuite[] = Object.freeze([
  Object.freeze({ kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.AES_128_GCM }),
  Object.freeze({ kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.CHACHA20_POLY1305 })
])

/**
 * A responder's ECH key: the KEM private key and its ECHConfig. The private
 * key leaves this object only through `echKeyToPem` or the key manager's
 * datastore record, both explicit.
 */
export interface EchKey {
  /** The key's ECHConfig (public) */
  readonly config: EchConfig
  /** An ECHConfigList (RFC 9849 §4, with its u16 length) holding just `config` */
  readonly configList: Uint8Array
  /** The KEM private key (secret; `privateKey.destroy()` wipes it) */
  readonly privateKey: KemPrivateKey
  /** When the key was made, in ms since the epoch */
  readonly createdAt: number
}

/** Options of `generateEchKey` */
export interface GenerateEchKeyOptions {
  /** ECHConfig public_name (default `libp2p.invalid`) */
  publicName?: string
  /** KEM short name from the HPKE registry (default `x25519`) */
  kem?: string
  /** Fixed config id 0..255; random by default */
  configId?: number
  /**
   * KDF/AEAD pairs to offer, in order of preference (default `DEFAULT_CIPHER_SUITES`: HKDF-SHA256
   * with AES-128-GCM, then ChaCha20Poly1305)
   */
  cipherSuites?: readonly HpkeSymmetricCipherSuite[]
  /** ECHConfig maximum_name_length (default 0: no names to hide in libp2p) */
  maximumNameLength?: number
  /** Crypto backend (default: the platform's, `node:crypto` on Node) */
  provider?: CryptoProvider
  /** Config ids already in use (e.g. the live keys'); a random id avoids them */
  avoidConfigIds?: Iterable<number>
  /** Creation time in ms (default `Date.now()`) */
  createdAt?: number
}

function isByte (n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255
}

/**
 * A uniformly random config id not in `avoid`. RFC 9849 §4 asks for random
 * ids so they do not single out a server; we draw from the free ids with
 * rejection sampling so the choice stays unbiased.
 */
export function randomConfigId (provider: CryptoProvider, avoid: Iterable<number> = []): number {
  const taken = new Set(avoid)
  const free: number[] = []
  for (let id = 0; id < 256; id++) {
    if (!taken.has(id)) { free.push(id) }
  }
  if (free.length === 0) {
    throw new EchConfigIdExhaustedError()
  }
  // the largest multiple of free.length that fits in a byte bounds the draw
  const limit = 256 - (256 % free.length)
  for (;;) {
    const [byte] = provider.randomBytes(1)
    if (byte < limit) {
      return free[byte % free.length]
    }
  }
}

function resolveKem (name: string): Kem {
  const kem = getKemByName(name)
  if (kem == null) {
    throw new EchUnsupportedKemError(`Unsupported HPKE KEM "${name}"`)
  }
  return kem
}

/** Build the `EchKey` object for a key pair and its config */
export function createEchKey (config: EchConfig, privateKey: KemPrivateKey, createdAt: number): EchKey {
  return Object.freeze({
    config,
    configList: encodeEchConfigList([config]),
    privateKey,
    createdAt
  })
}

/** The KEM of a config, or throws when this package does not implement it */
export function kemForConfig (config: EchConfig): Kem {
  const kem = getKem(config.kemId)
  if (kem == null) {
    throw new EchUnsupportedKemError(`Unsupported HPKE KEM 0x${config.kemId.toString(16).padStart(4, '0')}`)
  }
  return kem
}

/**
 * Options that make a key like `config`: its KEM, public name, suites and
 * maximum name length (a rotation keeps them, so an X-Wing node does not
 * drop to X25519 by rotating); none when its KEM is not implemented here
 */
export function optionsLike (config: EchConfig): Partial<GenerateEchKeyOptions> {
  const kem = getKem(config.kemId)
  if (kem == null) { return {} }
  return {
    kem: kem.name,
    publicName: config.publicName,
    cipherSuites: config.cipherSuites,
    maximumNameLength: config.maximumNameLength
  }
}

/** Make a fresh ECH key and its ECHConfig */
export async function generateEchKey (options: GenerateEchKeyOptions = {}): Promise<EchKey> {
  const provider = options.provider ?? defaultProvider
  // X-Wing's implementation is imported on first use (hpke/registry.ts)
  const kem = await importKem(resolveKem(options.kem ?? DEFAULT_KEM).id)
  const avoid = new Set(options.avoidConfigIds ?? [])
  let configId: number
  if (options.configId != null) {
    if (!isByte(options.configId)) {
      throw new EchKeyOptionsError('configId must be an integer 0..255')
    }
    if (avoid.has(options.configId)) {
      throw new EchKeyOptionsError(`configId ${options.configId} is already in use`)
    }
    configId = options.configId
  } else {
    configId = randomConfigId(provider, avoid)
  }
  const maximumNameLength = options.maximumNameLength ?? 0
  if (!isByte(maximumNameLength)) {
    throw new EchKeyOptionsError('maximumNameLength must be an integer 0..255')
  }

  const privateKey = kem.generateKeyPair(provider)
  try {
    const config = createEchConfig({
      configId,
      kemId: kem.id,
      publicKey: privateKey.publicKey,
      cipherSuites: [...(options.cipherSuites ?? DEFAULT_CIPHER_SUITES)],
      maximumNameLength,
      publicName: options.publicName ?? DEFAULT_PUBLIC_NAME
    })
    return createEchKey(config, privateKey, options.createdAt ?? Date.now())
  } catch (err) {
    privateKey.destroy()
    throw err
  }
}

/**
 * Rebuild an `EchKey` from a config and its serialized private key (RFC 9180
 * `SerializePrivateKey`), as read back from a PEM file or the datastore.
 * Such input is untrusted: the key must belong to a KEM we implement and its
 * public half must be the config's `public_key`. Synchronous: an X-Wing key
 * needs `await loadKem('x-wing')` first (`HpkeKemNotLoadedError` otherwise).
 */
export function echKeyFromSecret (config: EchConfig, secret: Uint8Array, createdAt: number, provider: CryptoProvider = defaultProvider): EchKey {
  let kem: Kem
  try {
    kem = kemForConfig(config)
  } catch (err) {
    throw new EchKeyDecodeError('Key uses an unsupported KEM', { cause: err })
  }
  // a KEM loaded on first use (X-Wing) must be loaded first: a sequencing error, not bad input
  requireKemLoaded(kem)
  let privateKey: KemPrivateKey
  try {
    privateKey = kem.importPrivateKey(provider, secret)
  } catch (err) {
    throw new EchKeyDecodeError('Invalid private key', { cause: err })
  }
  if (!equalBytes(privateKey.publicKey, config.publicKey)) {
    privateKey.destroy()
    throw new EchKeyDecodeError('Private key does not match the ECHConfig public_key')
  }
  return createEchKey(config, privateKey, createdAt)
}
