/**
 * Which HPKE algorithms this package implements. ECHConfig validation
 * (RFC 9849 §4: skip configs with an unsupported KEM or no usable suite) and
 * the handshake both ask here, so a new KEM is one `registerKem` away.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { AEAD_ID, KDF_ID } from './kem.js'
import { dhkemX25519 } from './kems/dhkem-x25519.js'
import { xwing } from './kems/x-wing.js'
import type { Kem } from './kem.js'
import type { AeadId } from '../crypto/provider.js'

const kems = new Map<number, Kem>()

export function registerKem (kem: Kem): void {
  kems.set(kem.id, kem)
}

registerKem(dhkemX25519)
registerKem(xwing)

/** The KEM with this id, or undefined when it is not implemented */
export function getKem (id: number): Kem | undefined {
  return kems.get(id)
}

/** The KEM with this short name (`x25519`, `x-wing`, ...) */
export function getKemByName (name: string): Kem | undefined {
  for (const kem of kems.values()) {
    if (kem.name === name) { return kem }
  }
  return undefined
}

export function supportedKems (): Kem[] {
  return [...kems.values()]
}

/** KEM names (`x25519`, `x-wing`) to ids; an unknown name throws `InvalidParametersError` */
export function kemIdsByName (names?: string[]): ReadonlySet<number> | undefined {
  if (names == null) {
    return undefined
  }
  return new Set(names.map(name => {
    const kem = getKemByName(name)
    if (kem == null) {
      throw new InvalidParametersError(`Unknown KEM "${name}"; known: ${supportedKems().map(k => k.name).join(', ')}`)
    }
    return kem.id
  }))
}

export function isSupportedKdf (kdfId: number): boolean {
  return kdfId === KDF_ID.HKDF_SHA256
}

/** The provider AEAD for an HPKE AEAD id; undefined for unknown and export-only (0xffff) */
export function aeadName (aeadId: number): AeadId | undefined {
  switch (aeadId) {
    case AEAD_ID.AES_128_GCM: return 'aes-128-gcm'
    case AEAD_ID.CHACHA20_POLY1305: return 'chacha20-poly1305'
    default: return undefined
  }
}

export function isSupportedCipherSuite (suite: { kdfId: number, aeadId: number }): boolean {
  return isSupportedKdf(suite.kdfId) && aeadName(suite.aeadId) != null
}
