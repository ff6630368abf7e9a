/**
 * ECH keys as PEM files (draft-farrell-tls-pemesni): a PKCS#8 `PRIVATE KEY`
 * block (RFC 8410 for X25519) and an `ECHCONFIG` block, the format OpenSSL,
 * nginx and haproxy read. PKCS#8 is only defined for the X25519 KEM here.
 */
import { parseEchPem, encodeEchPem } from '../config/pem.js'
import { x25519PrivateKeyToPkcs8 } from '../config/pkcs8.js'
import { KEM_ID } from '../hpke/kem.js'
import { nodeProvider } from '../hpke/provider-node.js'
import { getKem } from '../hpke/registry.js'
import { EchKeyDecodeError, EchUnsupportedKemError } from './errors.js'
import { createEchKey } from './generate.js'
import type { EchKey } from './generate.js'
import type { EchPem } from '../config/pem.js'
import type { KemPrivateKey } from '../hpke/kem.js'
import type { CryptoProvider } from '../hpke/provider.js'

/**
 * The PEM text of `key`, private key included. This is one of the two ways
 * a private key leaves an `EchKey`; treat the result as a secret.
 */
export function echKeyToPem (key: EchKey): string {
  if (key.config.kemId !== KEM_ID.DHKEM_X25519_HKDF_SHA256) {
    throw new EchUnsupportedKemError('PEM export is defined for DHKEM(X25519) keys only')
  }
  const secret = key.privateKey.exportSecret()
  let pkcs8: Uint8Array | undefined
  try {
    pkcs8 = x25519PrivateKeyToPkcs8(secret)
    return encodeEchPem({ privateKeyPkcs8: pkcs8, configList: key.configList })
  } finally {
    secret.fill(0)
    pkcs8?.fill(0)
  }
}

export interface EchKeyFromPemOptions {
  /** PEM files carry no creation time; default `Date.now()` */
  createdAt?: number
  provider?: CryptoProvider
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}

/**
 * Read an ECH key from PEM text. The file's ECHCONFIG block may list several
 * configs; the key's config is the usable one whose public_key belongs to the
 * PRIVATE KEY block.
 */
export function echKeyFromPem (text: string, options: EchKeyFromPemOptions = {}): EchKey {
  let pem: EchPem
  try {
    pem = parseEchPem(text)
  } catch (err) {
    throw new EchKeyDecodeError('Malformed ECH PEM file', { cause: err })
  }
  if (pem.privateKey == null) {
    throw new EchKeyDecodeError(pem.privateKeyPkcs8 == null ? 'PEM file has no PRIVATE KEY block' : 'PEM private key is not an X25519 key')
  }
  const kem = getKem(KEM_ID.DHKEM_X25519_HKDF_SHA256)
  /* c8 ignore next 3 - x25519 is always registered */
  if (kem == null) {
    throw new EchUnsupportedKemError()
  }
  let privateKey: KemPrivateKey
  try {
    privateKey = kem.importPrivateKey(options.provider ?? nodeProvider, pem.privateKey)
  } catch (err) {
    throw new EchKeyDecodeError('Invalid X25519 private key', { cause: err })
  } finally {
    pem.privateKey.fill(0)
    pem.privateKeyPkcs8?.fill(0)
  }
  const config = pem.parsed.usable.find(c => c.kemId === kem.id && bytesEqual(c.publicKey, privateKey.publicKey))
  if (config == null) {
    privateKey.destroy()
    throw new EchKeyDecodeError('No usable ECHConfig in the file matches its private key')
  }
  return createEchKey(config, privateKey, options.createdAt ?? Date.now())
}
