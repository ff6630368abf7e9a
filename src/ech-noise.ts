/**
 * The composing wrapper. One `/noise` encrypter that, per connection, either
 * runs the ECH-Noise engine or hands the connection, untouched, to the stock
 * `@chainsafe/libp2p-noise` encrypter.
 *
 * Outbound: a usable config for the remote in the peer store → ECH engine;
 * otherwise stock Noise. Inbound: message 1 is read; an outer hello → ECH
 * engine; none → stock Noise with message 1 replayed, unless `require` mode.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { InvalidCryptoExchangeError, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { PeerConfigStore } from './config/peer-store.js'
import { createSignedConfigRecord } from './config/record.js'
import { readFirstFrame, NOISE_MAX_FRAME } from './first-frame.js'
import { toMessageStream } from './handshake/channel.js'
import { EchRejectedError, EchRequiredError } from './handshake/errors.js'
import { extractOuterHello, performInitiatorHandshake, performResponderHandshake } from './handshake/perform.js'
import { nodeProvider } from './hpke/provider-node.js'
import { EchKeyManager } from './keys/manager.js'
import { EchPolicy } from './policy/policy.js'
import type { EchOffer } from './config/peer-store.js'
import type { HandshakeInit, HandshakeResult } from './handshake/types.js'
import type { DhPrivateKey } from './hpke/provider.js'
import type { HandshakeFailureKind } from './policy/types.js'
import type { EchConnectionInfo, EchFallbackReason, EchMode, EchNoiseComponents, EchNoiseEvents, EchNoiseInit, EchOutcome } from './types.js'
import type { NoiseExtensions } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, Logger, MessageStream, PeerId, SecureConnectionOptions, SecuredConnection, Startable, StreamMuxerFactory } from '@libp2p/interface'

// Signed records live 48 h (the most a peer may cache them) and are re-signed
// after 24 h, so retry configs never go out close to expiry.
const RECORD_TTL_SECONDS = 48 * 60 * 60
const RECORD_REFRESH_MS = 24 * 60 * 60 * 1000
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000

function uint16BEEncode (value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff)
}
uint16BEEncode.bytes = 2

function uint16BEDecode (data: { getUint16(offset: number): number, byteLength: number }): number {
  if (data.byteLength < 2) {
    throw new RangeError('Could not decode uint16')
  }
  return data.getUint16(0)
}

export class EchNoise extends TypedEventEmitter<EchNoiseEvents> implements ConnectionEncrypter<NoiseExtensions>, Startable {
  public readonly protocol = '/noise'
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech'
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption', '@chainsafe/libp2p-noise']

  public mode: EchMode
  public readonly keys: EchKeyManager
  private readonly components: EchNoiseComponents
  private readonly init: EchNoiseInit
  private readonly log: Logger
  private readonly stock: ConnectionEncrypter<NoiseExtensions>
  private readonly configs: PeerConfigStore
  public readonly policy: EchPolicy
  private readonly staticKey: DhPrivateKey
  private readonly connections = new WeakMap<object, EchConnectionInfo>()
  private signedRecord?: { created: number, record: Promise<Uint8Array> }

  constructor (components: EchNoiseComponents, init: EchNoiseInit = {}) {
    super()
    this.components = components
    this.init = init
    this.mode = init.mode ?? 'opportunistic'
    this.log = components.logger.forComponent('libp2p:noise-ech')
    this.stock = noise(init.noise)(components)
    const provider = init.provider ?? nodeProvider
    this.configs = new PeerConfigStore({ peerStore: components.peerStore, provider, log: this.log })
    this.staticKey = init.noise?.staticNoiseKey != null
      ? provider.x25519FromSecret(init.noise.staticNoiseKey)
      : provider.x25519Generate()
    this.keys = new EchKeyManager(components, { ...init.keyManager, keys: init.keys, provider })
    // reads ECH_ENABLED / ECH_ROLLOUT_PERCENTAGE now; a bad value fails start-up
    this.policy = new EchPolicy(components, { ...init.policy, enabled: init.enabled, rolloutPercentage: init.rolloutPercentage })
    if (!this.policy.isEnabled() && this.mode !== 'disabled') {
      this.log('ECH is disabled by the kill switch: every connection uses stock Noise despite mode %s', this.mode)
    }
    // the record lists the live configs: re-sign when that set changes
    const invalidate = (): void => { this.signedRecord = undefined }
    this.keys.addEventListener('ech:rotated', invalidate)
    this.keys.addEventListener('ech:key-expired', invalidate)
  }

  async start (): Promise<void> {
    await Promise.all([this.keys.start(), this.policy.start()])
  }

  async stop (): Promise<void> {
    await Promise.all([this.keys.stop(), this.policy.stop()])
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

  /**
   * The ECH outcome of a connection this encrypter secured: pass the
   * `Connection` (or the stream given to `secureInbound`/`secureOutbound`).
   */
  getConnectionInfo (connection: { timeline?: object }): EchConnectionInfo | undefined {
    const key = connection.timeline ?? connection
    return this.connections.get(key)
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const start = performance.now()
    const remotePeer = options?.remotePeer
    const mode = this.effectiveMode()
    const plan = await this.planOutbound(mode, remotePeer)

    if (plan.offer == null) {
      if (mode === 'require') {
        const err = new EchRequiredError(`ECH required but not possible: ${plan.reason}`)
        this.handshakeFailed('outbound', remotePeer, err)
        this.abort(connection, err)
      }
      if (this.init.grease !== true || mode === 'disabled') {
        const secured = await this.stock.secureOutbound(connection, options)
        this.record(connection, 'outbound', 'fallback', start, secured.remotePeer, { reason: plan.reason })
        return secured
      }
    }

    const { offer } = plan
    const log = connection.log?.newScope('noise-ech') ?? this.log
    const lp = this.lp(connection)
    let result: HandshakeResult
    try {
      result = await performInitiatorHandshake({
        ...this.handshakeInit(lp, log, options),
        remoteIdentityKey: remotePeer?.publicKey,
        ech: offer != null && remotePeer != null
          ? { kind: 'offer', config: offer.config, publicKey: offer.publicKey, targetPeer: remotePeer }
          : { kind: 'grease' },
        require: mode === 'require'
      }, this.withTimeout(options))
    } catch (err: any) {
      if (err instanceof EchRejectedError && err.retryRecord != null && remotePeer != null) {
        const retryConfigsLearned = await this.learnRetryConfigs(remotePeer, err.retryRecord)
        this.record(connection, 'outbound', 'rejected', start, remotePeer, { reason: 'require-refused', retryConfigsLearned })
      } else if (offer != null && remotePeer != null) {
        const kind = failureKind(err)
        if (kind != null) {
          this.policy.recordFailure(remotePeer, kind)
        }
      }
      this.handshakeFailed('outbound', remotePeer, err)
      throw err
    }

    const secured = this.secured(lp, result, options)
    let retryLearned = false
    if (result.ech === 'rejected' && result.retryRecord != null) {
      retryLearned = await this.learnRetryConfigs(secured.remotePeer, result.retryRecord)
    }
    if (offer != null) {
      // retry configs are neither success nor failure for the breaker
      if (retryLearned) {
        this.policy.recordRetry(secured.remotePeer)
      } else {
        this.policy.recordSuccess(secured.remotePeer)
      }
    }
    this.record(connection, 'outbound', result.ech === 'not-offered' ? 'fallback' : result.ech, start, secured.remotePeer, {
      configId: result.configId,
      retryConfigsLearned: retryLearned
    })
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

  /** The operator kill switch (`ECH_ENABLED=false` or `setEnabled(false)`) wins over `mode` */
  private effectiveMode (): EchMode {
    return this.policy.isEnabled() ? this.mode : 'disabled'
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<NoiseExtensions>> {
    const start = performance.now()
    const mode = this.effectiveMode()
    if (mode === 'disabled') {
      const secured = await this.stock.secureInbound(connection, options)
      this.record(connection, 'inbound', 'fallback', start, secured.remotePeer, { reason: 'disabled' })
      return secured
    }

    const signal = this.withTimeout(options)
    let frame: Awaited<ReturnType<typeof readFirstFrame>>
    try {
      frame = await readFirstFrame(connection, signal)
    } catch (err) {
      this.handshakeFailed('inbound', options?.remotePeer, err)
      throw err
    }
    const outerHello = (() => {
      try {
        return extractOuterHello(frame.message)
      } catch (err) {
        frame.release()
        this.handshakeFailed('inbound', options?.remotePeer, err)
        throw err
      }
    })()

    if (outerHello == null) {
      if (mode === 'require') {
        const err = new EchRequiredError('ECH required but the initiator did not offer it')
        this.handshakeFailed('inbound', options?.remotePeer, err)
        this.abort(frame.release(), err)
      }
      const secured = await this.stock.secureInbound(frame.restore(), options)
      this.record(connection, 'inbound', 'not-offered', start, secured.remotePeer, {})
      return secured
    }

    const log = connection.log?.newScope('noise-ech') ?? this.log
    const lp = this.lp(frame.release())
    let result: HandshakeResult
    try {
      result = await performResponderHandshake({
        ...this.handshakeInit(lp, log, options),
        remoteIdentityKey: options?.remotePeer?.publicKey,
        message1: frame.message,
        keys: this.keys.getKeys(),
        localPeer: this.components.peerId,
        retryRecord: await this.getSignedConfigRecord(),
        require: mode === 'require'
      }, signal)
    } catch (err) {
      this.handshakeFailed('inbound', options?.remotePeer, err)
      throw err
    }

    const secured = this.secured(lp, result, options)
    this.record(connection, 'inbound', result.ech === 'accepted' ? 'accepted' : 'rejected', start, secured.remotePeer, { configId: result.configId })
    return secured
  }

  private handshakeInit (connection: ReturnType<EchNoise['lp']>, log: Logger, options?: SecureConnectionOptions): HandshakeInit {
    const streamMuxers = options?.skipStreamMuxerNegotiation === true ? [] : [...this.components.upgrader.getStreamMuxers().keys()]
    return {
      connection,
      provider: this.init.provider ?? nodeProvider,
      privateKey: this.components.privateKey,
      staticKey: this.staticKey,
      extensions: { streamMuxers, webtransportCerthashes: [], ...this.init.noise?.extensions },
      prologue: this.init.noise?.prologueBytes,
      log
    }
  }

  private lp (connection: MessageStream): ReturnType<typeof lpStream<MessageStream>> {
    return lpStream(connection, {
      lengthEncoder: uint16BEEncode,
      lengthDecoder: uint16BEDecode,
      maxDataLength: NOISE_MAX_FRAME
    })
  }

  private secured (lp: ReturnType<EchNoise['lp']>, result: HandshakeResult, options?: SecureConnectionOptions): SecuredConnection<NoiseExtensions> {
    const remotePeer = peerIdFromPublicKey(publicKeyFromProtobuf(result.payload.identityKey))
    return {
      connection: toMessageStream(lp.unwrap(), result),
      remoteExtensions: result.payload.extensions,
      remotePeer,
      streamMuxer: options?.skipStreamMuxerNegotiation === true ? undefined : this.getStreamMuxer(result.payload.extensions?.streamMuxers)
    }
  }

  /** As stock Noise: the first muxer the remote listed that we also have */
  private getStreamMuxer (protocols?: string[]): StreamMuxerFactory | undefined {
    if (protocols == null || protocols.length === 0) {
      return
    }
    const streamMuxers = this.components.upgrader.getStreamMuxers()
    for (const protocol of protocols) {
      const muxer = streamMuxers.get(protocol)
      if (muxer != null) {
        return muxer
      }
    }
    throw new InvalidCryptoExchangeError('Early muxer negotiation was requested but the initiator and responder had no common muxers')
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
      this.safeDispatchEvent('ech:threat', { detail: { kind: 'bad-retry-configs', severity: 'high', remotePeer, count: 1, error: err?.name } })
      return false
    }
  }

  private record (connection: MessageStream, direction: 'inbound' | 'outbound', outcome: EchOutcome, start: number, remotePeer: PeerId | undefined, extra: Partial<EchConnectionInfo>): void {
    const info: EchConnectionInfo = {
      direction,
      outcome,
      remotePeer,
      remoteAddr: (connection as { remoteAddr?: EchConnectionInfo['remoteAddr'] }).remoteAddr,
      durationMs: performance.now() - start,
      ...extra
    }
    this.connections.set((connection as { timeline?: object }).timeline ?? connection, info)
    this.log('%s connection with %p: ECH %s', direction, remotePeer, outcome)
    this.safeDispatchEvent(`ech:${outcome}`, { detail: info })
    this.safeDispatchEvent('ech:outcome', { detail: info })
  }

  private handshakeFailed (direction: 'inbound' | 'outbound', remotePeer: PeerId | undefined, err: any): void {
    this.log.error('%s ECH handshake with %p failed - %e', direction, remotePeer, err)
    this.safeDispatchEvent('ech:error', { detail: { direction, remotePeer, error: err?.name ?? 'Error' } })
  }

  private abort (connection: MessageStream, err: Error): never {
    connection.abort(err)
    throw err
  }
}

type OutboundPlan = { offer: EchOffer, reason?: undefined } | { offer?: undefined, reason: EchFallbackReason }

/**
 * How a failed handshake after an ECH offer counts for the circuit breaker.
 * A wrong remote peer is not ECH's fault and does not count.
 */
function failureKind (err: any): HandshakeFailureKind | undefined {
  switch (err?.name) {
    case 'UnexpectedPeerError': return undefined
    case 'TimeoutError': case 'AbortError': return 'timeout'
    case 'UnexpectedEOFError': case 'StreamStateError': case 'ConnectionClosedError': return 'close'
    case 'StreamResetError': return 'reset'
    case 'InvalidCryptoExchangeError': case 'EchDecodeError': case 'ProtobufDecodeError': case 'MessageTooLargeError': return 'decode'
    default: return err?.code === 'ECONNRESET' ? 'reset' : 'other'
  }
}

export function echNoise (init: EchNoiseInit = {}): (components: EchNoiseComponents) => EchNoise {
  return (components) => new EchNoise(components, init)
}
