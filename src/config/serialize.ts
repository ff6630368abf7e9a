/**
 * ECHConfig serialization (RFC 9849 §4). `checkWireFields` enforces only
 * what the wire format can express (integer ranges, vector bounds, unique
 * extension types), so every config the parser accepts re-encodes to its
 * exact `raw` bytes, usable or not.
 */
import { EchConfigError } from './errors.js'
import { MAX_PUBLIC_NAME_LENGTH } from './public-name.js'
import { ECH_CONFIG_VERSION } from './types.js'
import type { EchConfigExtension, HpkeSymmetricCipherSuite } from './types.js'

const U16_MAX = 0xffff

/** The fields an ECHConfig is built from, as `createEchConfig` takes them */
export interface EchConfigFields {
  /** `config_id`, 0..255 */
  configId: number
  /** HPKE KEM id (RFC 9180 §7.1), e.g. `0x0020` DHKEM(X25519), `0x647a` X-Wing */
  kemId: number
  /** The KEM public key (RFC 9180 SerializePublicKey) */
  publicKey: Uint8Array
  /** The KDF/AEAD pairs the initiator may use, in order of preference (at least one) */
  cipherSuites: readonly HpkeSymmetricCipherSuite[]
  /** `maximum_name_length`, 0..255 (default 0) */
  maximumNameLength?: number
  /**
   * `public_name`: a valid DNS name (RFC 9849 §4); meaningless to libp2p but required by the format
   */
  publicName: string
  /** ECHConfig extensions (default none) */
  extensions?: readonly EchConfigExtension[]
}

function isUint (value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max
}

function checkUint (value: unknown, max: number, field: string): void {
  if (!isUint(value, max)) {
    throw new EchConfigError(field, `${field} must be an integer in 0..${max}`)
  }
}

function checkBytes (value: unknown, min: number, max: number, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    throw new EchConfigError(field, `${field} must be ${min}..${max} bytes`)
  }
}

/** public_name as wire bytes, one byte per character (see public-name.ts) */
export function publicNameBytes (name: unknown): Uint8Array {
  if (typeof name !== 'string' || name.length < 1 || name.length > MAX_PUBLIC_NAME_LENGTH) {
    throw new EchConfigError('public_name', `public_name must be 1..${MAX_PUBLIC_NAME_LENGTH} characters`)
  }
  const out = new Uint8Array(name.length)
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code > 0xff) {
      throw new EchConfigError('public_name', 'public_name must be ASCII')
    }
    out[i] = code
  }
  return out
}

/** public_name wire bytes as a string, one character per byte */
export function publicNameFromBytes (bytes: Uint8Array): string {
  return String.fromCharCode(...bytes)
}

/** Throws EchConfigError naming the first field the wire format cannot carry */
export function checkWireFields (fields: EchConfigFields): void {
  checkUint(fields.configId, 0xff, 'config_id')
  checkUint(fields.kemId, U16_MAX, 'kem_id')
  checkBytes(fields.publicKey, 1, U16_MAX, 'public_key')
  checkCipherSuites(fields.cipherSuites)
  checkUint(fields.maximumNameLength ?? 0, 0xff, 'maximum_name_length')
  publicNameBytes(fields.publicName)
  checkExtensions(fields.extensions ?? [])
}

function checkCipherSuites (suites: unknown): void {
  // cipher_suites<4..2^16-4>: one to 16383 suites
  if (!Array.isArray(suites) || suites.length < 1 || suites.length * 4 > U16_MAX - 3) {
    throw new EchConfigError('cipher_suites', 'cipher_suites must hold 1..16383 suites')
  }
  for (const suite of suites as HpkeSymmetricCipherSuite[]) {
    if (suite == null || !isUint(suite.kdfId, U16_MAX) || !isUint(suite.aeadId, U16_MAX)) {
      throw new EchConfigError('cipher_suites', 'cipher suite ids must be integers in 0..65535')
    }
  }
}

function checkExtensions (extensions: unknown): void {
  if (!Array.isArray(extensions)) {
    throw new EchConfigError('extensions', 'extensions must be an array')
  }
  const seen = new Set<number>()
  let total = 0
  for (const ext of extensions as EchConfigExtension[]) {
    checkUint(ext?.type, U16_MAX, 'extension.type')
    checkBytes(ext.data, 0, U16_MAX, 'extension.data')
    // RFC 9849 §4.2 (as RFC 8446 §4.2): one extension of each type
    if (seen.has(ext.type)) {
      throw new EchConfigError('extensions', `duplicate extension type 0x${ext.type.toString(16)}`)
    }
    seen.add(ext.type)
    total += 4 + ext.data.length
  }
  if (total > U16_MAX) {
    throw new EchConfigError('extensions', 'extensions exceed 65535 bytes')
  }
}

/** The whole ECHConfig (version, length, contents); call `checkWireFields` first */
export function serializeEchConfig (fields: EchConfigFields): Uint8Array {
  const name = publicNameBytes(fields.publicName)
  const extensions = fields.extensions ?? []
  const extLength = extensions.reduce((sum, ext) => sum + 4 + ext.data.length, 0)
  const contentLength = 1 + 2 + 2 + fields.publicKey.length + 2 + 4 * fields.cipherSuites.length +
    1 + 1 + name.length + 2 + extLength
  if (contentLength > U16_MAX) {
    throw new EchConfigError('ECHConfig.length', 'ECHConfigContents exceed 65535 bytes')
  }
  const out = new Uint8Array(4 + contentLength)
  const view = new DataView(out.buffer)
  let o = 0
  const u8 = (v: number): void => { out[o++] = v }
  const u16 = (v: number): void => { view.setUint16(o, v); o += 2 }
  const put = (bytes: Uint8Array): void => { out.set(bytes, o); o += bytes.length }

  u16(ECH_CONFIG_VERSION)
  u16(contentLength)
  u8(fields.configId)
  u16(fields.kemId)
  u16(fields.publicKey.length)
  put(fields.publicKey)
  u16(4 * fields.cipherSuites.length)
  for (const suite of fields.cipherSuites) {
    u16(suite.kdfId)
    u16(suite.aeadId)
  }
  u8(fields.maximumNameLength ?? 0)
  u8(name.length)
  put(name)
  u16(extLength)
  for (const ext of extensions) {
    u16(ext.type)
    u16(ext.data.length)
    put(ext.data)
  }
  return out
}
