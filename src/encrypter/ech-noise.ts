/**
 * The composing wrapper. One `/noise` encrypter that, per connection, either
 * runs the ECH-Noise engine or hands the connection, untouched, to the stock
 * `@chainsafe/libp2p-noise` encrypter.
 *
 * Outbound: a usable config for the remote in the peer store (and the policy
 * agrees) → ECH engine; otherwise stock Noise. Inbound: message 1 is read; an
 * outer hello → ECH engine; none → stock Noise with message 1 replayed,
 * unless `require` mode.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { InvalidParametersError, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { PeerConfigStore } from '../config/peer-store.js'
import { createSignedConfigRecord } from '../config/record.js'
import { nodeProvider } from '../crypto/node.js'
import { EchRejectedError, EchRequiredError } from '../ech/errors.js'
import { extractOuterHello, performInitiatorHandshake, performResponderHandshake } from '../ech/handshake.js'
import { getKemByName, supportedKems } from '../hpke/registry.js'
import { EchKeyManager } from '../keys/manager.js'
import { EchMonitor } from '../monitor/monitor.js'
import { toMessageStream } from '../noise/channel.js'
import { noiseFrames } from '../noise/framing.js'
import { EchPolicy } from '../policy/policy.js'
import { failureKind, selectStreamMuxer } from './connection-utils.js'
import { readFirstFrame } from './inbound.js'
import type { EchConnectionInfo, EchFallbackReason, EchMode, EchNoiseComponents, EchNoiseEvents, EchNoiseInit, EchOutcome } from './types.js'
import type { EchOffer } from '../config/peer-store.js'
import type { DhPrivateKey } from '../crypto/provider.js'
import type { HandshakeInit, HandshakeResult } from '../ech/types.js'
import type { NoiseExtensions } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, Logger, MessageStream, PeerId, SecureConnectionOptions, SecuredConnection, Startable } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

// Signed records live 48 h (the most a peer may cache them) and are re-signed
// after 24 h, so retry configs never go out close to expiry.
const RECORD_TTL_SECONDS = 48 * 60 * 60
const RECORD_REFRESH_MS = 24 * 60 * 60 * 1000
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000

/** One secureInbound/secureOutbound call, for reporting */
interface Attempt {
  connection: MessageStream
  direction: 'inbound' | 'outbound'
  start: number
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
}

