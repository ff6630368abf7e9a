/**
 * @packageDocumentation
 *
 * libp2p Noise with an Encrypted-Client-Hello-style outer hello.
 *
 * `echNoise()` is a drop-in replacement for `noise()` from
 * `@chainsafe/libp2p-noise` (same protocol id, `/noise`): peers whose ECH
 * config is in the peer store under `ECH_PEER_STORE_KEY` get an HPKE-encrypted
 * outer hello in Noise message 1 (RFC 9180, RFC 9849 ECHConfig), everything
 * else goes through the stock encrypter untouched.
 *
 * @example
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { echNoise } from 'libp2p-noise-ech'
 *
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise()]
 * })
 * ```
 */
import './polyfill.js'

export { echNoise, EchNoise } from './encrypter/index.js'
export type { EchConnectionInfo, EchFallbackReason, EchHandshakeError, EchMode, EchNoiseComponents, EchNoiseEvents, EchNoiseInit, EchOutcome, EchThreat, EchThreatKind, EchRotationDetail, EchBreakerDetail, AuditEntry } from './encrypter/types.js'
export { ECH_PEER_STORE_KEY } from './config/peer-store.js'
export * from './config/index.js'
export { createSignedConfigRecord, openSignedConfigRecord, EchRecordExpiredError, EchRecordInvalidError, EchRecordSignerError, EchRecordNotYetValidError, EchRecordRollbackError, MAX_RECORD_CLOCK_SKEW_SECONDS } from './config/record.js'
export type { OpenedConfigRecord, CreateSignedConfigRecordOptions, OpenSignedConfigRecordOptions } from './config/record.js'
export type { NoOfferReason, StoreSkipReason } from './config/peer-store.js'
export * from './keys/index.js'
export { EchDecodeError, EchRefusedError, EchRejectedError, EchRequiredError } from './ech/errors.js'
export { InboundLimitError } from './encrypter/errors.js'
export type { OpenBudgetInit } from './encrypter/open-budget.js'
export { nodeProvider } from './crypto/node.js'
export { nobleProvider } from './crypto/noble.js'
export { browserProvider } from './crypto/browser.js'
export { NodeCryptoUnavailableError } from './crypto/errors.js'
export type { CryptoProvider, Aead, AeadId, DhPrivateKey, DhPublicKey, NoiseCipher } from './crypto/provider.js'
export type { KemPrivateKey } from './hpke/kem.js'
export { loadKem } from './hpke/registry.js'
export { HpkeKemLoadError, HpkeKemNotLoadedError } from './hpke/errors.js'
export { EchPolicy, EchPolicyConfigError, rolloutBucket, ENV_ENABLED, ENV_ROLLOUT_PERCENTAGE } from './policy/index.js'
export type {
  PolicyDecision, PolicyState, BreakerInfo, BreakerState, BreakerEventDetail, EchPolicyInit, EchPolicyOptions, EchPolicyComponents, EchPolicyEvents,
  PolicyFallbackReason, PolicySettingSource, HandshakeFailureKind
} from './policy/index.js'
export { EchMonitor } from './monitor/index.js'
export type {
  EchMonitorInit, EchMonitorCounters, EchFallbackLabel, EchStallStage, EchHandshakeReport, EchMonitorComponents, EchMonitorEvents, EchTrackerSizes, RateLimitInit,
  EchRole, EchPath, EchHandshakeOutcome, EchHandshakeLabel, EchThreatSeverity, EchAuditEvent
} from './monitor/index.js'
export * from './exchange/index.js'
export { CODE_ECH, InvalidEchComponentError, encodeEchComponent, decodeEchComponent, echConfigListFromMultiaddr, withEchComponent, withoutEchComponent, dialWithEch, echAnnounceFilter, echAddressConfigs } from './multiaddr/index.js'
export type { EchAnnounceFilterOptions, EchDialer, EchAddressConfigs, EchAddressConfigsComponents } from './multiaddr/index.js'
export * from './dht/index.js'
export { registerEchConfigFinder } from './config/finders.js'
export type { EchConfigFinder } from './config/finders.js'
