/**
 * Small pieces the wrapper shares with nothing else: early muxer selection
 * as stock Noise does it, and how a failed handshake counts for the circuit
 * breaker.
 */
import { InvalidCryptoExchangeError } from '@libp2p/interface'
import type { HandshakeFailureKind } from '../policy/types.js'
import type { StreamMuxerFactory } from '@libp2p/interface'

/** As stock Noise: the first muxer the remote listed that we also have */
export function selectStreamMuxer (available: Map<string, StreamMuxerFactory>, protocols?: string[]): StreamMuxerFactory | undefined {
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

/**
 * How a failed handshake after an ECH offer counts for the circuit breaker.
 * A wrong remote peer is not ECH's fault and does not count.
 */
export function failureKind (err: any): HandshakeFailureKind | undefined {
  switch (err?.name) {
    case 'UnexpectedPeerError': return undefined
    case 'TimeoutError': case 'AbortError': return 'timeout'
    case 'UnexpectedEOFError': case 'StreamStateError': case 'ConnectionClosedError': return 'close'
    case 'StreamResetError': return 'reset'
    case 'InvalidCryptoExchangeError': case 'EchDecodeError': case 'ProtobufDecodeError': case 'MessageTooLargeError': return 'decode'
    default: return err?.code === 'ECONNRESET' ? 'reset' : 'other'
  }
}
