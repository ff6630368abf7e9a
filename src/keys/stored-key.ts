/**
 * The datastore record of one ECH key. Binary rather than PEM because PKCS#8
 * is defined only for X25519 here, while this form holds any KEM's RFC 9180
 * `SerializePrivateKey` output, and because it keeps the creation time.
 *
 * ```
 * struct {
 *   uint8  version;                    // 1, or 2 with expires_at
 *   uint64 created_at;                 // ms since the Unix epoch
 *   uint64 expires_at;                 // version 2 only: ms; when this retired key stops being accepted
 *   opaque private_key<1..2^16-1>;     // RFC 9180 SerializePrivateKey
 *   ECHConfigList config_list;         // RFC 9849 §4 wire form: exactly one config
 * } StoredEchKey;
 * ```
 *
 * Version 2 is written only for a retired key whose expiry was set by
 * `rotate({ gracePeriod })`; every other key is written as version 1, its
 * expiry derived from the configured grace period as before, so a node
 * rolled back to a version that reads only version 1 keeps its keys.
 *
 * Datastore contents are untrusted input: every field is checked and the
 * private key must match the config's public key.
 */
import { parseEchConfigList } from '../config/codec.js'
import { defaultProvider } from '../crypto/default.js'
import { getKem, loadKem } from '../hpke/registry.js'
import { EchKeyDecodeError, EchKeyOptionsError } from './errors.js'
import { echKeyFromSecret } from './generate.js'
import type { EchKey } from './generate.js'
import type { EchConfig } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'

const VERSION_1 = 1
const VERSION_2 = 2

/** A stored key and, for version 2, its expiry */
export interface StoredEchKeyRecord {
  /** The key as it was stored */
  key: EchKey
  /** When the key stops being accepted, ms since the epoch (version 2 only) */
  expiresAt?: number
}

/**
 * The stored form of `key`, private key included: a secret. With
 * `expiresAt` (a retired key's explicit expiry, ms) it is version 2.
 */
export function encodeStoredEchKey (key: EchKey, options: { expiresAt?: number } = {}): Uint8Array {
  const { expiresAt } = options
  // every field is checked before it is written: a uint64 or uint16 must not wrap
  for (const [name, ms] of [['createdAt', key.createdAt], ['expiresAt', expiresAt ?? 0]] as const) {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new EchKeyOptionsError(`${name} must be a non-negative integer of ms`)
    }
  }
  const header = expiresAt == null ? 1 + 8 + 2 : 1 + 8 + 8 + 2
  const secret = key.privateKey.exportSecret()
  try {
    if (secret.byteLength < 1 || secret.byteLength > 0xffff) {
      throw new EchKeyOptionsError(`private key of ${secret.byteLength} bytes does not fit private_key<1..2^16-1>`)
    }
    const out = new Uint8Array(header + secret.byteLength + key.configList.byteLength)
    const view = new DataView(out.buffer)
    out[0] = expiresAt == null ? VERSION_1 : VERSION_2
    view.setBigUint64(1, BigInt(key.createdAt))
    if (expiresAt != null) { view.setBigUint64(9, BigInt(expiresAt)) }
    view.setUint16(header - 2, secret.byteLength)
    out.set(secret, header)
    out.set(key.configList, header + secret.byteLength)
    return out
  } finally {
    secret.fill(0)
  }
}

function readTime (view: DataView, offset: number, field: string): number {
  const ms = Number(view.getBigUint64(offset))
  if (!Number.isSafeInteger(ms)) {
    throw new EchKeyDecodeError(`Stored ECH key has an invalid ${field}`)
  }
  return ms
}

/** The one usable ECHConfig of a stored key's config list */
function readOneConfig (list: Uint8Array): EchConfig {
  let configs
  try {
    configs = parseEchConfigList(list)
  } catch (err) {
    throw new EchKeyDecodeError('Stored ECH key has a malformed ECHConfigList', { cause: err })
  }
  if (configs.entries.length !== 1 || configs.usable.length !== 1) {
    throw new EchKeyDecodeError('Stored ECH key must hold exactly one usable ECHConfig')
  }
  return configs.usable[0]
}

interface StoredFields {
  createdAt: number
  expiresAt?: number
  config: EchConfig
  secretStart: number
  secretEnd: number
}

/** The checked fields of a stored key, the private key left in place */
function readStoredFields (bytes: Uint8Array): StoredFields {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 1) {
    throw new EchKeyDecodeError('Stored ECH key is truncated')
  }
  if (bytes[0] !== VERSION_1 && bytes[0] !== VERSION_2) {
    throw new EchKeyDecodeError(`Unknown stored ECH key version ${bytes[0]}`)
  }
  const header = bytes[0] === VERSION_1 ? 1 + 8 + 2 : 1 + 8 + 8 + 2
  if (bytes.byteLength < header) {
    throw new EchKeyDecodeError('Stored ECH key is truncated')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const createdAt = readTime(view, 1, 'creation time')
  const expiresAt = bytes[0] === VERSION_2 ? readTime(view, 9, 'expiry') : undefined
  const secretLength = view.getUint16(header - 2)
  if (secretLength === 0 || header + secretLength > bytes.byteLength) {
    throw new EchKeyDecodeError('Stored ECH key has a bad private key length')
  }
  const config = readOneConfig(bytes.subarray(header + secretLength))
  return { createdAt, expiresAt, config, secretStart: header, secretEnd: header + secretLength }
}

/**
 * Read a stored key (version 1 or 2) back with its expiry; throws
 * EchKeyDecodeError on anything unexpected. Synchronous: an X-Wing key needs
 * `loadStoredEchKeyRecord` or `await loadKem('x-wing')` first.
 */
export function decodeStoredEchKeyRecord (bytes: Uint8Array, provider: CryptoProvider = defaultProvider): StoredEchKeyRecord {
  const { createdAt, expiresAt, config, secretStart, secretEnd } = readStoredFields(bytes)
  const secret = bytes.slice(secretStart, secretEnd)
  try {
    const key = echKeyFromSecret(config, secret, createdAt, provider)
    return expiresAt == null ? { key } : { key, expiresAt }
  } finally {
    secret.fill(0)
  }
}

/**
 * `decodeStoredEchKeyRecord` after loading the key's KEM (X-Wing's
 * implementation is imported on first use, `loadKem`)
 */
export async function loadStoredEchKeyRecord (bytes: Uint8Array, provider: CryptoProvider = defaultProvider): Promise<StoredEchKeyRecord> {
  const { config } = readStoredFields(bytes)
  if (getKem(config.kemId) != null) {
    await loadKem(config.kemId)
  }
  return decodeStoredEchKeyRecord(bytes, provider)
}

/** Read a stored key back; throws EchKeyDecodeError on anything unexpected */
export function decodeStoredEchKey (bytes: Uint8Array, provider: CryptoProvider = defaultProvider): EchKey {
  return decodeStoredEchKeyRecord(bytes, provider).key
}
