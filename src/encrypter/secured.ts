/**
 * What a finished handshake hands libp2p, as stock Noise builds it: the
 * secure channel over the raw connection, the remote's extensions and peer
 * id, and the early-negotiated stream muxer (libp2p noise spec, "Noise
 * Extensions").
 */
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { InvalidCryptoExchangeError, UnexpectedPeerError } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { toMessageStream } from '../noise/channel.js'
import type { HandshakeResult } from '../ech/types.js'
import type { FirstFrameWatch } from '../noise/channel.js'
import type { NoiseExtensions } from '@chainsafe/libp2p-noise'
import type { PeerId, SecureConnectionOptions, SecuredConnection, StreamMuxerFactory, Upgrader } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

export function securedConnection (frames: LengthPrefixedStream, result: HandshakeResult, upgrader: Upgrader, options?: SecureConnectionOptions, watch?: FirstFrameWatch): SecuredConnection<NoiseExtensions> {
  return {
    // the channel keeps the two CipherStates only, not the handshake result
    // (the remote's payload: identity key, signature, extensions) for the
    // connection's life
    connection: toMessageStream(frames.unwrap(), { send: result.send, recv: result.recv }, undefined, watch),
    remoteExtensions: result.payload.extensions,
    remotePeer: peerIdFromPublicKey(publicKeyFromProtobuf(result.payload.identityKey)),
    streamMuxer: options?.skipStreamMuxerNegotiation === true
      ? undefined
      : selectStreamMuxer(upgrader.getStreamMuxers(), result.payload.extensions?.streamMuxers)
  }
}

/**
 * The connection is with the peer that was dialled. Stock Noise compares the
 * expected peer's inlined public key, which checks nothing for an RSA peer id
 * (a hash of the key, so `publicKey` is undefined): compare the ids.
 */
export function checkRemotePeer (secured: SecuredConnection<NoiseExtensions>, expected?: PeerId): SecuredConnection<NoiseExtensions> {
  if (expected != null && !expected.equals(secured.remotePeer)) {
    secured.connection.abort(new UnexpectedPeerError())
    throw new UnexpectedPeerError(`Expected peer ${expected} but the remote proved ${secured.remotePeer}`)
  }
  return secured
}

/** As stock Noise: the first muxer the remote listed that we also have */
function selectStreamMuxer (available: Map<string, StreamMuxerFactory>, protocols?: string[]): StreamMuxerFactory | undefined {
  if (protocols == null || protocols.length === 0) {
    return
  }
  for (const protocol of protocols) {
    const muxer = available.get(protocol)
    if (muxer != null) {
      return muxer
    }
  }
  throw new InvalidCryptoExchangeError('Early muxer negotiation was requested but the initiator and responder had no common muxers')
}
