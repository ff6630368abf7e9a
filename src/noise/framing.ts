/**
 * libp2p Noise framing: every handshake and transport message is one frame,
 * a big-endian uint16 length then that many bytes, so at most 65535 bytes.
 * The handshake, the secure channel and the wrapper's message-1 peek all
 * frame through here.
 */
import { ConnectionClosedError, StreamCloseEvent, StreamResetError } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { MessageStream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** The largest Noise message (the uint16 length would wrap past it) */
export const MAX_FRAME = 65535

export function uint16BEEncode (value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff)
}
uint16BEEncode.bytes = 2

/**
 * What `uint16BEDecode` throws before both length bytes are there.
 * `@libp2p/utils`' length-prefixed readers (`lpStream` reads one byte at a
 * time, `LengthPrefixedDecoder` any split) call the decoder again after each
 * byte and take a `RangeError` as "need more": one shared instance, as a new
 * one per frame captured a stack trace each time (~45 µs of each ECH
 * handshake in a CPU profile)
 */
const SHORT_LENGTH = new RangeError('Could not decode int16BE')

export function uint16BEDecode (data: Uint8Array | { getUint16(offset: number): number, byteLength: number }): number {
  if (data.byteLength < 2) { throw SHORT_LENGTH }
  return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0)
}

/** A stream of Noise frames over `connection` */
export function noiseFrames (connection: MessageStream): LengthPrefixedStream {
  return lpStream(connection, {
    lengthEncoder: uint16BEEncode,
    lengthDecoder: uint16BEDecode,
    maxDataLength: MAX_FRAME
  })
}

/**
 * `@libp2p/utils`' byte stream rejects a write waiting for drain with the
 * stream's close event (an `Event`: no `name`, no `message`) when the remote
 * resets. Anything thrown by I/O that is not an Error becomes a typed one,
 * with the event's error as `cause`.
 */
export function typedIoError (err: unknown): unknown {
  if (err instanceof Error) { return err }
  const cause = err instanceof StreamCloseEvent ? err.error ?? err : err
  const typed = err instanceof StreamCloseEvent && err.error != null
    ? new StreamResetError('The stream was reset during the handshake')
    : new ConnectionClosedError('The stream closed during the handshake')
  typed.cause = cause
  return typed
}
