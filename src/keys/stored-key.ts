/**
 * The datastore record of one ECH key. Binary rather than PEM because PKCS#8
 * is defined only for X25519 here, while this form holds any KEM's RFC 9180
 * `SerializePrivateKey` output, and because it keeps the creation time.
 *
 * ```
 * struct {
 *   uint8  version = 1;
 *   uint64 created_at;                 // ms since the Unix epoch
 *   opaque private_key<1..2^16-1>;     // RFC 9180 SerializePrivateKey
 *   ECHConfigList config_list;         // RFC 9849 §4 wire form: exactly one config
 * } StoredEchKey;
 * ```
 *
 * Datastore contents are untrusted input: every field is checked and the
 * private key must match the config's public key.
 */
import { parseEchConfigList } from '../config/codec.js'
import { defaultProvider } from '../crypto/default.js'
import { EchKeyDecodeError } from './errors.js'
import { echKeyFromSecret } from './generate.js'
import type { EchKey } from './generate.js'
import type { CryptoProvider } from '../crypto/provider.js'

const VERSION = 1
const HEADER = 1 + 8 + 2

/** The stored form of `key`, private key included: a secret */
export function encodeStoredEchKey (key: EchKey): Uint8Array {
  const secret = key.privateKey.exportSecret()
  try {
    const out = new Uint8Array(HEADER + secret.byteLength + key.configList.byteLength)
    const view = new DataView(out.buffer)
    out[0] = VERSION
    view.setBigUint64(1, BigInt(key.createdAt))
    view.setUint16(9, secret.byteLength)
    out.set(secret, HEADER)
    out.set(key.configList, HEADER + secret.byteLength)
    return out
  } finally {
    secret.fill(0)
  }
}

/** Read a stored key back; throws EchKeyDecodeError on anything unexpected */
export function decodeStoredEchKey (bytes: Uint8Array, provider: CryptoProvider = defaultProvider): EchKey {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < HEADER) {
    throw new EchKeyDecodeError('Stored ECH key is truncated')
  }
  if (bytes[0] !== VERSION) {
    throw new EchKeyDecodeError(`Unknown stored ECH key version ${bytes[0]}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const createdAt = Number(view.getBigUint64(1))
  if (!Number.isSafeInteger(createdAt)) {
    throw new EchKeyDecodeError('Stored ECH key has an invalid creation time')
  }
  const secretLength = view.getUint16(9)
  if (secretLength === 0 || HEADER + secretLength > bytes.byteLength) {
    throw new EchKeyDecodeError('Stored ECH key has a bad private key length')
  }
  let configs
  try {
    configs = parseEchConfigList(bytes.subarray(HEADER + secretLength))
  } catch (err) {
    throw new EchKeyDecodeError('Stored ECH key has a malformed ECHConfigList', { cause: err })
  }
  if (configs.entries.length !== 1 || configs.usable.length !== 1) {
    throw new EchKeyDecodeError('Stored ECH key must hold exactly one usable ECHConfig')
  }
  const secret = bytes.slice(HEADER, HEADER + secretLength)
  try {
    return echKeyFromSecret(configs.usable[0], secret, createdAt, provider)
  } finally {
    secret.fill(0)
  }
}
