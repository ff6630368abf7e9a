/**
 * A per-source budget for the responder's HPKE opens (SECURITY.md §7).
 * Every outer hello whose `enc` fits a live key's KEM costs one
 * decapsulation, whether or not its config_id is live (`openOuterHello`
 * spends a decoy one so that refusals do not reveal live config_ids). For
 * X-Wing that is about a millisecond of pure-JS ML-KEM-768 on the event loop
 * before anything is authenticated. The caller asks `take(source, cost)`
 * before opening and treats a refusal as an outer hello it cannot open.
 *
 * A token bucket per source (cf. RFC 2697's token-bucket meter), in a
 * `BoundedMap` (monitor/bounded.ts: LRU, no timers). A source idle for
 * `burst / perSecond` seconds has a full bucket again, so its entry expires
 * then and forgetting it changes nothing.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { KEM_ID } from '../hpke/kem.js'
import { getKem } from '../hpke/registry.js'
import { BoundedMap } from '../monitor/bounded.js'
import type { EchOuterHello } from '../ech/outer-hello.js'

/**
 * What one open costs, in units of one DHKEM(X25519) open. X-Wing's ML-KEM-768
 * decapsulation made an X-Wing open 7-9 times as slow as an X25519 one on
 * Node (test/ech/open-timing.ts: ~1 ms against ~0.13 ms).
 */
export const OPEN_COSTS: Readonly<Record<number, number>> = Object.freeze({
  [KEM_ID.DHKEM_X25519_HKDF_SHA256]: 1,
  [KEM_ID.X_WING]: 8
})

/**
 * The defaults: a source may open 128 X25519 hellos (16 X-Wing ones) at once
 * and 32 (4) a second after that, which bounds it to a few milliseconds of
 * CPU a second; 4096 sources are tracked, least recently seen forgotten first.
 */
export const OPEN_BUDGET_DEFAULTS = Object.freeze({
  /** Units a source may spend at once */
  burst: 128,
  /** Units refilled per second */
  perSecond: 32,
  /** Sources tracked at once */
  maxSources: 4096
})

/** Settings of the per-source HPKE open budget (`EchNoiseInit.openBudget`) */
export interface OpenBudgetInit {
  /** Units a source may spend at once (default 128) */
  burst?: number
  /** Units a source gets back per second (default 32) */
  perSecond?: number
  /** Sources tracked; beyond it the least recently seen is forgotten (default 4096) */
  maxSources?: number
  /** Clock in ms (default `Date.now`) */
  now?(): number
}

interface Bucket {
  tokens: number
  /** When `tokens` was last brought up to date, ms */
  at: number
}

function positive (value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidParametersError(`${what} must be a positive number`)
  }
  return value
}

/** The cost of opening `hello`: that of the KEM its `enc` length implies, 1 when none does */
export function openCost (hello: Pick<EchOuterHello, 'enc'>): number {
  for (const [id, cost] of Object.entries(OPEN_COSTS)) {
    if (getKem(Number(id))?.encLength === hello.enc.byteLength) { return cost }
  }
  return 1
}

/** Token buckets per source key (e.g. the remote IP, an IPv6 /64), LRU-bounded */
export class OpenBudget {
  private readonly buckets: BoundedMap<Bucket>
  private readonly burst: number
  private readonly perSecond: number
  private readonly now: () => number

  constructor (init: OpenBudgetInit = {}) {
    this.burst = positive(init.burst ?? OPEN_BUDGET_DEFAULTS.burst, 'burst')
    this.perSecond = positive(init.perSecond ?? OPEN_BUDGET_DEFAULTS.perSecond, 'perSecond')
    const maxSources = init.maxSources ?? OPEN_BUDGET_DEFAULTS.maxSources
    if (!Number.isSafeInteger(maxSources) || maxSources < 1) {
      throw new InvalidParametersError('maxSources must be a positive integer')
    }
    this.now = init.now ?? Date.now
    // idle this long, a bucket is full again: expiring it then loses nothing
    this.buckets = new BoundedMap(maxSources, Math.ceil(this.burst / this.perSecond * 1000), this.now)
  }

  /** Sources currently tracked */
  get size (): number {
    return this.buckets.size
  }

  /**
   * Spend `cost` units of `source`'s budget: true when it had them (and now
   * has that much less), false when it did not (nothing is spent). A cost
   * above `burst` is never granted.
   */
  take (source: string, cost: number): boolean {
    positive(cost, 'cost')
    const now = this.now()
    const bucket = this.buckets.get(source) ?? { tokens: this.burst, at: now }
    // a clock that steps back refills nothing rather than draining the bucket
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perSecond / 1000)
    bucket.at = now
    const granted = bucket.tokens >= cost
    if (granted) { bucket.tokens -= cost }
    this.buckets.set(source, bucket)
    return granted
  }
}
