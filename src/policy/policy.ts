/**
 * The fallback policy: for each outbound connection, offer ECH or hand the
 * connection to stock Noise, and learn from how offered handshakes end.
 *
 * `decide()` runs on the handshake hot path, so it is synchronous and, once
 * a peer's rollout bucket is cached, allocates nothing: the answers are
 * shared frozen objects. Order of the checks: kill switch, rollout, then the
 * peer's circuit breaker, so a peer outside the rollout never consumes a
 * half-open trial.
 *
 * Settings are read once, in the constructor (never at import, so tests and
 * embedders control the environment): `ECH_ENABLED` / `ECH_ROLLOUT_PERCENTAGE`
 * win over `init.enabled` / `init.rolloutPercentage`; the runtime setters win
 * over both (they are the operator acting now). Runtime changes are not
 * persisted: a restart returns to env/init.
 *
 * Open breakers are persisted, debounced by `persistDelayMs`, and flushed on
 * `stop()`; `start()` loads them back.
 */
import { TypedEventEmitter } from 'main-event'
import { BreakerStore } from './breaker-store.js'
import { BreakerTable, CHECK_OFFER, CHECK_TRIAL } from './breaker.js'
import { checkBoolean, checkPercentage, defaultEnv, resolveConfig } from './config.js'
import { OuterHelloRefusals } from './refusals.js'
import { ROLLOUT_BUCKETS, rolloutBucket, rolloutThreshold } from './rollout.js'
import { toleratesOuterHello } from './tolerance.js'
import type { BreakerEntry } from './breaker.js'
import type {
  BreakerInfo, EchPolicyEvents, EchPolicyOptions, HandshakeFailureKind, PolicyDecision, PolicySettingSource, PolicyState
} from './types.js'
import type { ComponentLogger, Logger, PeerId, Startable } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** What the policy needs from libp2p */
export interface EchPolicyComponents {
  /** For the policy's log (`libp2p:noise-ech:policy`) */
  logger: ComponentLogger
  /** Where open breakers are kept across restarts; in memory only without it */
  datastore?: Datastore
}

const OFFER: PolicyDecision = Object.freeze({ offer: true })
const OFFER_TRIAL: PolicyDecision = Object.freeze({ offer: true, trial: true })
const NO_DISABLED: PolicyDecision = Object.freeze({ offer: false, reason: 'disabled' })
const NO_ROLLOUT: PolicyDecision = Object.freeze({ offer: false, reason: 'rollout' })
const NO_BREAKER: PolicyDecision = Object.freeze({ offer: false, reason: 'breaker-open' })
const NO_ADDRESS: PolicyDecision = Object.freeze({ offer: false, reason: 'address-refused' })
const NO_CONFIG_REFUSED: PolicyDecision = Object.freeze({ offer: false, reason: 'config-refused' })

/**
 * The fallback policy: decides per outbound connection whether ECH is offered (kill switch,
 * rollout, circuit breaker) and learns from how offers end. The encrypter makes one (`ech.policy`);
 * the operator controls are `setEnabled()` and `setRolloutPercentage()`.
 */
export class EchPolicy extends TypedEventEmitter<EchPolicyEvents> implements Startable {
  /** `'libp2p-noise-ech/policy'` */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/policy'

  readonly #log: Logger
  readonly #store?: BreakerStore
  readonly #breakers: BreakerTable
  readonly #refusals: OuterHelloRefusals
  /** Rollout buckets by peer id string; FIFO-bounded, a miss only costs one SHA-256 */
  readonly #buckets = new Map<string, number>()
  readonly #maxPeers: number
  readonly #persistDelayMs: number
  readonly #now: () => number
  #enabled: boolean
  #rolloutPercentage: number
  /** Buckets below this are in the rollout */
  #threshold: number
  readonly #source: { enabled: PolicySettingSource, rolloutPercentage: PolicySettingSource }
  /** Peers whose persisted record must be rewritten or deleted */
  #dirty = new Set<string>()
  #timer?: ReturnType<typeof setTimeout>
  /** Serializes datastore writes so an older snapshot never lands after a newer one */
  #writing: Promise<void> = Promise.resolve()
  #started = false

  constructor (components: EchPolicyComponents, init: EchPolicyOptions = {}) {
    super()
    this.#log = components.logger.forComponent('libp2p:noise-ech:policy')
    const config = resolveConfig(init, init.env ?? defaultEnv())
    this.#enabled = config.enabled
    this.#rolloutPercentage = config.rolloutPercentage
    this.#threshold = rolloutThreshold(config.rolloutPercentage)
    this.#source = { ...config.source }
    this.#maxPeers = config.maxPeers
    this.#persistDelayMs = config.persistDelayMs
    this.#now = init.now ?? Date.now
    if (components.datastore != null) {
      this.#store = new BreakerStore(components.datastore, config.namespace, this.#log)
    }
    this.#refusals = new OuterHelloRefusals({ maxEntries: config.maxPeers, addressMs: config.addressRefusalMs, intolerantMs: config.intolerantMs, now: this.#now })
    this.#breakers = new BreakerTable(config, {
      transition: (kind, peer, entry) => { this.#onTransition(kind, peer, entry) },
      changed: (peer) => { this.#onChanged(peer) }
    })
    this.#log('ECH enabled=%s (%s), rollout=%s%% (%s)', this.#enabled, this.#source.enabled, this.#rolloutPercentage, this.#source.rolloutPercentage)
  }

