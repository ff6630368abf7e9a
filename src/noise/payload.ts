/**
 * The libp2p Noise handshake payload (libp2p noise spec, "The libp2p
 * Handshake Payload"), byte-compatible with stock `@chainsafe/libp2p-noise`:
 *
 * ```protobuf
 * message NoiseExtensions { repeated bytes webtransport_certhashes = 1; repeated string stream_muxers = 2; }
 * message NoiseHandshakePayload { bytes identity_key = 1; bytes identity_sig = 2; NoiseExtensions extensions = 4; }
 * ```
 *
 * plus this package's experimental-range fields: 1025 (`EchOuterHello`,
 * message 1 only) and 1026 (the retry record, message 2 only). Unknown
 * fields of every wire type but the deprecated groups are skipped; every
 * length is bounded by the bytes that remain.
 */
import { ProtobufDecodeError } from '../ech/errors.js'

export const FIELD_ECH_OUTER_HELLO = 1025
export const FIELD_ECH_RETRY_RECORD = 1026

const WIRE_VARINT = 0
const WIRE_I64 = 1
const WIRE_LEN = 2
const WIRE_I32 = 5

export interface NoiseExtensions {
  webtransportCerthashes: Uint8Array[]
  streamMuxers: string[]
}

export interface NoiseHandshakePayload {
  identityKey: Uint8Array
  identitySig: Uint8Array
  extensions?: NoiseExtensions
}

export interface DecodedHandshakePayload extends NoiseHandshakePayload {
  /** Field 1026, when present */
  retryRecord?: Uint8Array
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function varintLength (n: number): number {
  let length = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    length++
  }
  return length
}

class Writer {
  readonly parts: Array<number | Uint8Array> = []
  length = 0

  varint (n: number): this {
    while (n >= 0x80) {
      this.parts.push((n & 0x7f) | 0x80)
      n = Math.floor(n / 128)
      this.length++
    }
    this.parts.push(n)
    this.length++
    return this
  }

  bytesField (field: number, bytes: Uint8Array): this {
    this.varint(field * 8 + WIRE_LEN).varint(bytes.byteLength)
    this.parts.push(bytes)
    this.length += bytes.byteLength
    return this
  }

  finish (): Uint8Array {
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const p of this.parts) {
      if (typeof p === 'number') {
        out[offset++] = p
      } else {
        out.set(p, offset)
        offset += p.byteLength
      }
    }
    return out
  }
}

/** A field as read: its number, wire type, and for LEN fields the bytes (a view, not a copy) */
export interface Field { number: number, wireType: number, bytes?: Uint8Array }

/**
 * The package's protobuf reader: tags, varints and LEN fields, every length
 * bounded by the bytes that remain; throws `ProtobufDecodeError`
 */
export class Reader {
  #pos = 0
  readonly #buf: Uint8Array

  constructor (buf: Uint8Array) {
    this.#buf = buf
  }

  done (): boolean {
    return this.#pos >= this.#buf.byteLength
  }

