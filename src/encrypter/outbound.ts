/**
 * The dialer's side of the wrapper: whether a dial offers ECH (the peer
 * store's offer, the mode, the policy, GREASE), and what a finished offer
 * means afterwards (retry configs learned, the circuit breaker fed).
 */
import { EchRejectedError } from '../ech/errors.js'
import { failureKind } from '../policy/failure.js'
import type { Attempt, Reporter } from './report.js'
import type { EchFallbackReason, EchMode } from './types.js'
import type { EchOffer } from '../config/offer.js'
import type { PeerConfigStore } from '../config/peer-store.js'
import type { HandshakeResult, OuterHelloPlan } from '../ech/types.js'
import type { EchMonitor } from '../monitor/monitor.js'
import type { EchPolicy } from '../policy/policy.js'
import type { Logger, PeerId } from '@libp2p/interface'

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
  /** Send GREASE to peers that get no offer */
  grease: boolean
}

type Found = { offer: EchOffer, reason?: undefined } | { offer?: undefined, reason: EchFallbackReason }

export class Outbound {
  private readonly init: OutboundInit

  constructor (init: OutboundInit) {
    this.init = init
  }

  /**
   * `require` mode is not subject to rollout or the breaker: falling back
   * would weaken the connection below what was asked for
   */
  async plan (mode: EchMode, remotePeer?: PeerId): Promise<OutboundPlan> {
    const found = await this.find(mode, remotePeer)
    if (found.offer != null && remotePeer != null) {
      return { kind: 'ech', hello: { kind: 'offer', offer: found.offer, targetPeer: remotePeer }, require: mode === 'require' }
    }
    const reason = found.reason ?? 'no-peer-id'
    if (mode === 'require') {
      return { kind: 'refuse', reason }
    }
    if (this.init.grease && mode !== 'disabled') {
      return { kind: 'ech', hello: { kind: 'grease' }, require: false, reason }
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
    }
    this.init.reporter.secured(attempt, result.ech === 'not-offered' ? 'fallback' : result.ech, remotePeer, {
      configId: result.configId ?? offered?.config.configId,
      retryConfigsLearned
    })
  }

  /** After a failed handshake: a `require`-mode rejection learns retry configs; other failures feed the breaker */
  async failed (attempt: Attempt, plan: OutboundPlan & { kind: 'ech' }, err: any): Promise<void> {
    const { remotePeer } = attempt
    const offered = plan.hello.kind === 'offer' ? plan.hello.offer : undefined
    if (err instanceof EchRejectedError && remotePeer != null) {
      // require mode: refused before message 3; the responder is authenticated
      const retryConfigsLearned = err.retryRecord != null && await this.learnRetryConfigs(remotePeer, err.retryRecord)
      this.init.monitor.requireRefused({ role: 'initiator', remotePeer, remoteAddr: attempt.remoteAddr, reason: 'rejected' })
      this.init.reporter.secured(attempt, 'rejected', remotePeer, { reason: 'require-refused', retryConfigsLearned, configId: offered?.config.configId, error: err.name })
      return
    }
    // require mode never consults the breaker, so it does not feed it either
    const kind = offered != null && remotePeer != null && !plan.require ? failureKind(err) : undefined
    if (kind != null && remotePeer != null) {
      this.init.policy.recordFailure(remotePeer, kind)
    }
    this.init.reporter.failed(attempt, err, 'ech')
  }

  private async find (mode: EchMode, remotePeer?: PeerId): Promise<Found> {
    if (mode === 'disabled') {
      return { reason: 'disabled' }
    }
    if (remotePeer == null) {
      return { reason: 'no-peer-id' }
    }
    const lookup = await this.init.configs.lookup(remotePeer)
    if (lookup.offer == null || mode === 'require') {
      return lookup
    }
    const decision = this.init.policy.decide(remotePeer)
    return decision.offer ? lookup : { reason: decision.reason }
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
