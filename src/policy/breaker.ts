/**
 * Per-peer circuit breakers for ECH offers, in a bounded LRU table.
 *
 * Only peers with something to remember are in the table (a failure, or an
 * open breaker); a success forgets the peer, which is what resets both the
 * failure count and the backoff. The table knows nothing of I/O: it reports
 * state transitions and changes worth persisting through hooks.
 */
// closed --N consecutive failures--> open --cool-down over, next check()--> half-open (one trial)
// half-open --trial succeeds--> closed (forgotten); half-open --trial fails--> open, cool-down doubled
// open or half-open --any success--> closed (forgotten)

export type BreakerPhase = 'closed' | 'open' | 'half-open'

export interface BreakerEntry {
  phase: BreakerPhase
  /** Consecutive failures since the last success */
  failures: number
  /** Openings since the last success, minus one: cool-down = cooldownMs × 2^level */
  level: number
  /** When the current cool-down ends (open), or ended (half-open) */
  openUntil: number
  cooldownMs: number
  /** When the trial in flight was handed out (half-open only) */
  trialStartedAt: number
}

/** What survives a restart; see `breaker-store.ts` */
export interface PersistedBreaker {
  failures: number
  level: number
  openUntil: number
}

export interface BreakerOptions {
  failureThreshold: number
  cooldownMs: number
  maxCooldownMs: number
  trialTimeoutMs: number
  maxPeers: number
}

export interface BreakerHooks {
  /** A breaker opened (or re-opened), went half-open, or closed */
  transition(kind: 'open' | 'half-open' | 'close', peer: string, entry: BreakerEntry): void
  /** The persisted form of this peer changed: write it (or delete it when `get()` says it is gone or closed) */
  changed(peer: string): void
}

/** `check()` answers: offer ECH, refuse (cool-down or a trial in flight), or offer as the trial */
export const CHECK_OFFER = 0
export const CHECK_BLOCKED = 1
export const CHECK_TRIAL = 2
export type CheckResult = typeof CHECK_OFFER | typeof CHECK_BLOCKED | typeof CHECK_TRIAL

export class BreakerTable {
  /** Map iteration order is insertion order: the first key is the least recently used */
  readonly #entries = new Map<string, BreakerEntry>()
  readonly #options: BreakerOptions
  readonly #hooks: BreakerHooks
  /** Past this level the cool-down is capped anyway; stop counting so it cannot overflow */
  readonly #maxLevel: number

  constructor (options: BreakerOptions, hooks: BreakerHooks) {
    this.#options = options
    this.#hooks = hooks
    this.#maxLevel = Math.ceil(Math.log2(options.maxCooldownMs / options.cooldownMs))
  }

  get (peer: string): BreakerEntry | undefined {
    return this.#entries.get(peer)
  }

  /** Open and half-open breakers, least recently used first */
  * open (): Generator<[string, BreakerEntry]> {
    for (const pair of this.#entries) {
      if (pair[1].phase !== 'closed') { yield pair }
    }
  }

  cooldownFor (level: number): number {
    return Math.min(this.#options.cooldownMs * 2 ** level, this.#options.maxCooldownMs)
  }

  /** May ECH be offered to this peer now? Hands out the half-open trial. Allocates nothing. */
  check (peer: string, now: number): CheckResult {
    const entry = this.#entries.get(peer)
    if (entry == null) { return CHECK_OFFER }
    this.#touch(peer, entry)
    if (entry.phase === 'closed') { return CHECK_OFFER }
    if (entry.phase === 'open') {
      if (now < entry.openUntil) { return CHECK_BLOCKED }
      entry.phase = 'half-open'
      entry.trialStartedAt = now
      this.#hooks.transition('half-open', peer, entry)
      return CHECK_TRIAL
    }
    // half-open: the single trial is out. One nobody reported on within the
    // timeout counts as a timed-out failure, or a lost report would pin the peer here
    if (now - entry.trialStartedAt >= this.#options.trialTimeoutMs) {
      entry.failures++
      this.#reopen(peer, entry, now, true)
    }
    return CHECK_BLOCKED
  }

  failure (peer: string, now: number): void {
    let entry = this.#entries.get(peer)
    if (entry == null) {
      entry = { phase: 'closed', failures: 0, level: 0, openUntil: 0, cooldownMs: 0, trialStartedAt: 0 }
      this.#insert(peer, entry)
    } else {
      this.#touch(peer, entry)
    }
    entry.failures++
    if (entry.phase === 'closed') {
      if (entry.failures >= this.#options.failureThreshold) {
        this.#reopen(peer, entry, now, false)
      }
    } else if (entry.phase === 'half-open') {
      this.#reopen(peer, entry, now, true)
    } else {
      // open: a handshake offered before the breaker opened failed late.
      // Counted, but it says nothing new, so the cool-down is not extended
      this.#hooks.changed(peer)
    }
  }

  success (peer: string): void {
    const entry = this.#entries.get(peer)
    if (entry == null) { return }
    this.#entries.delete(peer)
    if (entry.phase !== 'closed') {
      this.#hooks.transition('close', peer, entry)
      this.#hooks.changed(peer)
    }
  }

  /**
   * The peer answered our offer with retry configs: it is up and speaks ECH,
   * our config was stale. Not a failure, and not proof that ECH works, so
   * counts and backoff stay. A trial in flight hands its slot back (open with
   * the cool-down already over), so the next dial is a new trial, made with
   * the configs just learned.
   */
  retry (peer: string): void {
    const entry = this.#entries.get(peer)
    if (entry?.phase === 'half-open') {
      entry.phase = 'open'
    }
  }

  /** Put back a breaker read from the datastore, unless the peer is already known (live state is newer) */
  restore (peer: string, stored: PersistedBreaker, now: number): boolean {
    if (this.#entries.has(peer)) { return false }
    const level = Math.min(stored.level, this.#maxLevel)
    const cooldownMs = this.cooldownFor(level)
    this.#insert(peer, {
      // a trial in flight at shutdown is lost: the restored breaker is due for a new one
      phase: 'open',
      failures: Math.max(stored.failures, 1),
      level,
      // stored bytes are untrusted: a far-future time (or a clock that went
      // backwards) must not keep a peer off ECH for longer than one cool-down
      openUntil: Math.min(stored.openUntil, now + cooldownMs),
      cooldownMs,
      trialStartedAt: 0
    })
    return true
  }

  toPersisted (entry: BreakerEntry): PersistedBreaker {
    return { failures: entry.failures, level: entry.level, openUntil: entry.openUntil }
  }

  #reopen (peer: string, entry: BreakerEntry, now: number, backoff: boolean): void {
    if (backoff) {
      entry.level = Math.min(entry.level + 1, this.#maxLevel)
    }
    entry.phase = 'open'
    entry.cooldownMs = this.cooldownFor(entry.level)
    entry.openUntil = now + entry.cooldownMs
    this.#hooks.transition('open', peer, entry)
    this.#hooks.changed(peer)
  }

  #touch (peer: string, entry: BreakerEntry): void {
    this.#entries.delete(peer)
    this.#entries.set(peer, entry)
  }

  #insert (peer: string, entry: BreakerEntry): void {
    this.#entries.set(peer, entry)
    if (this.#entries.size > this.#options.maxPeers) {
      const [oldest, evicted] = this.#entries.entries().next().value as [string, BreakerEntry]
      this.#entries.delete(oldest)
      if (evicted.phase !== 'closed') {
        this.#hooks.changed(oldest)
      }
    }
  }
}