  /** Whether `start()` ran (and `stop()` did not since) */
  isStarted (): boolean {
    return this.#started
  }

  /** Load persisted breakers; state gathered before start() is newer and kept */
  async start (): Promise<void> {
    if (this.#started) { return }
    this.#started = true
    const stored = await this.#store?.loadAll() ?? []
    const now = this.#now()
    let restored = 0
    for (const { peer, breaker } of stored) {
      if (this.#breakers.restore(peer, breaker, now)) { restored++ }
    }
    this.#log('restored %d of %d persisted breakers', restored, stored.length)
    if (this.#dirty.size > 0) { this.#schedule() }
  }

  /** Write pending breaker changes; the policy keeps deciding in memory afterwards */
  async stop (): Promise<void> {
    if (!this.#started) { return }
    this.#started = false
    await this.flush()
  }

  /** The kill switch: false sends every connection, both directions, through stock Noise */
  isEnabled (): boolean {
    return this.#enabled
  }

  /** Whether to offer ECH to this peer now, and if not, why */
  decide (peer: PeerId): PolicyDecision {
    if (!this.#enabled) { return NO_DISABLED }
    if (this.#threshold === 0) { return NO_ROLLOUT }
    const key = peer.toString()
    if (this.#threshold < ROLLOUT_BUCKETS && this.#bucketOf(peer, key) >= this.#threshold) {
      return NO_ROLLOUT
    }
    switch (this.#breakers.check(key, this.#now())) {
      case CHECK_OFFER: return OFFER
      case CHECK_TRIAL: return OFFER_TRIAL
      default: return NO_BREAKER
    }
  }

  /**
   * Whether an offer of `config` (its raw ECHConfig) may go to `address`, and
   * if not, why: the address refused an outer hello before the responder
   * proved anything (`address-refused`), or the peer, proven over stock
   * Noise there, refused this very config there (`config-refused`)
   */
  decideAddress (peer: PeerId, address: string | undefined, config: Uint8Array): PolicyDecision {
    switch (this.#refusals.offerRefusal(peer.toString(), address, config)) {
      case 'address-refused': return NO_ADDRESS
      case 'config-refused': return NO_CONFIG_REFUSED
      default: return OFFER
    }
  }

  /**
   * Whether a GREASE hello may go to this peer at `address`: only when the
   * peer is known to take outer hellos — it completed one with us before, or
   * identify said it runs a Noise that does (`tolerance.ts`) — and that
   * address has not refused one; never through the kill switch, rollout or
   * an open breaker
   */
  mayGrease (peer: PeerId, address: string | undefined, identify: { agentVersion?: string, protocols?: readonly string[] }): boolean {
    const key = peer.toString()
    // as decide(), but without taking a half-open breaker's single trial
    if (!this.#admits(peer, key)) { return false }
    if ((this.#breakers.get(key)?.phase ?? 'closed') !== 'closed') { return false }
    if (this.#refusals.isAddressRefusing(key, address)) { return false }
    return this.#refusals.isTolerant(key) || toleratesOuterHello(identify.agentVersion, identify.protocols)
  }

  /**
   * Whether the kill switch and the rollout let offers to this peer through
   * at all (the breaker and the address aside, and without taking a
   * half-open breaker's trial): a dial that cannot offer need not look for a
   * config anywhere slower than the peer store (the DHT)
   */
  mayOffer (peer: PeerId): boolean {
    return this.#admits(peer, peer.toString())
  }

  /** The kill switch is on and the peer's rollout bucket is in */
  #admits (peer: PeerId, key: string): boolean {
    return this.#enabled && this.#threshold !== 0 && !(this.#threshold < ROLLOUT_BUCKETS && this.#bucketOf(peer, key) >= this.#threshold)
  }

  /** A handshake in which we offered ECH succeeded: close the peer's breaker and forget its backoff */
  recordSuccess (peer: PeerId): void {
    this.#breakers.success(peer.toString())
  }

  /** A handshake with an outer hello (offer or GREASE) completed: the peer takes outer hellos */
  recordOuterHelloCompleted (peer: PeerId, address?: string): void {
    this.#refusals.completed(peer.toString(), address)
  }

  /**
   * A dial with an outer hello (the offered config, or none for GREASE)
   * failed before the responder proved its identity: counted against the
   * address, never the peer (see `refusals.ts`)
   */
  recordUnprovenFailure (peer: PeerId, address: string | undefined, config?: Uint8Array): void {
    if (address == null) { return }
    this.#log('outer hello to %p at %s failed before the responder proved itself: stock Noise there next', peer, address)
    this.#refusals.failedBeforeProof(peer.toString(), address, config)
  }

  /**
   * A stock handshake proved the peer at `address`. Returns true when that
   * address had refused an outer hello: the peer there (or its path) does not
   * take one, so that address gets neither GREASE nor the refused config for
   * a while (`intolerantMs`)
   */
  recordStockSuccess (peer: PeerId, address?: string): boolean {
    const refused = this.#refusals.confirmWithStock(peer.toString(), address)
    if (refused) {
      this.#log('%p proved itself over stock Noise at %s, which refused an outer hello: no outer hellos to it for now', peer, address)
    }
    return refused
  }

  /**
   * The responder at `address` proved itself and answered our offer of
   * `config` without ECH and without retry configs: it runs stock Noise there
   * (this package always sends retry configs when it cannot open an offer).
   * The config is not offered there again for a while (`config-refused`),
   * which also spares a Noise that takes the outer hello in the handshake and
   * then hangs up (jvm-libp2p) more than one failed dial
   */
  recordStockResponder (peer: PeerId, address: string | undefined, config: Uint8Array): void {
    if (address == null) { return }
    this.#log('%p answered our offer at %s as stock Noise: stock Noise there for now', peer, address)
    this.#refusals.refusedAfterProof(peer.toString(), address, config)
  }

  /** Whether an outer hello of any kind was refused at this address, settled or not (GREASE goes elsewhere) */
  isAddressRefusing (peer: PeerId, address?: string): boolean {
    return this.#refusals.isAddressRefusing(peer.toString(), address)
  }

  /** A handshake in which we offered ECH failed after the responder proved its identity; any kind counts */
  recordFailure (peer: PeerId, kind: HandshakeFailureKind): void {
    this.#log.trace('ECH handshake with %p failed: %s', peer, kind)
    this.#breakers.failure(peer.toString(), this.#now())
  }

  /** The peer answered our offer with retry configs: neutral, see `BreakerTable.retry` */
  recordRetry (peer: PeerId): void {
    this.#breakers.retry(peer.toString())
  }

  /** Kill switch at runtime; wins over env and init until restart */
  setEnabled (enabled: boolean): void {
    this.#enabled = checkBoolean(enabled, 'enabled')
    this.#source.enabled = 'runtime'
    this.#log('ECH enabled=%s (runtime)', enabled)
  }

  /** Rollout share at runtime, 0..100; wins over env and init until restart */
  setRolloutPercentage (percentage: number): void {
    this.#rolloutPercentage = checkPercentage(percentage, 'rolloutPercentage')
    this.#threshold = rolloutThreshold(percentage)
    this.#source.rolloutPercentage = 'runtime'
    this.#log('ECH rollout=%s%% (runtime)', percentage)
  }

  /** The effective settings, where each came from, and the open or half-open breakers */
  getState (): PolicyState {
    const openBreakers: BreakerInfo[] = []
    for (const [peer, entry] of this.#breakers.open()) {
      openBreakers.push({
        peer,
        state: entry.phase === 'half-open' ? 'half-open' : 'open',
        failures: entry.failures,
        openUntil: entry.openUntil,
        cooldownMs: entry.cooldownMs
      })
    }
    return {
      enabled: this.#enabled,
      rolloutPercentage: this.#rolloutPercentage,
      source: { ...this.#source },
      openBreakers
    }
  }

  /** Write pending breaker changes now (also runs on a debounce timer and on stop()) */
  async flush (): Promise<void> {
    this.#clearTimer()
    const run = this.#writing.then(async () => this.#writeDirty())
    this.#writing = run
    return run
  }

  #bucketOf (peer: PeerId, key: string): number {
    let bucket = this.#buckets.get(key)
    if (bucket == null) {
      bucket = rolloutBucket(peer)
      if (this.#buckets.size >= this.#maxPeers) {
        this.#buckets.delete(this.#buckets.keys().next().value as string)
      }
      this.#buckets.set(key, bucket)
    }
    return bucket
  }

  #onTransition (kind: 'open' | 'half-open' | 'close', peer: string, entry: BreakerEntry): void {
    this.#log('breaker %s for %s after %d failures (cool-down %d ms)', kind, peer, entry.failures, entry.cooldownMs)
    this.safeDispatchEvent(`breaker:${kind}`, {
      detail: { peer, failures: entry.failures, cooldownMs: entry.cooldownMs }
    })
  }

  #onChanged (peer: string): void {
    if (this.#store == null) { return }
    this.#dirty.add(peer)
    this.#schedule()
  }

  #schedule (): void {
    if (!this.#started || this.#timer != null) { return }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.flush()
    }, this.#persistDelayMs)
    // never keep the process alive just to persist breakers
    this.#timer.unref?.()
  }

  #clearTimer (): void {
    if (this.#timer != null) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  async #writeDirty (): Promise<void> {
    if (this.#store == null || this.#dirty.size === 0) { return }
    const peers = this.#dirty
    this.#dirty = new Set()
    const changes: Array<[string, ReturnType<BreakerTable['toPersisted']> | undefined]> = []
    for (const peer of peers) {
      const entry = this.#breakers.get(peer)
      changes.push([peer, entry == null || entry.phase === 'closed' ? undefined : this.#breakers.toPersisted(entry)])
    }
    await this.#store.write(changes)
  }
}
