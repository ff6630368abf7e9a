/**
 * Staged I/O for both roles: a straight line of write/read stages, one trace
 * log each, `options.signal` honoured at every read and write. Processing
 * failures are wrapped once in libp2p's `InvalidCryptoExchangeError` naming
 * the stage; typed failures (abort, `UnexpectedPeerError`, the ECH errors)
 * pass through as they are.
 */
import { InvalidCryptoExchangeError } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { CipherState } from '../noise/cipher-state.js'
import { MAX_FRAME, typedIoError } from '../noise/framing.js'
import { createHandshakePayload, verifyHandshakePayload } from '../noise/identity.js'
import { decodeHandshakePayload, encodeOuterHelloPayload } from '../noise/payload.js'
import { DHLEN, TAGLEN, XXHandshakeState } from '../noise/xx.js'
import { EchDecodeError, EchRefusedError, EchRejectedError, EchRequiredError, MessageTooLargeError } from './errors.js'
import { greaseOuterHello } from './grease.js'
import { openOuterHello, sealOuterHello } from './seal.js'
import type { EchStatus, HandshakeInit, HandshakeResult, InitiatorInit, ResponderInit } from './types.js'
import type { DecodedHandshakePayload } from '../noise/payload.js'
import type { SymmetricState } from '../noise/symmetric-state.js'
import type { AbortOptions, PeerId, PublicKey } from '@libp2p/interface'

const EMPTY: Uint8Array = new Uint8Array(0)
/** The uint16 frame length (libp2p noise spec, "Wire Format") */

const PASS_THROUGH = new Set(['AbortError', 'TimeoutError', 'UnexpectedPeerError', 'InvalidCryptoExchangeError',
  EchDecodeError.name, EchRejectedError.name, EchRequiredError.name, MessageTooLargeError.name, 'EchConfigUnusableError'])

/** Runs a processing step; an untyped failure is rewrapped once, naming the stage */
function step <T> (stage: string, fn: () => T): T {
  try {
    return fn()
  } catch (err: any) {
    if (PASS_THROUGH.has(err?.name)) { throw err }
    const wrapped = new InvalidCryptoExchangeError(`handshake ${stage} failed: ${err?.message ?? err}`)
    wrapped.cause = err
    throw wrapped
  }
}

/** The stream ending is how a responder that did not take our outer hello answers before message 2 */
const CLOSED = new Set(['UnexpectedEOFError', 'StreamResetError', 'StreamStateError', 'ConnectionClosedError'])

/** Message 2 never came after an outer hello: `EchRefusedError` (the stream's error as cause), unless we gave up first */
function refusedAfterOuterHello (init: InitiatorInit, err: any): unknown {
  const closed = CLOSED.has(err?.name) || err?.code === 'ECONNRESET'
  return init.ech != null && closed ? new EchRefusedError(undefined, { cause: err }) : err
}

/**
 * Every read and write checks the signal first and passes it on; a write
 * that completes without backpressure does not look at the signal, so it is
 * checked again after.
 */
async function writeFrame (init: HandshakeInit, message: Uint8Array, options?: AbortOptions): Promise<void> {
  options?.signal?.throwIfAborted()
  await init.connection.write(message, options).catch((err) => { throw typedIoError(err) })
  options?.signal?.throwIfAborted()
}

async function readFrame (init: HandshakeInit, options?: AbortOptions): Promise<Uint8Array> {
  options?.signal?.throwIfAborted()
  const frame = await init.connection.read(options).catch((err) => { throw typedIoError(err) })
  return frame.subarray()
}

function checkFrame (message: Uint8Array): Uint8Array {
  if (message.byteLength > MAX_FRAME) { throw new MessageTooLargeError() }
  return message
}

async function readPayload (stage: string, plaintext: Uint8Array, rs: Uint8Array | undefined, remotePeer?: PeerId): Promise<{ payload: DecodedHandshakePayload, publicKey: PublicKey }> {
  const payload = step(stage, () => decodeHandshakePayload(plaintext))
  if (rs == null) { throw new InvalidCryptoExchangeError(`handshake ${stage} failed: no remote static key`) }
  const publicKey = await verifyHandshakePayload(payload, rs, remotePeer)
  return { payload, publicKey }
}

