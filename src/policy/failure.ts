/**
 * How a handshake in which ECH was offered failed, for the circuit breaker,
 * by the error's `name` (libp2p's and this package's typed errors). A wrong
 * remote peer is not ECH's fault and does not count (`null`).
 */
import type { HandshakeFailureKind } from './types.js'

const KINDS = new Map<string, HandshakeFailureKind | null>([
  ['UnexpectedPeerError', null],
  ['TimeoutError', 'timeout'],
  ['AbortError', 'timeout'],
  ['UnexpectedEOFError', 'close'],
  ['StreamStateError', 'close'],
  ['ConnectionClosedError', 'close'],
  ['EchRefusedError', 'close'],
  ['StreamResetError', 'reset'],
  ['InvalidCryptoExchangeError', 'decode'],
  ['EchDecodeError', 'decode'],
  ['ProtobufDecodeError', 'decode'],
  ['MessageTooLargeError', 'decode']
])

export function failureKind (err: any): HandshakeFailureKind | undefined {
  const kind = KINDS.get(err?.name)
  if (kind !== undefined) {
    return kind ?? undefined
  }
  return err?.code === 'ECONNRESET' ? 'reset' : 'other'
}
