/**
 * The composing wrapper. One `/noise` encrypter that, per connection, either
 * runs the ECH-Noise engine or hands the connection, untouched, to the stock
 * `@chainsafe/libp2p-noise` encrypter. The decisions live next door:
 * `outbound.ts` plans a dial and settles its offer, `inbound.ts` peeks at
 * message 1, `report.ts` turns every result into events and metrics.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { serviceCapabilities } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { PeerConfigStore } from '../config/peer-store.js'
import { defaultProvider } from '../crypto/default.js'
import { EchRequiredError } from '../ech/errors.js'
import { performInitiatorHandshake } from '../ech/handshake.js'
import { kemIdsByName } from '../hpke/registry.js'
import { EchKeyManager } from '../keys/manager.js'
import { SignedRecordCache } from '../keys/signed-record.js'
import { EchMonitor } from '../monitor/monitor.js'
import { noiseFrames, typedIoError } from '../noise/framing.js'
import { EchPolicy } from '../policy/policy.js'
import { watchExposure } from './exposure.js'
import { DEFAULT_MAX_PENDING_PER_SOURCE, DEFAULT_MESSAGE1_TIMEOUT, Inbound } from './inbound.js'
import { Outbound } from './outbound.js'
import { PeerStoreConfigReader } from './peer-store-read.js'
import { Reporter } from './report.js'
import { checkRemotePeer, securedConnection } from './secured.js'
import type { OutboundPlan } from './outbound.js'
import type { Attempt } from './report.js'
import type { EchConnectionInfo, EchFallbackReason, EchMode, EchNoiseComponents, EchNoiseEvents, EchNoiseInit } from './types.js'
import type { CryptoProvider, DhPrivateKey } from '../crypto/provider.js'
import type { HandshakeInit, HandshakeResult } from '../ech/types.js'
import type { NoiseExtensions } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, Logger, MessageStream, PeerId, SecureConnectionOptions, SecuredConnection, Startable } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000

/**
 * The `/noise` connection encrypter with an ECH outer hello; create it with
 * {@link echNoise} in `connectionEncrypters`.
 *
 * Per connection it either runs the ECH-Noise engine or hands the connection,
 * untouched, to a stock `@chainsafe/libp2p-noise` encrypter it holds
 * (configured by `init.noise`):
 *
 * Outbound, ECH is offered when the mode allows it, the remote peer id is
 * known, a usable config for it is in the peer store under
 * {@link ECH_PEER_STORE_KEY}, and (outside `require` mode) the
 * {@link EchPolicy} agrees (kill switch, rollout share, circuit breaker);
 * otherwise the dial goes to stock Noise, or sends a GREASE outer hello when
 * `init.grease` is set, or fails in `require` mode.
 *
 * Inbound (unless ECH is disabled), message 1 is read first: an outer hello
 * goes to the ECH engine, anything else to stock Noise with message 1
 * replayed to it, or is refused in `require` mode.
 *
 * Every secured or failed connection is reported as events (see
 * {@link EchNoiseEvents}) and to {@link EchNoise.monitor}; outside `require`
 * mode, how an offer ended also feeds the peer's circuit breaker.
 * {@link EchNoise.getConnectionInfo} tells the outcome of one connection
 * afterwards.
 */
export class EchNoise extends TypedEventEmitter<EchNoiseEvents> implements ConnectionEncrypter<NoiseExtensions>, Startable {
  /**
   * `/noise`, the stock protocol id: ECH needs no protocol negotiation of its
   * own (an outer hello is recognised inside message 1), so this encrypter
   * talks to any libp2p Noise peer and replaces `noise()` one for one
   */
  public readonly protocol = '/noise'
  /** `libp2p-noise-ech`, for `Object.prototype.toString` and logs */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech'
  /**
   * Capabilities libp2p matches against other components'
   * `serviceDependencies` at start-up: a connection encrypter, a stand-in
   * for stock Noise under both its names, `@chainsafe/libp2p-noise` and
   * `@libp2p/noise` (so a service that requires stock Noise accepts this
   * encrypter in its place), and `libp2p-noise-ech` itself
   */
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption', '@chainsafe/libp2p-noise', '@libp2p/noise', 'libp2p-noise-ech']