/** Split() done: the transport CipherStates, the remote's payload, and what ECH came to */
function result (init: HandshakeInit, keys: [Uint8Array, Uint8Array], initiator: boolean, payload: DecodedHandshakePayload, ech: EchStatus, extra: { retryRecord?: Uint8Array, configId?: number } = {}): HandshakeResult {
  const [k1, k2] = keys
  const { identityKey, identitySig, extensions } = payload
  return {
    payload: { identityKey, identitySig, extensions },
    send: new CipherState(init.provider, initiator ? k1 : k2),
    recv: new CipherState(init.provider, initiator ? k2 : k1),
    ech,
    ...(extra.retryRecord != null ? { retryRecord: extra.retryRecord } : {}),
    ...(extra.configId != null ? { configId: extra.configId } : {})
  }
}

/**
 * -> e, with the outer hello (real or GREASE) as payload. For a real offer
 * the ECH candidate state is forked here: MixKeyAndHash(psk) right after
 * message 1; the psk is wiped at once.
 */
function writeMessage1 (init: InitiatorInit, xx: XXHandshakeState, ePublic: Uint8Array): { message: Uint8Array, echState?: SymmetricState } {
  const { ech, provider, testing } = init
  if (ech?.kind === 'offer') {
    const sealed = sealOuterHello(provider, ePublic, {
      offer: ech.offer, targetPeer: ech.targetPeer.toMultihash().bytes, hpkeEphemeral: testing?.hpkeEphemeral
    })
    const message = checkFrame(xx.writeMessageA(encodeOuterHelloPayload(sealed.hello)))
    const echState = xx.ss.clone()
    echState.mixKeyAndHash(sealed.psk)
    sealed.psk.fill(0)
    return { message, echState }
  }
  if (ech?.kind === 'grease') {
    const hello = greaseOuterHello(testing?.randomBytes ?? provider.randomBytes, { provider })
    return { message: checkFrame(xx.writeMessageA(encodeOuterHelloPayload(hello))) }
  }
  return { message: checkFrame(xx.writeMessageA(EMPTY)) }
}

/** `state` is the index of the candidate that decrypted message 2: 0 = the ECH state when one was offered */
function initiatorOutcome (init: InitiatorInit, state: number): EchStatus {
  switch (init.ech?.kind) {
    case 'offer': return state === 0 ? 'accepted' : 'rejected'
    case 'grease': return 'grease'
    default: return 'not-offered'
  }
}

interface Message2 {
  payload: DecodedHandshakePayload
  publicKey: PublicKey
  outcome: EchStatus
  /** Outcome `rejected`: the retry record, unverified (RFC 9849 §6.2: a GREASEing client ignores retry configs) */
  retryRecord?: Uint8Array
  /** Outcome `accepted`: the config_id offered */
  configId?: number
}

/**
 * <- e, ee, s, es: trial-decrypted under the ECH candidate state first (when
 * one was forked), then the plain state; the responder's payload verified
 */
async function readMessage2 (init: InitiatorInit, xx: XXHandshakeState, echState: SymmetricState | undefined, options?: AbortOptions): Promise<Message2> {
  const message2 = await readFrame(init, options).catch((err) => { throw refusedAfterOuterHello(init, err) })
  const candidates = echState != null ? [echState, xx.ss] : [xx.ss]
  const read = step('stage 1', () => xx.readMessageB(message2, candidates))
  const outcome = initiatorOutcome(init, read.state)
  const { payload, publicKey } = await readPayload('stage 1', read.payload, xx.rs, init.remotePeer)
  return {
    payload,
    publicKey,
    outcome,
    retryRecord: outcome === 'rejected' ? payload.retryRecord : undefined,
    configId: outcome === 'accepted' && init.ech?.kind === 'offer' ? init.ech.offer.config.configId : undefined
  }
}

