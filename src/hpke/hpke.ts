/**
 * HPKE base mode (RFC 9180 §5.1.1): SetupBaseS / SetupBaseR over a crypto
 * provider and a registered KEM. PSK and auth modes are not implemented;
 * the ECH outer hello uses base mode only.
 */
import { createContext, checkBytes } from './context.js'
import { HpkeInvalidInputError } from './errors.js'
import { keySchedule, resolveSuite } from './key-schedule.js'
import { getKem } from './registry.js'
import type { RecipientContext, SenderContext } from './context.js'
import type { Kem, KemPrivateKey, KemPublicKey } from './kem.js'
import type { CipherSuite, KeyScheduleResult, ResolvedSuite } from './key-schedule.js'
import type { CryptoProvider } from '../crypto/provider.js'

export interface SetupBaseSOptions {
  /** Fixes skE (known-answer tests); otherwise a fresh key is generated and destroyed */
  ephemeral?: KemPrivateKey
}

export interface SenderSetup {
  enc: Uint8Array
  context: SenderContext
}

function kemFor (suite: CipherSuite, keyKemId: number): Kem {
  const kem = getKem(suite.kemId)
  if (kem == null) {
    throw new HpkeInvalidInputError(`unsupported HPKE KEM 0x${suite.kemId.toString(16)}`)
  }
  if (keyKemId !== suite.kemId) {
    throw new HpkeInvalidInputError('key does not belong to the suite KEM')
  }
  return kem
}

/** Run the key schedule, then wipe everything the context does not keep */
function schedule (provider: CryptoProvider, resolved: ResolvedSuite, sharedSecret: Uint8Array, info: Uint8Array): KeyScheduleResult {
  try {
    const result = keySchedule(provider, resolved, sharedSecret, info)
    result.secret.fill(0)
    result.keyScheduleContext.fill(0)
    return result
  } finally {
    sharedSecret.fill(0)
  }
}

/** SetupBaseS(pkR, info) (RFC 9180 §5.1.1) */
export function setupBaseS (provider: CryptoProvider, suite: CipherSuite, publicKey: KemPublicKey, info: Uint8Array, options?: SetupBaseSOptions): SenderSetup {
  checkBytes(info, 'info')
  const resolved = resolveSuite(provider, suite)
  const kem = kemFor(suite, publicKey.kemId)
  const { sharedSecret, enc } = kem.encap(provider, publicKey, options?.ephemeral)
  return { enc, context: createContext(provider, resolved, schedule(provider, resolved, sharedSecret, info)) }
}

/** SetupBaseR(enc, skR, info) (RFC 9180 §5.1.1) */
export function setupBaseR (provider: CryptoProvider, suite: CipherSuite, enc: Uint8Array, privateKey: KemPrivateKey, info: Uint8Array): RecipientContext {
  checkBytes(info, 'info')
  checkBytes(enc, 'enc')
  const resolved = resolveSuite(provider, suite)
  const kem = kemFor(suite, privateKey.kemId)
  if (enc.byteLength !== kem.encLength) {
    throw new HpkeInvalidInputError(`enc must be ${kem.encLength} bytes`)
  }
  const sharedSecret = kem.decap(provider, enc, privateKey)
  return createContext(provider, resolved, schedule(provider, resolved, sharedSecret, info))
}