  /** `opportunistic`, `require` or `disabled`; may be changed at run time */
  public mode: EchMode
  /**
   * This node's own ECH keys, used as responder to open outer hellos and
   * published as its configs: the given `init.keys`, or keys generated,
   * persisted in the datastore and rotated on a timer (`init.keyManager`).
   * `keys.rotate()` rotates now.
   */
  public readonly keys: EchKeyManager
  /**
   * The fallback policy for outbound offers: kill switch (`ECH_ENABLED`,
   * `init.enabled`), rollout share (`ECH_ROLLOUT_PERCENTAGE`,
   * `init.rolloutPercentage`) and per-peer circuit breakers; its
   * `setEnabled()` and `setRolloutPercentage()` change them at run time
   */
  public readonly policy: EchPolicy
  /**
   * The security monitor: counters (`getCounters()`), threat detection,
   * the audit log and the `libp2p_ech_noise_*` metrics, fed by every
   * handshake this encrypter runs
   */
  public readonly monitor: EchMonitor
  private readonly components: EchNoiseComponents
  private readonly init: EchNoiseInit
  private readonly log: Logger
  private readonly provider: CryptoProvider
  private readonly stock: ConnectionEncrypter<NoiseExtensions>
  private readonly configs: PeerConfigStore
  /** How a dial reads its peer's configs, when not with `peerStore.get` (see `peer-store-read.ts`) */
  private readonly reader?: PeerStoreConfigReader
  private readonly staticKey: DhPrivateKey
  private readonly record: SignedRecordCache
  private readonly reporter: Reporter
  private readonly outbound: Outbound
  private readonly inbound: Inbound
  private unwatch?: () => void

  /**
   * Usually called by libp2p through {@link echNoise}. Settings are checked
   * here: the `ECH_ENABLED` / `ECH_ROLLOUT_PERCENTAGE` environment variables
   * are read once and an invalid value throws `EchPolicyConfigError`; an
   * unknown name in `init.kems` throws `InvalidParametersError`.
   */
  constructor (components: EchNoiseComponents, init: EchNoiseInit = {}) {
    super()
    this.components = components
    this.init = init
    this.mode = init.mode ?? 'opportunistic'
    this.log = components.logger.forComponent('libp2p:noise-ech')
    this.provider = init.provider ?? defaultProvider
    this.stock = noise(init.noise)(components)
    // GREASE decides on the whole record of a peer without a config (what identify learned), which only `get` gives
    this.reader = init.grease === true ? undefined : new PeerStoreConfigReader({ peerStore: components.peerStore, datastore: components.datastore, localPeer: components.peerId, log: this.log })
    const reader = this.reader
    this.configs = new PeerConfigStore({ peerStore: components.peerStore, provider: this.provider, log: this.log, kemIds: kemIdsByName(init.kems), read: reader == null ? undefined : (peer) => reader.read(peer) })
    this.staticKey = init.noise?.staticNoiseKey != null
      ? this.provider.x25519FromSecret(init.noise.staticNoiseKey)
      : this.provider.x25519Generate()
    this.keys = new EchKeyManager(components, { ...init.keyManager, keys: init.keys, provider: this.provider })
    this.record = new SignedRecordCache(this.keys, components.privateKey)
    // reads ECH_ENABLED / ECH_ROLLOUT_PERCENTAGE now; a bad value fails start-up
    this.policy = new EchPolicy(components, { ...init.policy, enabled: init.enabled, rolloutPercentage: init.rolloutPercentage })
    this.monitor = new EchMonitor(components, {
      ...init.monitor,
      events: this,
      getLiveKeys: () => this.keys.getKeys().length,
      getOpenBreakers: () => this.policy.getState().openBreakers.length
    })
    this.monitor.observe({ keys: this.keys, policy: this.policy })
    this.reporter = new Reporter(this.log, this.monitor)
    this.inbound = new Inbound({
      keys: this.keys,
      policy: this.policy,
      monitor: this.monitor,
      reporter: this.reporter,
      localPeer: components.peerId,
      upgrader: () => components.upgrader,
      retryRecord: async () => this.getSignedConfigRecord(),
      handshake: (frames, connection, options) => this.handshakeInit(frames, connection, options),
      message1Timeout: init.message1Timeout ?? DEFAULT_MESSAGE1_TIMEOUT,
      maxPendingPerSource: init.maxPendingPerSource ?? DEFAULT_MAX_PENDING_PER_SOURCE,
      openBudget: init.openBudget,
      log: this.log
    })
    this.outbound = new Outbound({ configs: this.configs, policy: this.policy, monitor: this.monitor, reporter: this.reporter, log: this.log, grease: init.grease === true })
    if (!this.policy.isEnabled() && this.mode !== 'disabled') {
      this.log('ECH is disabled by the kill switch: every connection uses stock Noise despite mode %s', this.mode)
    }
  }

