/**
 * Display names of HPKE algorithm ids (RFC 9180 §7 and the IANA HPKE
 * registry), including ones this package does not implement, so `inspect`
 * can say what a foreign config asks for.
 */
import { OID_X25519, OID_XWING } from '../config/pkcs8.js'
import { getKem } from '../hpke/registry.js'

const KEMS: Record<number, string> = {
  0x0010: 'DHKEM(P-256, HKDF-SHA256)',
  0x0011: 'DHKEM(P-384, HKDF-SHA384)',
  0x0012: 'DHKEM(P-521, HKDF-SHA512)',
  0x0020: 'DHKEM(X25519, HKDF-SHA256)',
  0x0021: 'DHKEM(X448, HKDF-SHA512)',
  0x647a: 'X-Wing'
}

const KDFS: Record<number, string> = {
  0x0001: 'HKDF-SHA256',
  0x0002: 'HKDF-SHA384',
  0x0003: 'HKDF-SHA512'
}

const AEADS: Record<number, string> = {
  0x0001: 'AES-128-GCM',
  0x0002: 'AES-256-GCM',
  0x0003: 'ChaCha20-Poly1305',
  0xffff: 'Export-only'
}

export function hex16 (id: number): string {
  return `0x${id.toString(16).padStart(4, '0')}`
}

/** The registry's short name (what `keygen --kem` takes) when implemented, else the IANA name */
export function kemName (id: number): string {
  return getKem(id)?.name ?? KEMS[id] ?? 'unknown'
}

export function kdfName (id: number): string {
  return KDFS[id] ?? 'unknown'
}

export function aeadName (id: number): string {
  return AEADS[id] ?? 'unknown'
}

/** PKCS#8 privateKeyAlgorithm OIDs of the ECH key files we read and write */
const KEY_ALGORITHMS: Record<string, string> = {
  [OID_X25519]: 'X25519',
  [OID_XWING]: 'X-Wing'
}

/** The name of a PKCS#8 key algorithm OID, or undefined when we do not know it */
export function keyAlgorithmName (oid: string): string | undefined {
  return KEY_ALGORITHMS[oid]
}