type OutboundPlan = { offer: EchOffer, reason?: undefined } | { offer?: undefined, reason: EchFallbackReason }

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
   * for `@chainsafe/libp2p-noise` (so a service that requires stock Noise
   * accepts this encrypter in its place), and `libp2p-noise-ech` itself
   */
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption', '@chainsafe/libp2p-noise', 'libp2p-noise-ech']

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
  private readonly stock: ConnectionEncrypter<NoiseExtensions>
  private readonly configs: PeerConfigStore
  private readonly staticKey: DhPrivateKey
  private readonly connections = new WeakMap<object, EchConnectionInfo>()
  private signedRecord?: { created: number, record: Promise<Uint8Array> }

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
    this.stock = noise(init.noise)(components)
    const provider = init.provider ?? nodeProvider
    this.configs = new PeerConfigStore({ peerStore: components.peerStore, provider, log: this.log, kemIds: kemIdsOf(init.kems) })
    this.staticKey = init.noise?.staticNoiseKey != null
      ? provider.x25519FromSecret(init.noise.staticNoiseKey)
      : provider.x25519Generate()
    this.keys = new EchKeyManager(components, { ...init.keyManager, keys: init.keys, provider })
    // reads ECH_ENABLED / ECH_ROLLOUT_PERCENTAGE now; a bad value fails start-up
    this.policy = new EchPolicy(components, { ...init.policy, enabled: init.enabled, rolloutPercentage: init.rolloutPercentage })
    this.monitor = new EchMonitor(components, {
      ...init.monitor,
      events: this,
      getLiveKeys: () => this.keys.getKeys().length,
      getOpenBreakers: () => this.policy.getState().openBreakers.length
    })
    if (!this.policy.isEnabled() && this.mode !== 'disabled') {
      this.log('ECH is disabled by the kill switch: every connection uses stock Noise despite mode %s', this.mode)
    }

    // the record lists the live configs: re-sign when that set changes
    const invalidate = (): void => { this.signedRecord = undefined }
    this.keys.addEventListener('ech:rotated', (evt) => {
      invalidate()
      this.monitor.rotation(evt.detail)
    })
    this.keys.addEventListener('ech:key-expired', invalidate)
    this.policy.addEventListener('breaker:open', (evt) => { this.monitor.breaker({ ...evt.detail, state: 'open' }) })
    this.policy.addEventListener('breaker:half-open', (evt) => { this.monitor.breaker({ ...evt.detail, state: 'half-open' }) })
    this.policy.addEventListener('breaker:close', (evt) => { this.monitor.breaker({ ...evt.detail, state: 'closed' }) })
  }

  /**
   * Starts the key manager (loads or generates this node's keys and
   * schedules rotation) and the policy (loads persisted open breakers).
   * libp2p calls it when the node starts.
   */
  async start (): Promise<void> {
    await Promise.all([this.keys.start(), this.policy.start()])
  }

  /**
   * Stops the key manager (clears its rotation timer and destroys generated
   * keys in memory), the policy (writes pending breaker changes to the
   * datastore), then clears the monitor's trackers (its metrics stay
   * registered)
   */
  async stop (): Promise<void> {
    await Promise.all([this.keys.stop(), this.policy.stop()])
    this.monitor.stop()
  }

  /** This node's live ECH configs (newest first) as an ECHConfigList in wire form */
  getEchConfigList (): Uint8Array {
    return this.keys.getConfigList()
  }

  /** This node's configs sealed in a signed envelope, for peers to verify */
  async getSignedConfigRecord (): Promise<Uint8Array> {
    const now = Date.now()
    if (this.signedRecord == null || now - this.signedRecord.created >= RECORD_REFRESH_MS) {
      const entry = {
        created: now,
        record: createSignedConfigRecord(this.components.privateKey, this.getEchConfigList(), { ttlSeconds: RECORD_TTL_SECONDS, now })
      }
      // a failed signature must not be cached
      entry.record.catch(() => {
        if (this.signedRecord === entry) { this.signedRecord = undefined }
      })
      this.signedRecord = entry
    }
    return this.signedRecord.record
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
    return this.connections.get(connection.timeline ?? connection)
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const attempt = this.attempt(connection, 'outbound', options)
    const { remotePeer } = attempt
    const mode = this.effectiveMode()
    const plan = await this.planOutbound(mode, remotePeer)

    if (plan.offer == null) {
      if (mode === 'require') {
        this.monitor.requireRefused({ role: 'initiator', remotePeer, remoteAddr: attempt.remoteAddr, reason: plan.reason })
        this.refuse(attempt, new EchRequiredError(plan.reason, `ECH is required but cannot be offered to this peer (${plan.reason})`))
      }
      if (this.init.grease !== true || mode === 'disabled') {
        return this.stockOutbound(attempt, options, plan.reason)
      }
    }

    const { offer } = plan
    const frames = noiseFrames(connection)
    let result: HandshakeResult
    try {
      result = await performInitiatorHandshake({
        ...this.handshakeInit(frames, connection, options),
        remoteIdentityKey: remotePeer?.publicKey,
        ech: offer != null && remotePeer != null
          ? { kind: 'offer', config: offer.config, publicKey: offer.publicKey, targetPeer: remotePeer }
          : { kind: 'grease' },
        require: mode === 'require'
      }, this.withTimeout(options))
    } catch (err: any) {
      if (err instanceof EchRejectedError && remotePeer != null) {
        // require mode: refused before message 3; the responder is authenticated
        const retryConfigsLearned = err.retryRecord != null && await this.learnRetryConfigs(remotePeer, err.retryRecord)
        this.monitor.requireRefused({ role: 'initiator', remotePeer, remoteAddr: attempt.remoteAddr, reason: 'rejected' })
        this.record(attempt, 'rejected', remotePeer, { reason: 'require-refused', retryConfigsLearned, configId: offer?.config.configId, error: err.name })
      } else {
        // require mode never consults the breaker, so it does not feed it either
        const kind = offer != null && remotePeer != null && mode !== 'require' ? failureKind(err) : undefined
        if (kind != null && remotePeer != null) {
          this.policy.recordFailure(remotePeer, kind)
        }
        this.failed(attempt, err, 'ech')
      }
      throw err
    }

    const secured = this.secured(frames, result, options)
    const retryConfigsLearned = result.ech === 'rejected' && result.retryRecord != null &&
      await this.learnRetryConfigs(secured.remotePeer, result.retryRecord)
    if (offer != null && mode !== 'require') {
      // retry configs are neither success nor failure for the breaker
      if (retryConfigsLearned) {
        this.policy.recordRetry(secured.remotePeer)
      } else {
        this.policy.recordSuccess(secured.remotePeer)
      }
    }
    this.record(attempt, result.ech === 'not-offered' ? 'fallback' : result.ech, secured.remotePeer, {
      configId: result.configId ?? offer?.config.configId,
      retryConfigsLearned
    })
    return secured
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const attempt = this.attempt(connection, 'inbound', options)
    const mode = this.effectiveMode()
    if (mode === 'disabled') {
      return this.stockInbound(attempt, connection, options, 'disabled')
    }

    const signal = this.withTimeout(options)
    let frame: Awaited<ReturnType<typeof readFirstFrame>>
    let outerHello: ReturnType<typeof extractOuterHello>
    try {
      frame = await readFirstFrame(connection, signal)
    } catch (err) {
      this.failed(attempt, err, 'stock')
      throw err
    }
    try {
      outerHello = extractOuterHello(frame.message)
    } catch (err) {
      frame.release()
      this.monitor.malformed({ remoteAddr: attempt.remoteAddr, error: err })
      this.failed(attempt, err, 'ech')
      throw err
    }

    if (outerHello == null) {
      if (mode === 'require') {
        this.monitor.requireRefused({ role: 'responder', remoteAddr: attempt.remoteAddr, reason: 'not-offered' })
        this.refuse(attempt, new EchRequiredError('not-offered'), frame.release())
      }
      return this.stockInbound(attempt, frame.restore(), options, 'not-offered')
    }

    const frames = noiseFrames(frame.release())
    let result: HandshakeResult
    try {
      result = await performResponderHandshake({
        ...this.handshakeInit(frames, connection, options),
        remoteIdentityKey: options?.remotePeer?.publicKey,
        message1: frame.message,
        keys: this.keys.getKeys(),
        localPeer: this.components.peerId,
        retryRecord: await this.getSignedConfigRecord(),
        require: mode === 'require',
        onOuterHello: ({ accepted, reason, enc }) => {
          // reported before message 2, so probes that hang up are seen too
          if (accepted) {
            this.monitor.outerHelloAccepted({ remoteAddr: attempt.remoteAddr, enc })
          } else {
            this.monitor.outerHelloFailed({ remoteAddr: attempt.remoteAddr, enc, reason })
          }
        }
      }, signal)
    } catch (err: any) {
      if (err instanceof EchRequiredError) {
        this.monitor.requireRefused({ role: 'responder', remoteAddr: attempt.remoteAddr, reason: err.reason })
      } else if (err?.name === 'EchDecodeError') {
        this.monitor.malformed({ remoteAddr: attempt.remoteAddr, error: err })
      }
      this.failed(attempt, err, 'ech')
      throw err
    }

    const secured = this.secured(frames, result, options)
    this.record(attempt, result.ech === 'accepted' ? 'accepted' : 'rejected', secured.remotePeer, { configId: result.configId })
    return secured
  }

  /**
   * Whether to offer ECH on this dial, and if not, why. `require` mode is not
   * subject to rollout or the breaker: falling back would weaken the
   * connection below what was asked for.
   */
  private async planOutbound (mode: EchMode, remotePeer?: PeerId): Promise<OutboundPlan> {
    if (mode === 'disabled') {
      return { reason: 'disabled' }
    }
    if (remotePeer == null) {
      return { reason: 'no-peer-id' }
    }
    const lookup = await this.configs.lookup(remotePeer)
    if (lookup.offer == null || mode === 'require') {
      return lookup
    }
    const decision = this.policy.decide(remotePeer)
    return decision.offer ? lookup : { reason: decision.reason }
  }

  /** Whether ECH is in use at all: false in `disabled` mode or with the kill switch off */
  isEchEnabled (): boolean {
    return this.effectiveMode() !== 'disabled'
  }

  /** The operator kill switch (`ECH_ENABLED=false` or `policy.setEnabled(false)`) wins over `mode` */
  private effectiveMode (): EchMode {
    return this.policy.isEnabled() ? this.mode : 'disabled'
  }

  private async stockOutbound (attempt: Attempt, options: SecureConnectionOptions | undefined, reason: EchFallbackReason): Promise<SecuredConnection<NoiseExtensions>> {
    this.monitor.fallback(reason, attempt.remotePeer)
    try {
      const secured = await this.stock.secureOutbound(attempt.connection, options)
      this.record(attempt, 'fallback', secured.remotePeer, { reason })
      return secured
    } catch (err) {
      this.failed(attempt, err, 'stock')
      throw err
    }
  }

  private async stockInbound (attempt: Attempt, stream: MessageStream, options: SecureConnectionOptions | undefined, reason: 'disabled' | 'not-offered'): Promise<SecuredConnection<NoiseExtensions>> {
    this.monitor.fallback(reason, attempt.remotePeer)
    try {
      const secured = await this.stock.secureInbound(stream, options)
      this.record(attempt, reason === 'disabled' ? 'fallback' : 'not-offered', secured.remotePeer, reason === 'disabled' ? { reason } : {})
      return secured
    } catch (err) {
      this.failed(attempt, err, 'stock')
      throw err
    }
  }

  private handshakeInit (frames: LengthPrefixedStream, connection: MessageStream, options?: SecureConnectionOptions): HandshakeInit {
    const streamMuxers = options?.skipStreamMuxerNegotiation === true ? [] : [...this.components.upgrader.getStreamMuxers().keys()]
    return {
      connection: frames,
      provider: this.init.provider ?? nodeProvider,
      privateKey: this.components.privateKey,
      staticKey: this.staticKey,
      extensions: { streamMuxers, webtransportCerthashes: [], ...this.init.noise?.extensions },
      prologue: this.init.noise?.prologueBytes,
      log: connection.log?.newScope('noise-ech') ?? this.log
    }
  }

  private secured (frames: LengthPrefixedStream, result: HandshakeResult, options?: SecureConnectionOptions): SecuredConnection<NoiseExtensions> {
    return {
      connection: toMessageStream(frames.unwrap(), result),
      remoteExtensions: result.payload.extensions,
      remotePeer: peerIdFromPublicKey(publicKeyFromProtobuf(result.payload.identityKey)),
      streamMuxer: options?.skipStreamMuxerNegotiation === true
        ? undefined
        : selectStreamMuxer(this.components.upgrader.getStreamMuxers(), result.payload.extensions?.streamMuxers)
    }
  }

  private withTimeout (options?: SecureConnectionOptions): SecureConnectionOptions {
    if (options?.signal != null) {
      return options
    }
    return { ...options, signal: AbortSignal.timeout(this.init.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) }
  }

  private async learnRetryConfigs (remotePeer: PeerId, record: Uint8Array): Promise<boolean> {
    try {
      await this.configs.storeSignedRecord(remotePeer, record)
      this.log('learned retry configs from %p', remotePeer)
      return true
    } catch (err: any) {
      this.log.error('refusing retry configs from %p - %e', remotePeer, err)
      this.monitor.retryConfigsRefused({ remotePeer, error: err })
      return false
    }
  }

  private attempt (connection: MessageStream, direction: 'inbound' | 'outbound', options?: SecureConnectionOptions): Attempt {
    return {
      connection,
      direction,
      start: performance.now(),
      remotePeer: options?.remotePeer,
      remoteAddr: (connection as { remoteAddr?: Multiaddr }).remoteAddr
    }
  }

  private record (attempt: Attempt, outcome: EchOutcome, remotePeer: PeerId, extra: Partial<EchConnectionInfo>): void {
    const info: EchConnectionInfo = {
      direction: attempt.direction,
      role: attempt.direction === 'outbound' ? 'initiator' : 'responder',
      outcome,
      path: outcome === 'fallback' || outcome === 'not-offered' ? 'stock' : 'ech',
      remotePeer,
      remoteAddr: attempt.remoteAddr,
      durationMs: performance.now() - attempt.start,
      ...extra,
      retryConfigs: extra.retryConfigsLearned
    }
    this.connections.set((attempt.connection as { timeline?: object }).timeline ?? attempt.connection, info)
    this.log('%s connection with %p: ECH %s', attempt.direction, remotePeer, outcome)
    this.monitor.handshake(info)
  }

  private failed (attempt: Attempt, err: any, path: 'ech' | 'stock'): void {
    this.log.error('%s handshake with %p failed - %e', attempt.direction, attempt.remotePeer, err)
    this.monitor.handshake({
      direction: attempt.direction,
      role: attempt.direction === 'outbound' ? 'initiator' : 'responder',
      outcome: 'failed',
      path,
      durationMs: performance.now() - attempt.start,
      remotePeer: attempt.remotePeer,
      remoteAddr: attempt.remoteAddr,
      reason: err?.name,
      error: err?.name ?? 'Error'
    })
  }

  /** Refuse a connection (require mode): report, close, throw */
  private refuse (attempt: Attempt, err: Error, stream: MessageStream = attempt.connection): never {
    this.failed(attempt, err, 'ech')
    stream.abort(err)
    throw err
  }
}

/** KEM names (`x25519`, `x-wing`) to registry ids; unknown names fail start-up */
function kemIdsOf (names?: string[]): ReadonlySet<number> | undefined {
  if (names == null) {
    return undefined
  }
  return new Set(names.map(name => {
    const kem = getKemByName(name)
    if (kem == null) {
      throw new InvalidParametersError(`Unknown KEM "${name}"; known: ${supportedKems().map(k => k.name).join(', ')}`)
    }
    return kem.id
  }))
}

/**
 * A drop-in replacement for `noise()` from `@chainsafe/libp2p-noise`, for
 * `connectionEncrypters`: libp2p calls the returned function with its
 * components and gets an {@link EchNoise}. Every default of `init` is
 * listed on {@link EchNoiseInit}.
 *
 * @param init - options of the encrypter (mode, keys, KEMs, GREASE, policy,
 * monitor, the stock Noise options)
 * @returns the encrypter factory libp2p expects
 *
 * @example
 *
 * ```TypeScript
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise({ mode: 'opportunistic' })]
 * })
 * ```
 */
export function echNoise (init: EchNoiseInit = {}): (components: EchNoiseComponents) => EchNoise {
  return (components) => new EchNoise(components, init)
}
