/**
 * The dialer's side of the wrapper: whether a dial offers ECH (the peer
 * store's offer, the mode, the policy, GREASE), and what a finished dial
 * means afterwards (retry configs learned, the circuit breaker or the
 * address refusals fed; see `policy/refusals.ts`).
 *
 * GREASE goes only to peers known to take an outer hello, and never where
 * the policy sends offers to stock Noise (kill switch, rollout, an open
 * breaker, a refusing address): a GREASE hello must never make a dial fail
 * that stock Noise would complete.
 */
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { EchRejectedError } from '../ech/errors.js'
import { echConfigListFromAddresses } from '../multiaddr/identify.js'
import { failureKind } from '../policy/failure.js'
import type { Attempt, Reporter } from './report.js'
import type { EchFallbackReason, EchMode } from './types.js'
import type { EchOffer } from '../config/offer.js'
import type { EchLookupOptions, EchOfferLookup, PeerConfigStore } from '../config/peer-store.js'
import type { HandshakeResult, OuterHelloPlan } from '../ech/types.js'
import type { EchMonitor } from '../monitor/monitor.js'
import type { FirstFrameWatch } from '../noise/channel.js'
import type { EchPolicy } from '../policy/policy.js'
import type { HandshakeFailureKind } from '../policy/types.js'
import type { Logger, Peer, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * What to do with one dial:
 * - `stock`: hand it to the stock encrypter
 * - `refuse`: `require` mode with nothing to offer
 * - `ech`: run the engine with a real offer or GREASE (`reason` says why
 * GREASE rather than an offer)
 */
export type OutboundPlan =
  | { kind: 'stock', reason: EchFallbackReason }
  | { kind: 'refuse', reason: EchFallbackReason }
  | { kind: 'ech', hello: OuterHelloPlan, require: boolean, reason?: EchFallbackReason }

export interface OutboundInit {
  configs: PeerConfigStore
  policy: EchPolicy
  monitor: EchMonitor
  reporter: Reporter
  log: Logger
  /** Send GREASE to peers that get no offer, where it is safe (see above) */
  grease: boolean
}

/** GREASE stands in for an offer only where there is no usable config; every other reason means stock Noise */
const GREASE_REASONS: ReadonlySet<EchFallbackReason> = new Set(['no-config', 'expired-config', 'unusable-config'])

type Found = { offer: EchOffer, reason?: undefined, record?: undefined } | { offer?: undefined, reason: EchFallbackReason, record?: Peer }

/** A dial's progress, as the engine reports it: failures before `authenticated` are the address's, not the peer's */
export interface OutboundProgress {
  authenticated: boolean
}

export class Outbound {
  private readonly init: OutboundInit

  constructor (init: OutboundInit) {
    this.init = init
  }

  /**
   * `require` mode is not subject to rollout, the breaker or address
   * refusals: falling back would weaken the connection below what was asked for
   */
  async plan (mode: EchMode, remotePeer?: PeerId, remoteAddr?: string, signal?: AbortSignal): Promise<OutboundPlan> {
    const found = await this.find(mode, remotePeer, remoteAddr, signal)
    if (found.offer != null && remotePeer != null) {
      return { kind: 'ech', hello: { kind: 'offer', offer: found.offer, targetPeer: remotePeer }, require: mode === 'require' }
    }
    const reason = found.reason ?? 'no-peer-id'
    if (mode === 'require') {
      return { kind: 'refuse', reason }
    }
    if (this.mayGrease(mode, reason, remotePeer, remoteAddr, found.record)) {
      return { kind: 'ech', hello: { kind: 'grease' }, require: false, reason }
    }
    // with GREASE on, say when it is the address (not the lack of a config) that sends this dial to stock Noise
    if (this.init.grease && remotePeer != null && GREASE_REASONS.has(reason) && this.init.policy.isAddressRefusing(remotePeer, remoteAddr)) {
      return { kind: 'stock', reason: 'address-refused' }
    }
    return { kind: 'stock', reason }
  }

  /** After a completed handshake: learn retry configs, feed the breaker, report */
  async succeeded (attempt: Attempt, plan: OutboundPlan & { kind: 'ech' }, result: HandshakeResult, remotePeer: PeerId): Promise<void> {
    const offered = plan.hello.kind === 'offer' ? plan.hello.offer : undefined
    const retryConfigsLearned = result.ech === 'rejected' && result.retryRecord != null &&
      await this.learnRetryConfigs(remotePeer, result.retryRecord)
    if (offered != null && !plan.require) {
      // retry configs are neither success nor failure for the breaker
      if (retryConfigsLearned) {
        this.init.policy.recordRetry(remotePeer)
      } else {
        this.init.policy.recordSuccess(remotePeer)
      }
      if (result.ech === 'rejected' && result.retryRecord == null) {
        // an authenticated answer without ECH and without retry configs: stock Noise there
        this.init.policy.recordStockResponder(remotePeer, addressOf(attempt), offered.config.raw)
      }
    }
    this.init.reporter.secured(attempt, result.ech === 'not-offered' ? 'fallback' : result.ech, remotePeer, {
      configId: result.configId ?? offered?.config.configId,
      retryConfigsLearned
    })
  }

  /**
   * After a failed handshake: a `require`-mode rejection learns retry
   * configs; a failure after the responder proved itself feeds its breaker;
   * one before counts against the address only
   */
  async failed (attempt: Attempt, plan: OutboundPlan & { kind: 'ech' }, err: any, progress: OutboundProgress): Promise<void> {
    const { remotePeer } = attempt
    const offered = plan.hello.kind === 'offer' ? plan.hello.offer : undefined
    if (err instanceof EchRejectedError && remotePeer != null) {
      // require mode: refused before message 3; the responder is authenticated
      const retryConfigsLearned = err.retryRecord != null && await this.learnRetryConfigs(remotePeer, err.retryRecord)
      this.init.monitor.requireRefused({ role: 'initiator', remotePeer, remoteAddr: attempt.remoteAddr, reason: 'rejected' })
      this.init.reporter.secured(attempt, 'rejected', remotePeer, { reason: 'require-refused', retryConfigsLearned, configId: offered?.config.configId, error: err.name })
      return
    }
    const kind = failureKind(err)
    if (remotePeer != null && kind != null) {
      this.countFailure(attempt, plan, remotePeer, kind, progress.authenticated)
    }
    this.init.reporter.failed(attempt, err, 'ech')
  }

  /** Where a failed outer hello counts (require mode never consults the breaker or the refusals, so it does not feed them) */
  private countFailure (attempt: Attempt, plan: OutboundPlan & { kind: 'ech' }, remotePeer: PeerId, kind: HandshakeFailureKind, authenticated: boolean): void {
    const offered = plan.hello.kind === 'offer' ? plan.hello.offer : undefined
    if (!plan.require) {
      if (!authenticated) {
        this.init.policy.recordUnprovenFailure(remotePeer, addressOf(attempt), offered?.config.raw)
      } else if (offered != null) {
        this.init.policy.recordFailure(remotePeer, kind)
      }
    }
    if (offered != null) {
      // a peer that accepted before and now fails our offers: a downgrade signal
      this.init.monitor.offerFailed({ remotePeer, remoteAddr: attempt.remoteAddr, authenticated })
    }
  }

  /**
   * The responder's first transport frame shows that it took the outer hello
   * (a Noise that checks message 1 only after message 3, as jvm-libp2p does,
   * finishes the handshake and hangs up): only then does it count as taking
   * outer hellos, which GREASE needs
   */
  watchFirstFrame (attempt: Attempt): FirstFrameWatch | undefined {
    const { remotePeer } = attempt
    if (remotePeer == null) { return undefined }
    return new FirstFrame(this.init.policy, remotePeer, attempt.remoteAddr)
  }

  /**
   * A stock handshake proved the peer: when its address had refused an outer
   * hello, the peer (or its path) does not take one (`policy/refusals.ts`)
   */
  stockSucceeded (attempt: Attempt, remotePeer: PeerId): void {
    this.init.policy.recordStockSuccess(remotePeer, addressOf(attempt))
  }

  private async find (mode: EchMode, remotePeer?: PeerId, remoteAddr?: string, signal?: AbortSignal): Promise<Found> {
    if (mode === 'disabled') {
      return { reason: 'disabled' }
    }
    if (remotePeer == null) {
      return { reason: 'no-peer-id' }
    }
    // require mode is not subject to the policy; otherwise a peer the kill
    // switch or the rollout keeps on stock Noise is not looked for in the DHT
    let options = CERTIFIED_ADDRESSES
    if (mode !== 'require') {
      options = this.init.policy.mayOffer(remotePeer) ? ANY_ADDRESSES : ANY_ADDRESSES_NO_FIND
    }
    const lookup: EchOfferLookup = await this.init.configs.lookup(remotePeer, signal == null ? options : { ...options, signal })
    if (lookup.offer == null || mode === 'require') {
      return lookup
    }
    const decision = this.init.policy.decide(remotePeer)
    if (!decision.offer) {
      return { reason: decision.reason }
    }
    const address = this.init.policy.decideAddress(remotePeer, remoteAddr, lookup.offer.config.raw)
    return address.offer ? lookup : { reason: address.reason }
  }

  /** GREASE only where there is simply no config, and the peer is known to take an outer hello */
  private mayGrease (mode: EchMode, reason: EchFallbackReason, remotePeer?: PeerId, remoteAddr?: string, record?: Peer): boolean {
    if (!this.init.grease || mode === 'disabled' || remotePeer == null || !GREASE_REASONS.has(reason)) {
      return false
    }
    return this.init.policy.mayGrease(remotePeer, remoteAddr, identifyOf(record))
  }

  private async learnRetryConfigs (remotePeer: PeerId, record: Uint8Array): Promise<boolean> {
    try {
      await this.init.configs.storeSignedRecord(remotePeer, record)
      this.init.log('learned retry configs from %p', remotePeer)
      return true
    } catch (err: any) {
      this.init.log.error('refusing retry configs from %p - %e', remotePeer, err)
      this.init.monitor.retryConfigsRefused({ remotePeer, error: err })
      return false
    }
  }
}

/**
 * The watch an ECH dial's channel holds until the remote's first frame: the
 * policy, the peer and its address only (not the attempt, nor a closure over
 * it), as a connection that carries no data yet holds it for its whole life
 */
class FirstFrame implements FirstFrameWatch {
  private readonly policy: EchPolicy
  private readonly remotePeer: PeerId
  private readonly remoteAddr?: Multiaddr

  constructor (policy: EchPolicy, remotePeer: PeerId, remoteAddr?: Multiaddr) {
    this.policy = policy
    this.remotePeer = remotePeer
    this.remoteAddr = remoteAddr
  }

  firstFrame (): void {
    this.policy.recordOuterHelloCompleted(this.remotePeer, this.remoteAddr?.toString())
  }
}

/**
 * Configs in the peer's stored addresses (`/noise/ech/…`): those from its
 * signed peer record (certified: its own word, identify) first, then the
 * others (a bootstrap list, peer routing), which are only as trustworthy as
 * whoever handed out the address. `require` mode takes certified ones only:
 * a config forged into an address would let whoever holds its key read the
 * outer hello that mode relies on.
 */
const ANY_ADDRESSES: EchLookupOptions = { addressConfig: (record) => addressConfig(record, false) }
const CERTIFIED_ADDRESSES: EchLookupOptions = { addressConfig: (record) => addressConfig(record, true) }
const ANY_ADDRESSES_NO_FIND: EchLookupOptions = { ...ANY_ADDRESSES, find: false }

function addressConfig (record: Peer, certifiedOnly: boolean): Uint8Array | undefined {
  const certified = record.addresses.filter(a => a.isCertified).map(a => a.multiaddr)
  if (certifiedOnly) {
    return echConfigListFromAddresses(certified)
  }
  return echConfigListFromAddresses(certified) ?? echConfigListFromAddresses(record.addresses.filter(a => a.isCertified !== true).map(a => a.multiaddr))
}

/** The dialled address, as the refusals remember it */
function addressOf (attempt: Attempt): string | undefined {
  return attempt.remoteAddr?.toString()
}

/** What identify stored about the peer (`AgentVersion` metadata, protocols) */
function identifyOf (record?: Peer): { agentVersion?: string, protocols?: readonly string[] } {
  const agent = record?.metadata.get('AgentVersion')
  return { agentVersion: agent == null ? undefined : uint8ArrayToString(agent), protocols: record?.protocols }
}
