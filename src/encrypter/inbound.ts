/**
 * Reading Noise message 1 on the responder side without taking it away from
 * the stock encrypter. The frame is read through `byteStream`; when the stock
 * encrypter must handle the connection, the byte stream is unwrapped (which
 * puts back anything read ahead) and then the consumed bytes are put back in
 * front of it with `unshift`, in that order, so the stock responder sees
 * exactly the bytes that came off the wire, none lost or repeated.
 */
import { byteStream } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_FRAME } from '../noise/framing.js'
import type { AbortOptions, MessageStream } from '@libp2p/interface'

export interface FirstFrame {
  /** Message 1 without its length prefix */
  message: Uint8ArrayList
  /** Hand the stream back with every consumed byte restored */
  restore(): MessageStream
  /** Hand the stream back for further reading by an owner of the remaining bytes */
  release(): MessageStream
}

/**
 * Read the first length-prefixed frame. On any failure (abort, EOF, a reset)
 * the consumed bytes are restored before the error propagates.
 */
export async function readFirstFrame (connection: MessageStream, options?: AbortOptions): Promise<FirstFrame> {
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

  try {
    const prefix = await bytes.read({ bytes: 2, ...options })
    consumed.append(prefix)
    const length = prefix.getUint16(0)
    // a zero-length frame is not ours to judge: the stock responder rejects it
    const message = length === 0 ? new Uint8ArrayList() : await bytes.read({ bytes: length, ...options })
    consumed.append(message)
    return {
      message,
      restore,
      release: () => bytes.unwrap()
    }
  } catch (err) {
    // restore never throws: the original failure (abort, EOF, reset) is what the caller sees
    restore()
    throw err
  }
}
