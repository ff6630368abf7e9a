/**
 * Public types of the fallback policy (`policy.ts`).
 */

/** Why a connection goes to stock Noise instead of being offered ECH */
export type PolicyFallbackReason = 'disabled' | 'rollout' | 'breaker-open'

/**
 * The answer of `EchPolicy.decide()`. The objects are shared, frozen
 * constants (the hot path allocates nothing): compare fields, never identity,
 * and do not mutate them.
 */
export type PolicyDecision =
  | { readonly offer: true, readonly trial?: boolean }
  | { readonly offer: false, readonly reason: PolicyFallbackReason }

/** How a handshake in which we offered ECH failed */
export type HandshakeFailureKind = 'reset' | 'close' | 'timeout' | 'decode' | 'other'

/** Where the effective value of a setting came from */
export type PolicySettingSource = 'env' | 'init' | 'default' | 'runtime'

export type BreakerState = 'open' | 'half-open'

export interface BreakerInfo {
  /** The peer id as a string */
  peer: string
  state: BreakerState
  /** Consecutive failed ECH handshakes (including failed trials) */
  failures: number
  /** ms since the epoch (policy clock) when a trial is next allowed */
  openUntil: number
  /** The cool-down of the current opening, in ms */
  cooldownMs: number
}

export interface PolicyState {
  enabled: boolean
  rolloutPercentage: number
  source: {
    enabled: PolicySettingSource
    rolloutPercentage: PolicySettingSource
  }
  openBreakers: BreakerInfo[]
}

export interface BreakerEventDetail {
  /** The peer id as a string */
  peer: string
  failures: number
  cooldownMs: number
}

export interface EchPolicyEvents {
  /** Stock Noise for this peer from now on, for `cooldownMs` */
  'breaker:open': CustomEvent<BreakerEventDetail>
  /** The cool-down ran out: one trial ECH handshake is under way */
  'breaker:half-open': CustomEvent<BreakerEventDetail>
  /** ECH worked again; the peer's failures and backoff are forgotten */
  'breaker:close': CustomEvent<BreakerEventDetail>
}

export interface EchPolicyInit {
  /** Offer ECH at all (default true). `ECH_ENABLED` overrides it. */
  enabled?: boolean
  /** Share of peers offered ECH, 0..100, 0.01 % resolution (default 100). `ECH_ROLLOUT_PERCENTAGE` overrides it. */
  rolloutPercentage?: number
  /** Consecutive failures that open a peer's breaker (default 3) */
  failureThreshold?: number
  /** The first cool-down, in ms (default 1 min); doubles on each re-opening */
  cooldownMs?: number
  /** The longest cool-down, in ms (default 1 h) */
  maxCooldownMs?: number
  /**
   * ms after which a trial that nobody reported on counts as a timed-out
   * failure (default 1 min), so a lost report cannot wedge a peer half-open
   */
  trialTimeoutMs?: number
  /** Peers whose breaker state is kept, least recently used evicted first (default 10,000) */
  maxPeers?: number
  /** ms to gather breaker changes before writing them to the datastore (default 1 s) */
  persistDelayMs?: number
  /** Datastore prefix (default `/libp2p-noise-ech/policy/breakers`) */
  namespace?: string
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
}

export interface EchPolicyOptions extends EchPolicyInit {
  /** Where `ECH_ENABLED` and `ECH_ROLLOUT_PERCENTAGE` are read, once, in the constructor (default `process.env`) */
  env?: Record<string, string | undefined>
}
