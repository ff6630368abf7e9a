/**
 * libp2p Noise framing: every handshake and transport message is one frame,
 * a big-endian uint16 length then that many bytes, so at most 65535 bytes.
 * The handshake, the secure channel and the wrapper's message-1 peek all
 * frame through here.
 */
import { lpStream } from '@libp2p/utils'
import type { MessageStream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** The largest Noise message (the uint16 length would wrap past it) */
export const MAX_FRAME = 65535

export function uint16BEEncode (value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff)
}
uint16BEEncode.bytes = 2

export function uint16BEDecode (data: Uint8Array | { getUint16(offset: number): number, byteLength: number }): number {
  if (data.byteLength < 2) { throw new RangeError('Could not decode int16BE') }
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
