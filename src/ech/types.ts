/**
 * The handshake engine's API: what the wrapper passes in and gets back.
 */
import type { RandomBytes } from './grease.js'
import type { EchOuterHello } from './outer-hello.js'
import type { EchKeyEntry, EchRejectReason } from './seal.js'
import type { EchOffer } from '../config/offer.js'
import type { CryptoProvider, DhPrivateKey } from '../crypto/provider.js'
import type { KemPrivateKey } from '../hpke/kem.js'
import type { TransportCiphers } from '../noise/channel.js'
import type { NoiseExtensions, NoiseHandshakePayload } from '../noise/payload.js'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * The ECH status of one handshake as the engine saw it (cf. rustls `EchStatus`):
 * `not-offered`: plain XX; `grease`: a GREASE hello was sent; `accepted`/`rejected`: a real offer's fate.
 * The wrapper turns it into the connection's `EchOutcome`.
 */
export type EchStatus = 'not-offered' | 'grease' | 'accepted' | 'rejected'

/** Testing only: fixed randomness for known-answer vectors. Never set in production. */
export interface HandshakeTesting {
  /** The Noise ephemeral key */
  e?: DhPrivateKey
  /** The HPKE ephemeral key (initiator offering ECH) */
  hpkeEphemeral?: KemPrivateKey
  /** The GREASE randomness source */
  randomBytes?: RandomBytes
}

export interface HandshakeInit {
  /** `lpStream` with uint16 BE lengths and `maxDataLength` 65535 */
  connection: LengthPrefixedStream
  provider: CryptoProvider
  /** The libp2p identity key that signs the Noise static key */
  privateKey: PrivateKey
  /** The Noise static key (long-lived; never destroyed by the handshake) */
  staticKey: DhPrivateKey
  /**
   * When known (a dial to a peer id), the identity the remote proves must be
   * this peer: compared as peer ids, so RSA ids (a hash of the key) are
   * checked too
   */
  remotePeer?: PeerId
  extensions: NoiseExtensions
  prologue?: Uint8Array
  log: Logger
  /** @internal */
  testing?: HandshakeTesting
}

/** What the initiator's message 1 carries besides `e`: a real offer to one peer, or GREASE */
export type OuterHelloPlan =
  | { kind: 'offer', offer: EchOffer, targetPeer: PeerId }
  | { kind: 'grease' }

export interface InitiatorInit extends HandshakeInit {
  /** Without it, message 1 is stock (empty payload) */
  ech?: OuterHelloPlan
  /** Abort before message 3 (the initiator's identity) unless ECH was accepted */
  require?: boolean
  /**
   * Called once message 2 proved the responder's identity: a failure before
   * it says nothing about the peer (anyone at the address could have caused
   * it), a failure after it is the authenticated peer's
   */
  onAuthenticated?(): void
}

export interface ResponderInit extends HandshakeInit {
  /** The first frame, already read by the wrapper */
  message1: Uint8Array | Uint8ArrayList
  /**
   * Message 1's outer hello, as the wrapper parsed it (`extractOuterHello`);
   * undefined for a stock message 1. The engine does not parse it again.
   */
  outerHello?: EchOuterHello
  /** Live ECH keys, newest first */
  keys: readonly EchKeyEntry[]
  localPeer: PeerId
  /** Sent (field 1026 of message 2) when an outer hello cannot be accepted */
  retryRecord?: Uint8Array
  /** Close before message 2 unless ECH was accepted for this peer */
  require?: boolean
  /**
   * Called as soon as an outer hello was tried (before message 2), so that
   * monitoring sees probes that never finish the handshake
   */
  onOuterHello?(event: { accepted: boolean, reason?: EchRejectReason, enc: Uint8Array }): void
}

export interface HandshakeResult extends TransportCiphers {
  payload: NoiseHandshakePayload
  ech: EchStatus
  /** Initiator, outcome `rejected`: the responder's retry record, unverified */
  retryRecord?: Uint8Array
  /** Outcome `accepted`: the config_id used */
  configId?: number
}
