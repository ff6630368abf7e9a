/**
 * The fallback policy: kill switch, staged rollout and per-peer circuit
 * breakers deciding whether a connection is offered ECH or goes to stock Noise.
 */
export { EchPolicy } from './policy.js'
export type { EchPolicyComponents } from './policy.js'
export { parseEnv, ENV_ENABLED, ENV_ROLLOUT_PERCENTAGE, DEFAULT_FAILURE_THRESHOLD, DEFAULT_COOLDOWN_MS, DEFAULT_MAX_COOLDOWN_MS, DEFAULT_TRIAL_TIMEOUT_MS, DEFAULT_MAX_PEERS, DEFAULT_PERSIST_DELAY_MS, DEFAULT_POLICY_NAMESPACE } from './config.js'
export type { PolicyEnvOverrides } from './config.js'
export { rolloutBucket, ROLLOUT_BUCKETS } from './rollout.js'
export { EchPolicyConfigError } from './errors.js'
export { encodeBreakerRecord, decodeBreakerRecord, BreakerRecordError } from './breaker-store.js'
export type {
  PolicyDecision, PolicyFallbackReason, HandshakeFailureKind, PolicySettingSource, BreakerState, BreakerInfo,
  PolicyState, BreakerEventDetail, EchPolicyEvents, EchPolicyInit, EchPolicyOptions
} from './types.js'
