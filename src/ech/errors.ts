/**
 * Handshake failures, one class per failure. Callers and tests check
 * `err.name`, never the message. Failures that libp2p already names keep
 * libp2p's class (`InvalidCryptoExchangeError`, `UnexpectedPeerError`,
 * `AbortError` from `@libp2p/interface`); only the ECH-specific ones live here.
 */
import type { PeerId } from '@libp2p/interface'

/** A malformed `EchOuterHello`, inner hello, or ECH protobuf field (the first bad field is named) */
export class EchDecodeError extends Error {
  static name = 'EchDecodeError'

  /** The first bad field, e.g. `version`, `enc`, `payload`, `padding`, `field 1025` */
  readonly field: string

  constructor (field: string, message = `Malformed ECH hello: ${field}`, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchDecodeError'
    this.field = field
  }
}

/**
 * Initiator in `require` mode: the responder did not accept the outer hello.
 * Thrown after message 2 was authenticated and before message 3, so the
 * initiator's identity was never sent. Carries the responder's retry record
 * (opaque signed config record bytes) when it sent one.
 */
export class EchRejectedError extends Error {
  static name = 'EchRejectedError'

  /**
   * The responder's signed config record (retry configs), when it sent one; the encrypter has
   * already verified and stored it
   */
  readonly retryRecord?: Uint8Array
  /** The authenticated responder, to verify `retryRecord` against */
  readonly remotePeer?: PeerId

  constructor (message = 'The responder did not accept ECH', init: { retryRecord?: Uint8Array, remotePeer?: PeerId } = {}) {
    super(message)
    this.name = 'EchRejectedError'
    this.retryRecord = init.retryRecord
    this.remotePeer = init.remotePeer
  }
}

/**
 * Initiator: the connection closed (or was reset) right after our outer hello
 * (an offer or GREASE), before any message 2. Nothing was authenticated, so
 * all that is known is that whoever answers at this address did not take the
 * outer hello: a `require`-mode responder that cannot open it (a stale
 * config: fetch current configs out of band, e.g. the gateway's well-known
 * endpoint), a stock Noise that rejects any message-1 payload (rust-libp2p
 * 0.52), or a box on the path. `cause` is the stream's own error. In
 * `opportunistic` mode the next dial to this address goes to stock Noise.
 */
export class EchRefusedError extends Error {
  static name = 'EchRefusedError'

  constructor (message = 'The connection closed after the outer hello, before message 2', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRefusedError'
  }
}

/** Responder in `require` mode: message 1 carried no acceptable outer hello; closed before message 2 */
export class EchRequiredError extends Error {
  static name = 'EchRequiredError'

  /**
   * Why. Responder: `not-offered`, `unknown-config`, `unsupported-suite`,
   * `open-failed`, `wrong-peer`. Initiator (nothing to offer): a fallback
   * reason such as `no-config`, `no-peer-id`, `expired-config`.
   */
  readonly reason: string

  constructor (reason: string, message = 'ECH is required by this responder') {
    super(message)
    this.name = 'EchRequiredError'
    this.reason = reason
  }
}

/** A malformed handshake payload protobuf; the stage wrapper names where */
export class ProtobufDecodeError extends Error {
  static name = 'ProtobufDecodeError'

  constructor (message = 'Malformed protobuf') {
    super(message)
    this.name = 'ProtobufDecodeError'
  }
}

/** A handshake message would not fit the uint16 frame length (Noise §3: 65535 bytes) */
export class MessageTooLargeError extends Error {
  static name = 'MessageTooLargeError'

  constructor (message = 'Handshake message exceeds 65535 bytes') {
    super(message)
    this.name = 'MessageTooLargeError'
  }
}
