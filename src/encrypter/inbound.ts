/**
 * The listener's side of the wrapper: admitting an inbound handshake,
 * reading message 1 against its own deadline, and running the ECH responder
 * when message 1 carries an outer hello.
 *
 * Resource limits (SECURITY.md §4.4): a real message 1 arrives one round
 * trip after the connection is secured-to-be, so it gets a deadline far
 * shorter than libp2p's upgrade timeout (`message1Timeout`, default 2 s); a
 * peer that trickles it (slowloris) loses its slot in libp2p's pending
 * inbound connections after that, not after 10 s. And one source (an IP, an
 * IPv6 /64) may hold at most `maxPendingPerSource` inbound handshakes at once:
 * more are refused at once (`InboundLimitError`), which frees their slots.
 * Each source also has a budget of HPKE opens (`open-budget.ts`): an outer
 * hello over it is answered as one that cannot be opened (plain XX with
 * retry configs, or a `require` refusal) without spending a decapsulation.
 */
import { EchDecodeError, EchRequiredError } from '../ech/errors.js'
import { performResponderHandshake } from '../ech/handshake.js'
import { sourceKey } from '../monitor/source.js'
import { noiseFrames, typedIoError } from '../noise/framing.js'
import { InboundLimitError } from './errors.js'
import { OpenBudget, openCost } from './open-budget.js'
import { passedDeadline, peekMessage1 } from './peek.js'
import { securedConnection } from './secured.js'
import type { OpenBudgetInit } from './open-budget.js'
import type { PeekedMessage1 } from './peek.js'
import type { Attempt, Reporter } from './report.js'
import type { HandshakeInit, HandshakeResult } from '../ech/types.js'
import type { EchKeyManager } from '../keys/manager.js'
import type { EchMonitor } from '../monitor/monitor.js'
import type { EchPolicy } from '../policy/policy.js'
import type { NoiseExtensions } from '@chainsafe/libp2p-noise'
import type { Logger, MessageStream, PeerId, SecureConnectionOptions, SecuredConnection, Upgrader } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

export const DEFAULT_MESSAGE1_TIMEOUT = 2000
export const DEFAULT_MAX_PENDING_PER_SOURCE = 8
/** Sources are counted as the monitor counts them: an IPv6 host holds a whole /64 */
const IPV6_PREFIX = 64

export interface InboundInit {
  keys: EchKeyManager
  policy: EchPolicy
  monitor: EchMonitor
  reporter: Reporter
  localPeer: PeerId
  /** Read when needed: libp2p sets the upgrader after the encrypters are made */
  upgrader(): Upgrader
  /** This node's signed config record, sent as retry configs */
  retryRecord(): Promise<Uint8Array>
  /** The engine's settings shared with the dialer side */
  handshake(frames: LengthPrefixedStream, connection: MessageStream, options?: SecureConnectionOptions): HandshakeInit
  message1Timeout: number
  maxPendingPerSource: number
  openBudget?: OpenBudgetInit
  log: Logger
}

export class Inbound {
  private readonly init: InboundInit
  /** Inbound handshakes in flight per source; an entry goes when its count returns to 0 */
  private readonly inFlight = new Map<string, number>()
  private readonly budget: OpenBudget

  constructor (init: InboundInit) {
    this.init = init
    this.budget = new OpenBudget(init.openBudget)
  }

  /**
   * Count one inbound handshake in, or refuse it (`InboundLimitError`) when
   * its source is at its limit; the monitor sees every start, and `release`
   * every end. The source is worked out once, here (`attempt.source`).
   */
  admit (attempt: Attempt): void {
    const { remoteAddr } = attempt
    const { monitor } = this.init
    const tracked = monitor.inboundStarted(remoteAddr)
    // the monitor's key is this one unless its IPv6 grouping was changed
    const source = monitor.ipv6PrefixLength === IPV6_PREFIX ? tracked : sourceKey(remoteAddr, IPV6_PREFIX)
    const count = this.inFlight.get(source) ?? 0
    if (count >= this.init.maxPendingPerSource) {
      try {
        this.init.reporter.refuse(attempt, new InboundLimitError())
      } finally {
        monitor.inboundEnded(remoteAddr, tracked)
      }
    }
    this.inFlight.set(source, count + 1)
    attempt.source = source
  }