  /**
   * Starts the key manager (loads or generates this node's keys and
   * schedules rotation) and the policy (loads persisted open breakers).
   * libp2p calls it when the node starts.
   */
  async start (): Promise<void> {
    await Promise.all([this.keys.start(), this.policy.start()])
    if (this.mode === 'require') {
      this.unwatch = watchExposure(this.log, this.components, this.policy, this.keys)
    }
  }

  /**
   * Stops the key manager (clears its rotation timer and destroys generated
   * keys in memory), the policy (writes pending breaker changes to the
   * datastore), then clears the monitor's trackers (its metrics stay
   * registered)
   */
  async stop (): Promise<void> {
    this.unwatch?.()
    await Promise.all([this.keys.stop(), this.policy.stop()])
    this.monitor.stop()
  }

  /** This node's live ECH configs (newest first) as an ECHConfigList in wire form */
  getEchConfigList (): Uint8Array {
    return this.keys.getConfigList()
  }

  /** This node's configs sealed in a signed envelope, for peers to verify */
  async getSignedConfigRecord (): Promise<Uint8Array> {
    return this.record.get()
  }

  /** Verify a peer's signed config record (from any source) and store it in the peer store */
  async importSignedConfigRecord (peer: PeerId, record: Uint8Array): Promise<void> {
    await this.configs.storeSignedRecord(peer, record)
  }

  /**
   * The ECH outcome of a connection this encrypter secured: pass the
   * `Connection` (or the stream given to `secureInbound`/`secureOutbound`).
   */
  getConnectionInfo (connection: { timeline?: object }): EchConnectionInfo | undefined {
    return this.reporter.get(connection)
  }

  /** Whether ECH is in use at all: false in `disabled` mode or with the kill switch off */
  isEchEnabled (): boolean {
    return this.effectiveMode() !== 'disabled'
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const attempt = this.reporter.start(connection, 'outbound', options)
    const plan = await this.outbound.plan(this.effectiveMode(), attempt.remotePeer, attempt.remoteAddr?.toString(), options?.signal)
    switch (plan.kind) {
      case 'stock': return this.stockOutbound(attempt, plan.reason, options)
      case 'refuse': return this.refuseOutbound(attempt, plan.reason)
      default: return this.echOutbound(attempt, plan, options)
    }
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const attempt = this.reporter.start(connection, 'inbound', options)
    // admitted and released here, not around a callback: no closure and no
    // extra promise on every inbound connection
    this.inbound.admit(attempt)
    try {
      const mode = this.effectiveMode()
      if (mode === 'disabled') {
        return await this.stockInbound(attempt, connection, 'disabled', options)
      }
      const signal = this.withTimeout(options)
      const peeked = await this.inbound.peek(attempt, signal)
      if (peeked.kind === 'ech') {
        return await this.inbound.respond(attempt, peeked, mode === 'require', options, signal)
      }
      if (mode === 'require') {
        this.monitor.requireRefused({ role: 'responder', remoteAddr: attempt.remoteAddr, reason: 'not-offered' })
        this.reporter.refuse(attempt, new EchRequiredError('not-offered'), peeked.stream)
      }
      return await this.stockInbound(attempt, peeked.stream, 'not-offered', options)
    } finally {
      this.inbound.release(attempt)
    }
  }

