/**
 * Small pieces the wrapper shares with nothing else: Noise's uint16 framing,
 * early muxer selection as stock Noise does it, and how a failed handshake
 * counts for the circuit breaker.
 */
import { InvalidCryptoExchangeError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { NOISE_MAX_FRAME } from './first-frame.js'
import type { HandshakeFailureKind } from './policy/types.js'
import type { MessageStream, StreamMuxerFactory } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

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

/** A stream of Noise frames: uint16 big-endian length, at most 65535 bytes */
export function noiseFrames (connection: MessageStream): LengthPrefixedStream {
  return lpStream(connection, {
    lengthEncoder: uint16BEEncode,
    lengthDecoder: uint16BEDecode,
    maxDataLength: NOISE_MAX_FRAME
  })
}

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
