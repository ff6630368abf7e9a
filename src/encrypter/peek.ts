/**
 * The listener's side of the wrapper: Noise message 1 is read once, without
 * taking it away from the stock encrypter, and parsed once. Either it holds
 * no outer hello, and the stream goes back with every consumed byte in front
 * of it for the stock responder; or it holds one, and the parsed hello goes
 * to the ECH engine as is.
 *
 * The frame is read through `byteStream`; to restore, the byte stream is
 * unwrapped (which puts back anything read ahead) and then the consumed
 * bytes are put back in front of it with `unshift`, in that order, so the
 * stock responder sees exactly the bytes that came off the wire, none lost
 * or repeated.
 */
import { byteStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { extractOuterHello } from '../ech/outer-hello.js'
import { MAX_FRAME } from '../noise/framing.js'
import type { EchOuterHello } from '../ech/outer-hello.js'
import type { AbortOptions, MessageStream } from '@libp2p/interface'

/**
 * Message 1, peeked:
 * - `stock`: no outer hello; `stream` has message 1 (its length prefix too) back in front
 * - `ech`: an outer hello; `stream` continues after message 1
 */
export type PeekedMessage1 =
  | { kind: 'stock', stream: MessageStream }
  | { kind: 'ech', stream: MessageStream, message1: Uint8ArrayList, outerHello: EchOuterHello }

/**
 * Read and parse message 1. A read failure (abort, EOF, a reset) restores
 * the consumed bytes and rethrows; a malformed outer hello throws
 * `EchDecodeError` with the stream released (the connection is ours to close).
 */
export async function peekMessage1 (connection: MessageStream, options?: AbortOptions): Promise<PeekedMessage1> {
  const bytes = byteStream(connection, { maxBufferSize: MAX_FRAME + 2 })
  const consumed = new Uint8ArrayList()

  const restore = (): MessageStream => {
    try {
      // unwrap() puts back read-ahead bytes, then the consumed ones go in front
      const stream = bytes.unwrap()
      if (consumed.byteLength > 0) {
        stream.unshift(consumed)
      }
    } catch {
      // the stream closed for reading; nobody can read the bytes anyway
    }
    return connection
  }

  let message1: Uint8ArrayList
  try {
    const prefix = await bytes.read({ bytes: 2, ...options })
    consumed.append(prefix)
    const length = prefix.getUint16(0)
    // a zero-length frame is not ours to judge: the stock responder rejects it
    message1 = length === 0 ? new Uint8ArrayList() : await bytes.read({ bytes: length, ...options })
    consumed.append(message1)
  } catch (err) {
    // restore never throws: the original failure (abort, EOF, reset) is what the caller sees
    restore()
    throw err
  }

  let outerHello: EchOuterHello | undefined
  try {
    outerHello = extractOuterHello(message1)
  } catch (err) {
    bytes.unwrap()
    throw err
  }
  if (outerHello == null) {
    return { kind: 'stock', stream: restore() }
  }
  return { kind: 'ech', stream: bytes.unwrap(), message1, outerHello }
}