  /** The operator kill switch (`ECH_ENABLED=false` or `policy.setEnabled(false)`) wins over `mode` */
  private effectiveMode (): EchMode {
    return this.policy.isEnabled() ? this.mode : 'disabled'
  }

  private async echOutbound (attempt: Attempt, plan: OutboundPlan & { kind: 'ech' }, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const frames = noiseFrames(attempt.connection)
    const progress = { authenticated: false }
    let result: HandshakeResult
    try {
      result = await performInitiatorHandshake({
        ...this.handshakeInit(frames, attempt.connection, options),
        remotePeer: attempt.remotePeer,
        ech: plan.hello,
        require: plan.require,
        onAuthenticated: () => { progress.authenticated = true }
      }, this.withTimeout(options))
    } catch (err) {
      await this.outbound.failed(attempt, plan, err, progress)
      throw err
    }
    const secured = securedConnection(frames, result, this.components.upgrader, options, this.outbound.watchFirstFrame(attempt))
    await this.outbound.succeeded(attempt, plan, result, secured.remotePeer)
    return secured
  }

  private refuseOutbound (attempt: Attempt, reason: EchFallbackReason): never {
    this.monitor.requireRefused({ role: 'initiator', remotePeer: attempt.remotePeer, remoteAddr: attempt.remoteAddr, reason })
    return this.reporter.refuse(attempt, new EchRequiredError(reason, `ECH is required but cannot be offered to this peer (${reason})`))
  }

  private async stockOutbound (attempt: Attempt, reason: EchFallbackReason, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    this.monitor.fallback(reason, attempt.remotePeer)
    try {
      const secured = checkRemotePeer(await this.stock.secureOutbound(attempt.connection, options), options?.remotePeer)
      this.outbound.stockSucceeded(attempt, secured.remotePeer)
      this.reporter.secured(attempt, 'fallback', secured.remotePeer, { reason })
      return secured
    } catch (err) {
      const typed = typedIoError(err)
      this.reporter.failed(attempt, typed, 'stock')
      throw typed
    }
  }

  private async stockInbound (attempt: Attempt, stream: MessageStream, reason: 'disabled' | 'not-offered', options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    this.monitor.fallback(reason, attempt.remotePeer)
    try {
      const secured = checkRemotePeer(await this.stock.secureInbound(stream, options), options?.remotePeer)
      this.reporter.secured(attempt, reason === 'disabled' ? 'fallback' : 'not-offered', secured.remotePeer, reason === 'disabled' ? { reason } : {})
      return secured
    } catch (err) {
      const typed = typedIoError(err)
      if ((typed as Error)?.name === 'TimeoutError') {
        // message 1 came (or was not read), message 3 did not: the stock path stalls too
        this.monitor.stalled({ remoteAddr: attempt.remoteAddr, stage: 'handshake' })
      }
      this.reporter.failed(attempt, typed, 'stock')
      throw typed
    }
  }

  private handshakeInit (frames: LengthPrefixedStream, connection: MessageStream, options?: SecureConnectionOptions): HandshakeInit {
    const streamMuxers = options?.skipStreamMuxerNegotiation === true ? [] : [...this.components.upgrader.getStreamMuxers().keys()]
    return {
      connection: frames,
      provider: this.provider,
      privateKey: this.components.privateKey,
      staticKey: this.staticKey,
      extensions: { streamMuxers, webtransportCerthashes: [], ...this.init.noise?.extensions },
      prologue: this.init.noise?.prologueBytes,
      log: connection.log?.newScope('noise-ech') ?? this.log
    }
  }

  private withTimeout (options?: SecureConnectionOptions): SecureConnectionOptions {
    if (options?.signal != null) {
      return options
    }
    return { ...options, signal: AbortSignal.timeout(this.init.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) }
  }
}
