/**
 * The HPKE key schedule (RFC 9180 §5.1), base mode only. Kept apart from the
 * contexts so known-answer tests can check every intermediate value.
 */
import { HpkeInvalidInputError } from './errors.js'
import { HASH_LENGTH, hpkeSuiteId, label, labeledExpand, labeledExtract } from './labeled.js'
import { isSupportedKdf, aeadName } from './registry.js'
import type { AeadId, CryptoProvider } from '../crypto/provider.js'

/** The HPKE algorithm triple; ids from the IANA HPKE registry (RFC 9180 §7) */
export interface CipherSuite {
  kemId: number
  kdfId: number
  aeadId: number
}

/** RFC 9180 §7.3: the export-only AEAD id, whose contexts can Export but not Seal/Open */
export const AEAD_EXPORT_ONLY = 0xffff

/** RFC 9180 §5 Table 1 */
export const MODE_BASE = 0x00

export interface KeyScheduleResult {
  pskIdHash: Uint8Array
  infoHash: Uint8Array
  keyScheduleContext: Uint8Array
  secret: Uint8Array
  /** Empty for export-only */
  key: Uint8Array
  /** Empty for export-only */
  baseNonce: Uint8Array
  exporterSecret: Uint8Array
}

/** A suite resolved to what the contexts need */
export interface ResolvedSuite {
  suiteId: Uint8Array
  /** undefined for export-only */
  aead: AeadId | undefined
  keyLength: number
  nonceLength: number
}

const EMPTY = new Uint8Array(0)
const LABEL_PSK_ID_HASH = label('psk_id_hash')
const LABEL_INFO_HASH = label('info_hash')
const LABEL_SECRET = label('secret')
const LABEL_KEY = label('key')
const LABEL_BASE_NONCE = label('base_nonce')
const LABEL_EXP = label('exp')

export function resolveSuite (provider: CryptoProvider, suite: CipherSuite): ResolvedSuite {
  if (!isSupportedKdf(suite.kdfId)) {
    throw new HpkeInvalidInputError(`unsupported HPKE KDF 0x${suite.kdfId.toString(16)}`)
  }
  const suiteId = hpkeSuiteId(suite.kemId, suite.kdfId, suite.aeadId)
  if (suite.aeadId === AEAD_EXPORT_ONLY) {
    return { suiteId, aead: undefined, keyLength: 0, nonceLength: 0 }
  }
  const aead = aeadName(suite.aeadId)
  if (aead == null) {
    throw new HpkeInvalidInputError(`unsupported HPKE AEAD 0x${suite.aeadId.toString(16)}`)
  }
  const { keyLength, nonceLength } = provider.aead(aead)
  return { suiteId, aead, keyLength, nonceLength }
}

/**
 * KeySchedule<ROLE>(mode_base, shared_secret, info, default_psk, default_psk_id)
 * (RFC 9180 §5.1). With the default (empty) PSK, VerifyPSKInputs passes and
 * `secret = LabeledExtract(shared_secret, "secret", "")`.
 */
export function keySchedule (provider: CryptoProvider, suite: ResolvedSuite, sharedSecret: Uint8Array, info: Uint8Array): KeyScheduleResult {
  const { suiteId } = suite
  const pskIdHash = labeledExtract(provider, suiteId, EMPTY, LABEL_PSK_ID_HASH, EMPTY)
  const infoHash = labeledExtract(provider, suiteId, EMPTY, LABEL_INFO_HASH, info)
  const keyScheduleContext = new Uint8Array(1 + 2 * HASH_LENGTH)
  keyScheduleContext[0] = MODE_BASE
  keyScheduleContext.set(pskIdHash, 1)
  keyScheduleContext.set(infoHash, 1 + HASH_LENGTH)
  const secret = labeledExtract(provider, suiteId, sharedSecret, LABEL_SECRET, EMPTY)
  const key = suite.keyLength > 0 ? labeledExpand(provider, suiteId, secret, LABEL_KEY, keyScheduleContext, suite.keyLength) : EMPTY
  const baseNonce = suite.nonceLength > 0 ? labeledExpand(provider, suiteId, secret, LABEL_BASE_NONCE, keyScheduleContext, suite.nonceLength) : EMPTY
  const exporterSecret = labeledExpand(provider, suiteId, secret, LABEL_EXP, keyScheduleContext, HASH_LENGTH)
  return { pskIdHash, infoHash, keyScheduleContext, secret, key, baseNonce, exporterSecret }
}