  /** A varint of at most 10 bytes; values above 2^53 lose precision but only lengths and tags are used */
  varint (): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#buf.byteLength) { throw new ProtobufDecodeError('truncated varint') }
      const b = this.#buf[this.#pos++]
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) { return value }
      scale *= 128
    }
    throw new ProtobufDecodeError('varint longer than 10 bytes')
  }

  skip (n: number): void {
    if (n > this.#buf.byteLength - this.#pos) { throw new ProtobufDecodeError('field overruns the message') }
    this.#pos += n
  }

  field (): Field {
    const { number, wireType } = this.tag()
    return this.value(number, wireType)
  }

  tag (): { number: number, wireType: number } {
    const tag = this.varint()
    const number = Math.floor(tag / 8)
    if (number < 1 || number > 0x1fffffff) { throw new ProtobufDecodeError(`invalid field number ${number}`) }
    return { number, wireType: tag % 8 }
  }

  value (number: number, wireType: number): Field {
    switch (wireType) {
      case WIRE_VARINT: this.varint(); return { number, wireType }
      case WIRE_I64: this.skip(8); return { number, wireType }
      case WIRE_I32: this.skip(4); return { number, wireType }
      case WIRE_LEN: {
        const length = this.varint()
        const start = this.#pos
        this.skip(length)
        return { number, wireType, bytes: this.#buf.subarray(start, start + length) }
      }
      default: throw new ProtobufDecodeError(`unsupported wire type ${wireType}`)
    }
  }
}

function lenField (f: Field): Uint8Array {
  if (f.bytes == null) { throw new ProtobufDecodeError(`field ${f.number} must be length-delimited`) }
  return f.bytes
}

function encodeExtensions (ext: NoiseExtensions): Uint8Array {
  const w = new Writer()
  for (const hash of ext.webtransportCerthashes) { w.bytesField(1, hash) }
  for (const muxer of ext.streamMuxers) { w.bytesField(2, encoder.encode(muxer)) }
  return w.finish()
}

function decodeExtensions (bytes: Uint8Array): NoiseExtensions {
  const out: NoiseExtensions = { webtransportCerthashes: [], streamMuxers: [] }
  const r = new Reader(bytes)
  while (!r.done()) {
    const f = r.field()
    if (f.number === 1) {
      out.webtransportCerthashes.push(Uint8Array.from(lenField(f)))
    } else if (f.number === 2) {
      out.streamMuxers.push(decoder.decode(lenField(f)))
    }
  }
  return out
}

/** Encodes fields in stock's order (1, 2, 4), then the retry record (1026) when given */
export function encodeHandshakePayload (payload: NoiseHandshakePayload, retryRecord?: Uint8Array): Uint8Array {
  const w = new Writer()
  if (payload.identityKey.byteLength > 0) { w.bytesField(1, payload.identityKey) }
  if (payload.identitySig.byteLength > 0) { w.bytesField(2, payload.identitySig) }
  if (payload.extensions != null) { w.bytesField(4, encodeExtensions(payload.extensions)) }
  if (retryRecord != null) { w.bytesField(FIELD_ECH_RETRY_RECORD, retryRecord) }
  return w.finish()
}

/** Decodes a message-2/3 payload; byte fields are copies, never views of the frame */
export function decodeHandshakePayload (bytes: Uint8Array): DecodedHandshakePayload {
  const out: DecodedHandshakePayload = { identityKey: new Uint8Array(0), identitySig: new Uint8Array(0) }
  const r = new Reader(bytes)
  while (!r.done()) {
    const f = r.field()
    switch (f.number) {
      case 1: out.identityKey = Uint8Array.from(lenField(f)); break
      case 2: out.identitySig = Uint8Array.from(lenField(f)); break
      case 4: out.extensions = decodeExtensions(lenField(f)); break
      case FIELD_ECH_RETRY_RECORD: out.retryRecord = Uint8Array.from(lenField(f)); break
      default: break
    }
  }
  return out
}

/** The message-1 payload: only field 1025 holding the serialized `EchOuterHello` */
export function encodeOuterHelloPayload (outerHello: Uint8Array): Uint8Array {
  return new Writer().bytesField(FIELD_ECH_OUTER_HELLO, outerHello).finish()
}

/** The payload's length for an outer hello of `length` bytes */
export function outerHelloPayloadLength (length: number): number {
  return varintLength(FIELD_ECH_OUTER_HELLO * 8 + WIRE_LEN) + varintLength(length) + length
}

/**
 * The bytes of field 1025 in a message-1 payload, or undefined when there is
 * none or the payload is not a protobuf at all (stock responders ignore the
 * message-1 payload, so neither is an error at this layer). Field 1025 that
 * is truncated, repeated, not length-delimited, or followed by malformed
 * bytes is a `ProtobufDecodeError`.
 */
export function findOuterHelloField (payload: Uint8Array): Uint8Array | undefined {
  let found: Uint8Array | undefined
  const r = new Reader(payload)
  while (!r.done()) {
    let tag: { number: number, wireType: number }
    try {
      tag = r.tag()
    } catch (err) {
      if (found == null) { return undefined }
      throw err
    }
    if (tag.number !== FIELD_ECH_OUTER_HELLO) {
      try {
        r.value(tag.number, tag.wireType)
      } catch (err) {
        if (found == null) { return undefined }
        throw err
      }
      continue
    }
    if (found != null) { throw new ProtobufDecodeError('field 1025 repeated') }
    found = lenField(r.value(tag.number, tag.wireType))
  }
  return found
}
