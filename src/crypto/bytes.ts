/**
 * The package's one set of byte helpers: concatenation, equality (plain, and
 * constant time for secrets), length checks, and the RFC 7748 §6.1 all-zero
 * check. Platform-free, so every backend and every protocol module shares them.
 */

/** The parts one after another, in a new array */
export function concat (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) { length += part.byteLength }
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Byte-wise equality of public values (returns early; use `constantTimeEqual` for secrets) */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) { return false }
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) { return false }
  }
  return true
}

/** Constant-time equality of two byte strings (the length is not secret) */
export function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) { return false }
  let acc = 0
  for (let i = 0; i < a.byteLength; i++) { acc |= a[i] ^ b[i] }
  return acc === 0
}

/** Throws a `TypeError` unless `bytes` is a Uint8Array of exactly `length` bytes */
export function checkLength (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== length) {
    throw new TypeError(`${what} must be ${length} bytes`)
  }
}

/** RFC 7748 §6.1: reject the all-zero X25519 output (constant time over the bytes) */
export function assertNonZeroSharedSecret (shared: Uint8Array): void {
  let acc = 0
  for (let i = 0; i < shared.length; i++) { acc |= shared[i] }
  if (acc === 0) {
    throw new Error('X25519 produced the all-zero shared secret')
  }
}