export async function performInitiatorHandshake (init: InitiatorInit, options?: AbortOptions): Promise<HandshakeResult> {
  const { provider, log, ech, testing } = init
  options?.signal?.throwIfAborted()
  const e = testing?.e ?? provider.x25519Generate()
  const xx = new XXHandshakeState({ provider, initiator: true, prologue: init.prologue ?? EMPTY, s: init.staticKey, e })
  let echState: SymmetricState | undefined
  try {
    const signed = createHandshakePayload(init.privateKey, init.staticKey.publicKey, init.extensions)
    signed.catch(() => {})

    log.trace('stage 0 - initiator writing message 1 (ech: %s)', ech?.kind ?? 'none')
    const message1 = step('stage 0', () => {
      const first = writeMessage1(init, xx, e.publicKey)
      echState = first.echState
      return first.message
    })
    await writeFrame(init, message1, options)

    log.trace('stage 1 - initiator reading message 2')
    const { payload, publicKey, outcome, retryRecord, configId } = await readMessage2(init, xx, echState, options)
    log.trace('stage 1 - initiator verified the responder, ech %s', outcome)
    init.onAuthenticated?.()

    if (init.require === true && outcome !== 'accepted') {
      throw new EchRejectedError(undefined, { retryRecord, remotePeer: peerIdFromPublicKey(publicKey) })
    }

    log.trace('stage 2 - initiator writing message 3')
    const localPayload = await signed
    const message3 = step('stage 2', () => checkFrame(xx.writeMessageC(localPayload)))
    await writeFrame(init, message3, options)

    const keys = xx.split()
    log.trace('initiator handshake complete')
    return result(init, keys, true, payload, outcome, { retryRecord, configId })
  } finally {
    xx.destroy()
    // a no-op when it became xx.ss; wipes the losing candidate otherwise
    echState?.destroy()
  }
}

/**
 * -> e, with the outer hello the wrapper parsed: opened with the live keys;
 * on acceptance MixKeyAndHash(psk) right away, and the psk wiped. `require`
 * refuses anything else before message 2.
 */
function readMessage1 (init: ResponderInit, xx: XXHandshakeState, message1: Uint8Array): { outcome: EchStatus, configId?: number } {
  xx.readMessageA(message1)
  const hello = init.outerHello
  if (hello == null) {
    if (init.require === true) { throw new EchRequiredError('not-offered') }
    return { outcome: 'not-offered' }
  }
  const opened = openOuterHello(init.provider, message1.subarray(0, DHLEN), hello, init.keys, init.localPeer.toMultihash().bytes)
  init.onOuterHello?.({ accepted: opened.accepted, reason: opened.accepted ? undefined : opened.reason, enc: hello.enc })
  if (!opened.accepted) {
    init.log.trace('stage 0 - responder cannot accept the outer hello: %s', opened.reason)
    if (init.require === true) { throw new EchRequiredError(opened.reason) }
    return { outcome: 'rejected' }
  }
  xx.mixKeyAndHash(opened.psk)
  opened.psk.fill(0)
  return { outcome: 'accepted', configId: opened.configId }
}

export async function performResponderHandshake (init: ResponderInit, options?: AbortOptions): Promise<HandshakeResult> {
  const { provider, log, testing } = init
  options?.signal?.throwIfAborted()
  const xx = new XXHandshakeState({ provider, initiator: false, prologue: init.prologue ?? EMPTY, s: init.staticKey, e: testing?.e })
  try {
    log.trace('stage 0 - responder processing message 1')
    const message1 = init.message1.subarray()
    const { outcome, configId } = step('stage 0', () => readMessage1(init, xx, message1))

    log.trace('stage 1 - responder writing message 2 (ech %s)', outcome)
    const retry = outcome === 'rejected' ? init.retryRecord : undefined
    let payload2 = await createHandshakePayload(init.privateKey, init.staticKey.publicKey, init.extensions, retry)
    if (retry != null && message2Length(payload2) > MAX_FRAME) {
      log('retry record of %d bytes does not fit message 2; sending none', retry.byteLength)
      payload2 = await createHandshakePayload(init.privateKey, init.staticKey.publicKey, init.extensions)
    }
    const message2 = step('stage 1', () => checkFrame(xx.writeMessageB(payload2)))
    await writeFrame(init, message2, options)

    log.trace('stage 2 - responder reading message 3')
    const message3 = await readFrame(init, options)
    const plaintext = step('stage 2', () => xx.readMessageC(message3))
    const { payload } = await readPayload('stage 2', plaintext, xx.rs, init.remotePeer)

    const keys = xx.split()
    log.trace('responder handshake complete')
    return result(init, keys, false, payload, outcome, { configId })
  } finally {
    xx.destroy()
  }
}

/** e, encrypted s, encrypted payload */
function message2Length (payload: Uint8Array): number {
  return DHLEN + DHLEN + TAGLEN + payload.byteLength + TAGLEN
}
