/**
 * The fleet's transfer protocol, checksummed so that every byte is verified
 * at the other end. One request per stream, from the dialer:
 *
 * ```
 * id (8 bytes) | length (uint32 BE) | payload (length bytes) | SHA-256(id | length | payload)
 * ```
 *
 * then the dialer closes its write side. The listener reads until the
 * remote's end of stream, checks length and hash, and answers with
 *
 * ```
 * status (1: intact, 0: not) | received (uint32 BE) | SHA-256 of what it received
 * ```
 *
 * and closes. Either side reports what it saw; the coordinator joins the
 * two by `id`. A transfer the transport failed (reset, abort, timeout) is
 * `aborted`, not lost: the stream said so. Bytes are lost when the sender
 * sent everything and closed without error, and the answer says the
 * listener got other bytes (or the answer itself arrived damaged). A clean
 * end without any answer is `no-answer`: a listener shutting down closes
 * its streams cleanly too, so it counts as lost only outside restarts and
 * injected faults (the coordinator decides). A listener that sees a clean
 * end of a short request reports `short`: the sender's own report says
 * whether it had sent it all.
 *
 * No libp2p or package imports: the stock and libp2p 2 workers use it too.
 */
import { createHash, randomBytes } from 'node:crypto'

export const TRANSFER_PROTOCOL = '/noise-ech-fleet/transfer/1.0.0'
export const HEADER_LENGTH = 12
export const DIGEST_LENGTH = 32
export const RESPONSE_LENGTH = 1 + 4 + DIGEST_LENGTH

/** What one side saw of one transfer */
export interface TransferSeen {
  id: string
  /** Payload length the request announced (receiver), or sent (sender) */
  length: number
  /**
   * `ok`: verified end to end; `lost` (sender): the answer says other bytes
   * arrived, or is damaged; `no-answer` (sender): the stream ended cleanly
   * without one; `short` (listener): a clean end with missing or different
   * bytes; `aborted`: the transport reported an error; `dial-failed`
   * (sender): no stream
   */
  status: 'ok' | 'lost' | 'no-answer' | 'short' | 'aborted' | 'dial-failed'
  error?: string
}

export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) { h.update(p) }
  return new Uint8Array(h.digest())
}

/** A request: header, random payload and digest, as one buffer */
export function makeRequest (length: number): { id: string, bytes: Uint8Array } {
  const bytes = new Uint8Array(HEADER_LENGTH + length + DIGEST_LENGTH)
  const id = randomBytes(8)
  bytes.set(id, 0)
  new DataView(bytes.buffer).setUint32(8, length)
  bytes.set(randomBytes(length), HEADER_LENGTH)
  bytes.set(sha256(bytes.subarray(0, HEADER_LENGTH + length)), HEADER_LENGTH + length)
  return { id: Buffer.from(id).toString('hex'), bytes }
}

/** Check a whole request as received (the stream ended cleanly); the response to send */
export function checkRequest (received: Uint8Array): { seen: TransferSeen, response: Uint8Array } {
  const id = received.byteLength >= 8 ? Buffer.from(received.subarray(0, 8)).toString('hex') : 'unknown'
  const length = received.byteLength >= HEADER_LENGTH ? new DataView(received.buffer, received.byteOffset).getUint32(8) : 0
  const expected = HEADER_LENGTH + length + DIGEST_LENGTH
  const intact = received.byteLength === expected &&
    Buffer.compare(sha256(received.subarray(0, HEADER_LENGTH + length)), received.subarray(HEADER_LENGTH + length)) === 0
  const response = new Uint8Array(RESPONSE_LENGTH)
  response[0] = intact ? 1 : 0
  new DataView(response.buffer).setUint32(1, received.byteLength)
  response.set(sha256(received), 5)
  return { seen: { id, length, status: intact ? 'ok' : 'short' }, response }
}

/** Check the response to `request` (the stream ended cleanly) */
export function checkResponse (request: Uint8Array, id: string, response: Uint8Array): TransferSeen {
  const length = request.byteLength - HEADER_LENGTH - DIGEST_LENGTH
  if (response.byteLength === 0) {
    return { id, length, status: 'no-answer' }
  }
  const intact = response.byteLength === RESPONSE_LENGTH && response[0] === 1 &&
    new DataView(response.buffer, response.byteOffset).getUint32(1) === request.byteLength &&
    Buffer.compare(response.subarray(5), sha256(request)) === 0
  return { id, length, status: intact ? 'ok' : 'lost' }
}

/** Payload sizes: mostly small, some up to 256 KiB */
export function randomLength (): number {
  const r = Math.random()
  if (r < 0.6) { return 1 + Math.floor(Math.random() * 4096) }
  if (r < 0.9) { return 4096 + Math.floor(Math.random() * 61_440) }
  return 65_536 + Math.floor(Math.random() * 196_608)
}
