/** Helpers shared by the crypto backends. */

export function checkLength (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== length) {
    throw new TypeError(`${what} must be ${length} bytes`)
  }
}

/** RFC 7748 §6.1: reject the all-zero output (constant time over the bytes) */
export function assertNonZeroSharedSecret (shared: Uint8Array): void {
  let acc = 0
  for (let i = 0; i < shared.length; i++) { acc |= shared[i] }
  if (acc === 0) {
    throw new Error('X25519 produced the all-zero shared secret')
  }
}

/** Constant-time equality of two byte strings (length is not secret) */
export function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) { return false }
  let acc = 0
  for (let i = 0; i < a.byteLength; i++) { acc |= a[i] ^ b[i] }
  return acc === 0
}
