/**
 * ECH keys as PEM files (draft-farrell-tls-pemesni): a PKCS#8 `PRIVATE KEY`
 * block (RFC 8410 for X25519) and an `ECHCONFIG` block, the format OpenSSL,
 * nginx and haproxy read. PKCS#8 is defined for two KEMs here: X25519 and
 * X-Wing (draft-connolly-cfrg-xwing-kem §5.8.2: OID 1.3.6.1.4.1.62253.25722,
 * the 32-byte seed as privateKey). Tools without X-Wing see an unknown key
 * algorithm in such a file.
 */
import { parseEchPem, encodeEchPem } from '../config/pem.js'
import { OID_XWING, pkcs8ToXWingPrivateKey, x25519PrivateKeyToPkcs8, xwingPrivateKeyToPkcs8 } from '../config/pkcs8.js'
import { equalBytes } from '../crypto/bytes.js'
import { defaultProvider } from '../crypto/default.js'
import { KEM_ID } from '../hpke/kem.js'
import { getKem, loadKem, requireKemLoaded } from '../hpke/registry.js'
import { EchKeyDecodeError, EchUnsupportedKemError } from './errors.js'
import { createEchKey } from './generate.js'
import type { EchKey } from './generate.js'
import type { EchPem } from '../config/pem.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { KemPrivateKey } from '../hpke/kem.js'

/** PKCS#8 encoders of the serialized private key (RFC 9180 SerializePrivateKey), by KEM id */
const PKCS8_ENCODERS = new Map<number, (secret: Uint8Array) => Uint8Array>([
  [KEM_ID.DHKEM_X25519_HKDF_SHA256, x25519PrivateKeyToPkcs8],
  [KEM_ID.X_WING, xwingPrivateKeyToPkcs8]
])

/**
 * The PEM text of `key`, private key included. This is one of the two ways
 * a private key leaves an `EchKey`; treat the result as a secret.
 */
export function echKeyToPem (key: EchKey): string {
  const toPkcs8 = PKCS8_ENCODERS.get(key.config.kemId)
  if (toPkcs8 == null) {
    throw new EchUnsupportedKemError('PEM export is defined for DHKEM(X25519) and X-Wing keys only')
  }
  if (key.privateKey.kemId !== key.config.kemId) {
    throw new EchKeyDecodeError('Private key does not belong to the ECHConfig KEM')
  }
  const secret = key.privateKey.exportSecret()
  let pkcs8: Uint8Array | undefined
  try {
    pkcs8 = toPkcs8(secret)
    return encodeEchPem({ privateKeyPkcs8: pkcs8, configList: key.configList })
  } finally {
    secret.fill(0)
    pkcs8?.fill(0)
  }
}

/** Options of `echKeyFromPem` */
export interface EchKeyFromPemOptions {
  /** PEM files carry no creation time; default `Date.now()` */
  createdAt?: number
  /** Crypto backend to import the key with (default: the platform's, `node:crypto` on Node) */
  provider?: CryptoProvider
}

/** The KEM and serialized private key of the PRIVATE KEY block; the caller wipes `secret` */
function pemPrivateKey (pem: EchPem): { kemId: number, secret: Uint8Array } {
  if (pem.privateKeyPkcs8 == null) {
    throw new EchKeyDecodeError('PEM file has no PRIVATE KEY block')
  }
  if (pem.privateKey != null) {
    // parseEchPem decodes X25519 keys itself
    return { kemId: KEM_ID.DHKEM_X25519_HKDF_SHA256, secret: pem.privateKey }
  }
  if (pem.privateKeyAlgorithm === OID_XWING) {
    try {
      return { kemId: KEM_ID.X_WING, secret: pkcs8ToXWingPrivateKey(pem.privateKeyPkcs8) }
    } catch (err) {
      pem.privateKeyPkcs8.fill(0)
      throw new EchKeyDecodeError('Invalid X-Wing private key', { cause: err })
    }
  }
  pem.privateKeyPkcs8.fill(0)
  throw new EchKeyDecodeError('PEM private key is not an X25519 or X-Wing key')
}

/**
 * Read an ECH key from PEM text. The file's ECHCONFIG block may list several
 * configs; the key's config is the usable one whose public_key belongs to the
 * PRIVATE KEY block. Synchronous: an X-Wing key needs `loadEchKeyFromPem` or
 * `await loadKem('x-wing')` first (`HpkeKemNotLoadedError` otherwise).
 */
export function echKeyFromPem (text: string, options: EchKeyFromPemOptions = {}): EchKey {
  return keyFromPem(parsePem(text), options)
}

/**
 * `echKeyFromPem` after loading the key's KEM: X-Wing's implementation is
 * imported on first use (`loadKem`), which the synchronous reader cannot do
 */
export async function loadEchKeyFromPem (text: string, options: EchKeyFromPemOptions = {}): Promise<EchKey> {
  const pem = parsePem(text)
  if (pem.privateKey == null && pem.privateKeyAlgorithm === OID_XWING) {
    try {
      await loadKem(KEM_ID.X_WING)
    } catch (err) {
      pem.privateKeyPkcs8?.fill(0)
      throw err
    }
  }
  return keyFromPem(pem, options)
}

function parsePem (text: string): EchPem {
  try {
    return parseEchPem(text)
  } catch (err) {
    throw new EchKeyDecodeError('Malformed ECH PEM file', { cause: err })
  }
}

function keyFromPem (pem: EchPem, options: EchKeyFromPemOptions): EchKey {
  const { kemId, secret } = pemPrivateKey(pem)
  const kem = getKem(kemId)
  /* c8 ignore next 3 - x25519 and x-wing are always registered */
  if (kem == null) {
    throw new EchUnsupportedKemError()
  }
  try {
    // a KEM loaded on first use (X-Wing) must be loaded first: a sequencing error, not bad input
    requireKemLoaded(kem)
  } catch (err) {
    secret.fill(0)
    pem.privateKeyPkcs8?.fill(0)
    throw err
  }
  let privateKey: KemPrivateKey
  try {
    privateKey = kem.importPrivateKey(options.provider ?? defaultProvider, secret)
  } catch (err) {
    throw new EchKeyDecodeError(`Invalid ${kem.name} private key`, { cause: err })
  } finally {
    secret.fill(0)
    pem.privateKeyPkcs8?.fill(0)
  }
  const config = pem.parsed.usable.find(c => c.kemId === kem.id && equalBytes(c.publicKey, privateKey.publicKey))
  if (config == null) {
    privateKey.destroy()
    throw new EchKeyDecodeError('No usable ECHConfig in the file matches its private key')
  }
  return createEchKey(config, privateKey, options.createdAt ?? Date.now())
}
