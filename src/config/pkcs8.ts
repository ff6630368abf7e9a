/**
 * Just enough DER (X.690) to read and write the PKCS#8 `PRIVATE KEY` block of
 * an ECH PEM file (RFC 5958 OneAsymmetricKey; X25519 per RFC 8410 §7; X-Wing
 * per draft-connolly-cfrg-xwing-kem-06 §5.8.2):
 *
 * ```
 * OneAsymmetricKey ::= SEQUENCE { version INTEGER (0|1),
 *   privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING,
 *   attributes [0] IMPLICIT ... OPTIONAL, publicKey [1] IMPLICIT ... OPTIONAL }
 * CurvePrivateKey ::= OCTET STRING   -- inside privateKey, 32 bytes for X25519
 * ```
 *
 * An X-Wing key has no inner wrapping: privateKey holds the raw 32-byte seed.
 */
import { concat } from '../crypto/bytes.js'
import { EchConfigError } from './errors.js'

export const OID_X25519 = '1.3.101.110'
const X25519_SECRET_LENGTH = 32
/** SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING (32) } } */
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20
])

/**
 * id-XWing, 1.3.6.1.4.1.62253.25722 (draft-connolly-cfrg-xwing-kem-06 to -10
 * §5.8). It sits in a private-enterprise arc named by the draft, not in an
 * IETF-assigned arc, and could change if the draft is superseded.
 */
export const OID_XWING = '1.3.6.1.4.1.62253.25722'
const XWING_SEED_LENGTH = 32
/** SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.6.1.4.1.62253.25722 }, OCTET STRING (32) }, the draft's Appendix D layout */
const XWING_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x34, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe6,
  0x2d, 0x81, 0xc8, 0x7a, 0x04, 0x20
])

const TAG = { INTEGER: 0x02, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const
const FIELD = 'private_key'

interface Tlv { tag: number, start: number, end: number }

function fail (message: string): never {
  throw new EchConfigError(FIELD, message)
}

/** The DER TLV at `offset`, its value in [start, end) of `der`, within `limit` */
function readTlv (der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) { fail('truncated DER') }
  const tag = der[offset]
  let length = der[offset + 1]
  let start = offset + 2
  if (length >= 0x80) {
    const count = length & 0x7f
    // DER: long form only for lengths >= 128, at most 3 length bytes here
    if (count === 0 || count > 3 || start + count > limit) { fail('bad DER length') }
    length = 0
    for (let i = 0; i < count; i++) { length = (length << 8) | der[start + i] }
    start += count
    if (length < 0x80 || der[offset + 2] === 0) { fail('non-minimal DER length') }
  }
  if (start + length > limit) { fail('truncated DER') }
  return { tag, start, end: start + length }
}

function expectTlv (der: Uint8Array, offset: number, limit: number, tag: number): Tlv {
  const tlv = readTlv(der, offset, limit)
  if (tlv.tag !== tag) { fail(`expected DER tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`) }
  return tlv
}

function decodeOid (bytes: Uint8Array): string {
  if (bytes.length === 0) { fail('empty OID') }
  const arcs: number[] = []
  let value = 0
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = Math.min(2, Math.floor(value / 40))
        arcs.push(first, value - first * 40)
      } else {
        arcs.push(value)
      }
      value = 0
    }
  }
  if ((bytes[bytes.length - 1] & 0x80) !== 0) { fail('truncated OID') }
  return arcs.join('.')
}

export interface Pkcs8PrivateKey {
  /** privateKeyAlgorithm, dotted OID */
  algorithm: string
  /** The privateKey OCTET STRING contents (for X25519, a CurvePrivateKey) */
  privateKey: Uint8Array
}

/** Read a PKCS#8 OneAsymmetricKey; throws EchConfigError('private_key') */
export function parsePkcs8 (der: Uint8Array): Pkcs8PrivateKey {
  if (!(der instanceof Uint8Array)) { fail('expected a Uint8Array') }
  const outer = expectTlv(der, 0, der.length, TAG.SEQUENCE)
  if (outer.end !== der.length) { fail('trailing bytes after PKCS#8') }
  const version = expectTlv(der, outer.start, outer.end, TAG.INTEGER)
  if (version.end - version.start !== 1 || der[version.start] > 1) { fail('unsupported PKCS#8 version') }
  const algorithm = expectTlv(der, version.end, outer.end, TAG.SEQUENCE)
  const oid = expectTlv(der, algorithm.start, algorithm.end, TAG.OID)
  const privateKey = expectTlv(der, algorithm.end, outer.end, TAG.OCTET_STRING)
  return { algorithm: decodeOid(der.subarray(oid.start, oid.end)), privateKey: der.slice(privateKey.start, privateKey.end) }
}

/** The 32-byte X25519 secret in an RFC 8410 PKCS#8 key; throws EchConfigError('private_key') */
export function pkcs8ToX25519PrivateKey (der: Uint8Array): Uint8Array {
  const key = parsePkcs8(der)
  if (key.algorithm !== OID_X25519) { fail(`not an X25519 key (${key.algorithm})`) }
  const inner = expectTlv(key.privateKey, 0, key.privateKey.length, TAG.OCTET_STRING)
  if (inner.end !== key.privateKey.length || inner.end - inner.start !== X25519_SECRET_LENGTH) {
    fail('X25519 CurvePrivateKey must be 32 bytes')
  }
  return key.privateKey.slice(inner.start, inner.end)
}

/** RFC 8410 §7 PKCS#8 (v1, no public key) for a 32-byte X25519 secret */
export function x25519PrivateKeyToPkcs8 (secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== X25519_SECRET_LENGTH) {
    fail('X25519 private keys are 32 bytes')
  }
  return concat(X25519_PKCS8_PREFIX, secret)
}

/** The 32-byte X-Wing seed in a draft-connolly-cfrg-xwing-kem §5.8.2 PKCS#8 key; throws EchConfigError('private_key') */
export function pkcs8ToXWingPrivateKey (der: Uint8Array): Uint8Array {
  const key = parsePkcs8(der)
  if (key.algorithm !== OID_XWING) { fail(`not an X-Wing key (${key.algorithm})`) }
  if (key.privateKey.length !== XWING_SEED_LENGTH) {
    key.privateKey.fill(0)
    fail('X-Wing private keys are 32 bytes')
  }
  return key.privateKey
}

/** draft-connolly-cfrg-xwing-kem §5.8.2 PKCS#8 (v1, publicKey absent) for a 32-byte X-Wing seed */
export function xwingPrivateKeyToPkcs8 (seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== XWING_SEED_LENGTH) {
    fail('X-Wing private keys are 32 bytes')
  }
  return concat(XWING_PKCS8_PREFIX, seed)
}
