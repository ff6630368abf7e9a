/**
 * Building ECHConfigs from fields. A config this package creates is one a
 * client would use: on top of the wire bounds, `createEchConfig` refuses a
 * public_name clients must (or should) ignore (RFC 9849 §4, §6.1.7) and a
 * public key of the wrong size for a KEM we implement.
 */
import { getKem } from '../hpke/registry.js'
import { EchConfigError } from './errors.js'
import { publicNameProblem } from './public-name.js'
import { checkWireFields, serializeEchConfig } from './serialize.js'
import { ECH_CONFIG_VERSION } from './types.js'
import type { EchConfigFields } from './serialize.js'
import type { EchConfig } from './types.js'

/**
 * A frozen EchConfig over `raw`. Byte fields are copied from `fields`; the
 * caller hands over `raw` (already a fresh copy).
 */
export function freezeEchConfig (fields: EchConfigFields, raw: Uint8Array): EchConfig {
  return Object.freeze({
    version: ECH_CONFIG_VERSION,
    configId: fields.configId,
    kemId: fields.kemId,
    publicKey: fields.publicKey.slice(),
    cipherSuites: Object.freeze(fields.cipherSuites.map(s => Object.freeze({ kdfId: s.kdfId, aeadId: s.aeadId }))),
    maximumNameLength: fields.maximumNameLength ?? 0,
    publicName: fields.publicName,
    extensions: Object.freeze((fields.extensions ?? []).map(e => Object.freeze({ type: e.type, data: e.data.slice() }))),
    raw
  })
}

/**
 * A version-0xfe0d ECHConfig (RFC 9849 §4) with its serialized `raw` form.
 * Throws EchConfigError naming the first bad field.
 */
export function createEchConfig (fields: EchConfigFields): EchConfig {
  if (fields == null || typeof fields !== 'object') {
    throw new EchConfigError('ECHConfig', 'fields must be an object')
  }
  checkWireFields(fields)
  const problem = publicNameProblem(fields.publicName)
  if (problem !== undefined) {
    throw new EchConfigError('public_name', `invalid public_name: ${problem}`)
  }
  const kem = getKem(fields.kemId)
  if (kem !== undefined && fields.publicKey.length !== kem.publicKeyLength) {
    throw new EchConfigError('public_key', `KEM 0x${fields.kemId.toString(16)} public keys are ${kem.publicKeyLength} bytes`)
  }
  return freezeEchConfig(fields, serializeEchConfig(fields))
}