  /** An admitted handshake ended, however it ended */
  release (attempt: Attempt): void {
    const { remoteAddr, source } = attempt
    const { monitor } = this.init
    if (source == null) { return }
    this.leave(source)
    monitor.inboundEnded(remoteAddr, monitor.ipv6PrefixLength === IPV6_PREFIX ? source : undefined)
  }

  /**
   * Message 1, read and parsed once, within its own deadline; read and
   * decode failures are reported here
   */
  async peek (attempt: Attempt, options: SecureConnectionOptions): Promise<PeekedMessage1> {
    try {
      // a timer, not AbortSignal.timeout + AbortSignal.any: ~30 µs less on every inbound connection
      return await peekMessage1(attempt.connection, { signal: options.signal, timeout: this.init.message1Timeout })
    } catch (thrown) {
      const err = typedIoError(thrown)
      if (passedDeadline(thrown)) {
        this.init.monitor.stalled({ remoteAddr: attempt.remoteAddr, stage: 'message1' })
      } else if (err instanceof EchDecodeError) {
        this.init.monitor.malformed({ remoteAddr: attempt.remoteAddr, error: err })
      }
      this.init.reporter.failed(attempt, err, err instanceof EchDecodeError ? 'ech' : 'stock')
      throw err
    }
  }

  /** The ECH responder, for a message 1 that carries an outer hello */
  async respond (attempt: Attempt, peeked: PeekedMessage1 & { kind: 'ech' }, require: boolean, options: SecureConnectionOptions | undefined, signal: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const frames = noiseFrames(peeked.stream)
    const { remoteAddr } = attempt
    const { monitor } = this.init
    let failedOpen: string | undefined
    let result: HandshakeResult
    try {
      result = await performResponderHandshake({
        ...this.init.handshake(frames, attempt.connection, options),
        remotePeer: options?.remotePeer,
        message1: peeked.message1,
        outerHello: peeked.outerHello,
        keys: this.withinBudget(attempt, peeked) ? this.init.keys.getKeys() : [],
        localPeer: this.init.localPeer,
        retryRecord: await this.init.retryRecord(),
        require,
        onOuterHello: ({ accepted, reason, enc }) => {
          // reported before message 2, so hellos that are never followed by message 3 are counted too
          if (accepted) {
            monitor.outerHelloAccepted({ remoteAddr, enc })
          } else {
            failedOpen = reason ?? 'open-failed'
            monitor.outerHelloFailed({ remoteAddr, enc, reason })
          }
        }
      }, signal)
    } catch (err: any) {
      this.reportFailure(attempt, err, failedOpen)
      throw err
    }
    const secured = securedConnection(frames, result, this.init.upgrader(), options)
    // it sent an outer hello: it runs this package, and takes them
    this.init.policy.recordOuterHelloCompleted(secured.remotePeer)
    this.init.reporter.secured(attempt, result.ech === 'accepted' ? 'accepted' : 'rejected', secured.remotePeer, { configId: result.configId })
    return secured
  }

  /**
   * An outer hello that could not be opened is not a probe by itself (GREASE
   * and stale configs look the same and then complete); one whose connection
   * then fails is
   */
  private reportFailure (attempt: Attempt, err: any, failedOpen?: string): void {
    const { remoteAddr } = attempt
    const { monitor } = this.init
    if (err instanceof EchRequiredError) {
      monitor.requireRefused({ role: 'responder', remoteAddr, reason: err.reason })
    } else if (err instanceof EchDecodeError) {
      monitor.malformed({ remoteAddr, error: err })
    } else if (err?.name === 'TimeoutError') {
      monitor.stalled({ remoteAddr, stage: 'handshake' })
    }
    if (failedOpen != null) {
      monitor.probe({ remoteAddr, reason: failedOpen })
    }
    this.init.reporter.failed(attempt, err, 'ech')
  }

  /** Whether this source may spend an HPKE open on this outer hello now */
  private withinBudget (attempt: Attempt, peeked: PeekedMessage1 & { kind: 'ech' }): boolean {
    if (this.budget.take(attempt.source ?? sourceKey(attempt.remoteAddr, IPV6_PREFIX), openCost(peeked.outerHello))) {
      return true
    }
    this.init.log('outer hello from %a over its source\'s HPKE open budget: answered as unopenable', attempt.remoteAddr)
    return false
  }

  private leave (source: string): void {
    const count = (this.inFlight.get(source) ?? 1) - 1
    if (count <= 0) {
      this.inFlight.delete(source)
    } else {
      this.inFlight.set(source, count)
    }
  }
}
