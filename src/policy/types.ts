/**
 * Public types of the fallback policy (`policy.ts`).
 */

/** Why a connection goes to stock Noise instead of being offered ECH */
export type PolicyFallbackReason = 'disabled' | 'rollout' | 'breaker-open' | 'address-refused' | 'config-refused'

/**
 * The answer of `EchPolicy.decide()`. The objects are shared, frozen
 * constants (the hot path allocates nothing): compare fields, never identity,
 * and do not mutate them.
 */
export type PolicyDecision =
  | {
    /** Offer ECH */
    readonly offer: true
    /** This offer is the half-open breaker's single trial */
    readonly trial?: boolean
  }
  | {
    /** Hand the connection to stock Noise */
    readonly offer: false
    /** Why */
    readonly reason: PolicyFallbackReason
  }

/** How a handshake in which we offered ECH failed */
export type HandshakeFailureKind = 'reset' | 'close' | 'timeout' | 'decode' | 'other'

/** Where the effective value of a setting came from */
export type PolicySettingSource = 'env' | 'init' | 'default' | 'runtime'

/** The states in which a breaker is reported (closed breakers are forgotten) */
export type BreakerState = 'open' | 'half-open'

/** One open or half-open breaker, as `EchPolicy.getState()` lists it */
export interface BreakerInfo {
  /** The peer id as a string */
  peer: string
  /** `open`: cooling down; `half-open`: one trial offer is under way */
  state: BreakerState
  /** Consecutive failed ECH handshakes (including failed trials) */
  failures: number
  /** ms since the epoch (policy clock) when a trial is next allowed */
  openUntil: number
  /** The cool-down of the current opening, in ms */
  cooldownMs: number
}

/** The policy's effective settings and open breakers (`EchPolicy.getState()`) */
export interface PolicyState {
  /** The kill switch: false sends every connection through stock Noise */
  enabled: boolean
  /** Share of peers offered ECH, 0..100 */
  rolloutPercentage: number
  /** Where each effective value came from */
  source: {
    /** Source of `enabled` */
    enabled: PolicySettingSource
    /** Source of `rolloutPercentage` */
    rolloutPercentage: PolicySettingSource
  }
  /** Open and half-open breakers, least recently used first */
  openBreakers: BreakerInfo[]
}

/** The detail of the policy's `breaker:*` events */
export interface BreakerEventDetail {
  /** The peer id as a string */
  peer: string
  /** Consecutive failed ECH handshakes with the peer */
  failures: number
  /** The cool-down of the current opening, ms */
  cooldownMs: number
}

/** Events of `EchPolicy` (the encrypter turns them into `ech:breaker`) */
export interface EchPolicyEvents {
  /** Stock Noise for this peer from now on, for `cooldownMs` */
  'breaker:open': CustomEvent<BreakerEventDetail>
  /** The cool-down ran out: one trial ECH handshake is under way */
  'breaker:half-open': CustomEvent<BreakerEventDetail>
  /** ECH worked again; the peer's failures and backoff are forgotten */
  'breaker:close': CustomEvent<BreakerEventDetail>
}

/**
 * Settings of the fallback policy. `EchNoiseInit` takes `enabled` and `rolloutPercentage` at its
 * top level and the rest as `policy`.
 */
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
  /**
   * ms an address where an outer hello failed before the responder proved its
   * identity gets stock Noise, unless a stock handshake there settles it first
   * (default 10 min)
   */
  addressRefusalMs?: number
  /**
   * ms an address where the proven peer refused an outer hello (a stock
   * handshake there proved it after the refusal, or it hung up right after a
   * handshake with one) gets neither GREASE nor the refused config; a different
   * config is tried (default 1 h, as the breaker's longest cool-down)
   */
  intolerantMs?: number
  /** Datastore prefix (default `/libp2p-noise-ech/policy/breakers`) */
  namespace?: string
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
}

/** `EchPolicyInit` plus where the environment is read */
export interface EchPolicyOptions extends EchPolicyInit {
  /** Where `ECH_ENABLED` and `ECH_ROLLOUT_PERCENTAGE` are read, once, in the constructor (default `process.env`) */
  env?: Record<string, string | undefined>
}
