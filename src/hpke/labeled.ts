/**
 * HKDF-SHA256 (RFC 5869) and the HPKE labeled variants (RFC 9180 §4).
 * Every call takes a `suite_id` so the KEM (`"KEM" || kem_id`, §4.1) and
 * the key schedule (`"HPKE" || kem_id || kdf_id || aead_id`, §5.1) share it.
 */
import type { CryptoProvider } from '../crypto/provider.js'

/** Nh for HKDF-SHA256 */
export const HASH_LENGTH = 32

const encoder = new TextEncoder()
const HPKE_V1 = encoder.encode('HPKE-v1')
const EMPTY = new Uint8Array(0)

/** Labels are ASCII constants; encode each once at module load */
export function label (text: string): Uint8Array {
  return encoder.encode(text)
}

/** I2OSP(n, w) for w <= 4 (RFC 9180 §3, RFC 8017 §4.1) */
export function i2osp (n: number, w: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** (8 * w)) {
    throw new RangeError(`I2OSP: ${n} does not fit in ${w} bytes`)
  }
  const out = new Uint8Array(w)
  for (let i = w - 1; i >= 0; i--) {
    out[i] = n & 0xff
    n = Math.floor(n / 256)
  }
  return out
}

/** suite_id = "KEM" || I2OSP(kem_id, 2) (RFC 9180 §4.1) */
export function kemSuiteId (kemId: number): Uint8Array {
  return Uint8Array.of(0x4b, 0x45, 0x4d, ...i2osp(kemId, 2))
}

/** suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2) (RFC 9180 §5.1) */
export function hpkeSuiteId (kemId: number, kdfId: number, aeadId: number): Uint8Array {
  return Uint8Array.of(0x48, 0x50, 0x4b, 0x45, ...i2osp(kemId, 2), ...i2osp(kdfId, 2), ...i2osp(aeadId, 2))
}

/**
 * LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm).
 * An empty salt is HMAC keyed with the empty string, which RFC 2104 pads to
 * the same block as HashLen zero bytes (RFC 5869 §2.2).
 */
export function labeledExtract (provider: CryptoProvider, suiteId: Uint8Array, salt: Uint8Array, lbl: Uint8Array, ikm: Uint8Array): Uint8Array {
  return provider.hmacSha256(salt, HPKE_V1, suiteId, lbl, ikm)
}

/**
 * LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L)
 * with HKDF-Expand (RFC 5869 §2.3); intermediate blocks are wiped.
 */
export function labeledExpand (provider: CryptoProvider, suiteId: Uint8Array, prk: Uint8Array, lbl: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length <= 0 || length > 255 * HASH_LENGTH) {
    throw new RangeError('HKDF-Expand length must be 1..8160 bytes')
  }
  const lengthBytes = i2osp(length, 2)
  const out = new Uint8Array(length)
  let previous: Uint8Array = EMPTY
  for (let i = 1, offset = 0; offset < length; i++) {
    const block = provider.hmacSha256(prk, previous, lengthBytes, HPKE_V1, suiteId, lbl, info, Uint8Array.of(i))
    previous.fill(0)
    out.set(block.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset)
    offset += HASH_LENGTH
    previous = block
  }
  previous.fill(0)
  return out
}
