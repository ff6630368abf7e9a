/**
 * How a handshake in which ECH was offered failed, for the circuit breaker.
 * A wrong remote peer is not ECH's fault and does not count.
 */
import type { HandshakeFailureKind } from './types.js'

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
