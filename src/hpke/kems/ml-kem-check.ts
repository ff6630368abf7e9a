/**
 * The ML-KEM-768 encapsulation-key check of FIPS 203 §7.2, done once when a
 * config is parsed for use (`Kem.validatePublicKey`) rather than left to
 * every encapsulation. The type check is the key's length (1184 bytes),
 * which the caller has made.
 */

/** ML-KEM's modulus q (FIPS 203 §2.3) */
const Q = 3329
/** ByteEncode12 of t_hat: k = 3 polynomials of 256 12-bit coefficients; the 32-byte rho follows (FIPS 203 §5.1) */
const T_HAT_LENGTH = 384 * 3

/**
 * The modulus check (FIPS 203 §7.2): `ByteEncode12(ByteDecode12(t_hat))`
 * gives `t_hat` back, that is, every 12-bit coefficient is below q. Two
 * coefficients per 3 bytes, least significant bits first (FIPS 203
 * Algorithms 5 and 6).
 */
export function mlKem768ModulusCheck (ek: Uint8Array): boolean {
  for (let i = 0; i < T_HAT_LENGTH; i += 3) {
    const even = ek[i] | ((ek[i + 1] & 0x0f) << 8)
    const odd = (ek[i + 1] >> 4) | (ek[i + 2] << 4)
    if (even >= Q || odd >= Q) { return false }
  }
  return true
}
