/**
 * Codecs for the ECH outer hello (DESIGN.md "Wire format (v1)", modelled on
 * RFC 9849 §5 `ECHClientHello`) and the inner hello it encrypts. TLS
 * presentation language, big-endian:
 *
 * ```
 * struct {
 *   uint8 version = 1;
 *   HpkeSymmetricCipherSuite cipher_suite;   // uint16 kdf_id; uint16 aead_id
 *   uint8 config_id;
 *   opaque enc<0..2^16-1>;
 *   opaque payload<1..2^16-1>;               // HPKE ciphertext of InnerHello
 * } EchOuterHello;
 *
 * struct { uint16 type; opaque data<0..2^16-1>; } InnerExtension;
 * struct {
 *   opaque target_peer_id<1..2^8-1>;         // PeerId multihash bytes
 *   InnerExtension extensions<0..2^16-1>;    // none defined in v1; unknown types ignored
 *   uint8 zeros[];                           // total length a multiple of 32
 * } InnerHello;
 * ```
 *
 * Parsers (the package's one TLS reader, `config/reader.ts`) stop at the
 * first bad field and name it; parsed values are copies.
 */
import { Reader } from '../config/reader.js'
import { findOuterHelloField } from '../noise/payload.js'
import { DHLEN } from '../noise/xx.js'
import { EchDecodeError } from './errors.js'
import type { FieldError } from '../config/reader.js'
import type { Uint8ArrayList } from 'uint8arraylist'

export const OUTER_HELLO_VERSION = 1
/** Inner hellos are padded to a multiple of this (RFC 9849 §6.1.3 pads similarly, to hide lengths) */
export const INNER_HELLO_BLOCK = 32

export interface EchOuterHello {
  version: number
  kdfId: number
  aeadId: number
  configId: number
  enc: Uint8Array
  payload: Uint8Array
}

export interface InnerHello {
  /** Multihash bytes of the peer the initiator means to reach */
  targetPeer: Uint8Array
  extensions: Array<{ type: number, data: Uint8Array }>
}

const decodeError: FieldError = (field, message) => new EchDecodeError(field, message)

/** Serialized length of an outer hello with these enc/payload lengths */
export function outerHelloLength (encLength: number, payloadLength: number): number {
  return 1 + 4 + 1 + 2 + encLength + 2 + payloadLength
}

/**
 * Serializes an outer hello. With `emptyPayload` the payload field is
 * written with length 0 and no bytes: the form bound into the HPKE aad.
 */
export function encodeOuterHello (hello: EchOuterHello, emptyPayload = false): Uint8Array {
  const payloadLength = emptyPayload ? 0 : hello.payload.byteLength
  if (hello.enc.byteLength > 0xffff || payloadLength > 0xffff) {
    throw new RangeError('enc or payload longer than 65535 bytes')
  }
  const out = new Uint8Array(outerHelloLength(hello.enc.byteLength, payloadLength))
  const view = new DataView(out.buffer)
  out[0] = hello.version
  view.setUint16(1, hello.kdfId)
  view.setUint16(3, hello.aeadId)
  out[5] = hello.configId
  view.setUint16(6, hello.enc.byteLength)
  out.set(hello.enc, 8)
  const at = 8 + hello.enc.byteLength
  view.setUint16(at, payloadLength)
  if (!emptyPayload) { out.set(hello.payload, at + 2) }
  return out
}

export function decodeOuterHello (bytes: Uint8Array): EchOuterHello {
  const r = new Reader(bytes, decodeError)
  const version = r.u8('version')
  if (version !== OUTER_HELLO_VERSION) { throw new EchDecodeError('version') }
  const kdfId = r.u16('cipher_suite.kdf_id')
  const aeadId = r.u16('cipher_suite.aead_id')
  const configId = r.u8('config_id')
  const enc = r.bytesCopy(r.u16('enc'), 'enc')
  const payloadLength = r.u16('payload')
  if (payloadLength === 0) { throw new EchDecodeError('payload') }
  const payload = r.bytesCopy(payloadLength, 'payload')
  r.end('trailing bytes')
  return { version, kdfId, aeadId, configId, enc, payload }
}

/** The padded length of an inner hello for a target peer id of this many bytes, without extensions */
export function innerHelloLength (targetPeerLength: number, extensionsLength = 0): number {
  const unpadded = 1 + targetPeerLength + 2 + extensionsLength
  return Math.ceil(unpadded / INNER_HELLO_BLOCK) * INNER_HELLO_BLOCK
}

export function encodeInnerHello (hello: InnerHello): Uint8Array {
  if (hello.targetPeer.byteLength < 1 || hello.targetPeer.byteLength > 0xff) {
    throw new RangeError('target peer id must be 1..255 bytes')
  }
  let extensionsLength = 0
  for (const ext of hello.extensions) { extensionsLength += 4 + ext.data.byteLength }
  if (extensionsLength > 0xffff) { throw new RangeError('inner hello extensions too long') }
  // zero-filled, so the padding is already in place
  const out = new Uint8Array(innerHelloLength(hello.targetPeer.byteLength, extensionsLength))
  const view = new DataView(out.buffer)
  out[0] = hello.targetPeer.byteLength
  out.set(hello.targetPeer, 1)
  let at = 1 + hello.targetPeer.byteLength
  view.setUint16(at, extensionsLength)
  at += 2
  for (const ext of hello.extensions) {
    view.setUint16(at, ext.type)
    view.setUint16(at + 2, ext.data.byteLength)
    out.set(ext.data, at + 4)
    at += 4 + ext.data.byteLength
  }
  return out
}

export function decodeInnerHello (bytes: Uint8Array): InnerHello {
  if (bytes.byteLength === 0 || bytes.byteLength % INNER_HELLO_BLOCK !== 0) {
    throw new EchDecodeError('inner hello length')
  }
  const r = new Reader(bytes, decodeError)
  const peerLength = r.u8('target_peer_id')
  if (peerLength === 0) { throw new EchDecodeError('target_peer_id') }
  const targetPeer = r.bytesCopy(peerLength, 'target_peer_id')
  const list = r.sub(r.u16('extensions'), 'extensions')
  const extensions: InnerHello['extensions'] = []
  while (list.remaining > 0) {
    if (list.remaining < 4) { throw new EchDecodeError('extension.type') }
    const type = list.u16('extension.type')
    extensions.push({ type, data: list.bytesCopy(list.u16('extension.data'), 'extension.data') })
  }
  for (let i = r.position; i < bytes.byteLength; i++) {
    if (bytes[i] !== 0) { throw new EchDecodeError('padding') }
  }
  return { targetPeer, extensions }
}

/**
 * Message 1's outer hello (`e`, then a payload holding field 1025), parsed
 * once: undefined for a stock message 1 (an empty payload, or one that is
 * not a protobuf at all, which stock responders ignore); a malformed field
 * 1025 or hello throws `EchDecodeError` naming the first bad field.
 */
export function extractOuterHello (message1: Uint8Array | Uint8ArrayList): EchOuterHello | undefined {
  const bytes = message1.subarray()
  if (bytes.byteLength < DHLEN) { return undefined }
  let field: Uint8Array | undefined
  try {
    field = findOuterHelloField(bytes.subarray(DHLEN))
  } catch (err) {
    throw new EchDecodeError('field 1025', undefined, { cause: err })
  }
  return field == null ? undefined : decodeOuterHello(field)
}
