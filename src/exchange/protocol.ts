/**
 * The wire side of the config exchange: one uvarint-length-prefixed signed
 * config record from listener to dialer, then close. Reads are bounded (the
 * announced length and the buffered bytes) and every step obeys a signal.
 */
import { lpStream } from '@libp2p/utils'
import { EchConfigFetchTimeoutError, EchConfigResponseInvalidError, EchConfigResponseTooLargeError } from './errors.js'
import type { AbortOptions, MessageStream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ReadConfigRecordOptions extends AbortOptions {
  /** Largest record accepted, bytes */
  maxRecordSize: number
  /** When this signal is the one that aborted, the failure is reported as a timeout */
  timeoutSignal?: AbortSignal
}

const TOO_LARGE = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError'])
const MALFORMED = new Set(['InvalidMessageLengthError', 'UnexpectedEOFError'])

/**
 * Read the one record a listener sends. Throws `EchConfigResponseTooLargeError`,
 * `EchConfigResponseInvalidError` or `EchConfigFetchTimeoutError`; stream
 * errors (reset, closed connection) pass through unchanged.
 */
export async function readConfigRecord (stream: MessageStream, options: ReadConfigRecordOptions): Promise<Uint8Array> {
  const lp = lpStream(stream, {
    lengthDecoder: boundedUvarintDecoder(options.maxRecordSize),
    maxDataLength: options.maxRecordSize,
    // never buffer much more than one record, whatever the remote sends
    maxBufferSize: options.maxRecordSize + 16
  })
  let message
  try {
    message = await lp.read({ signal: options.signal })
  } catch (err: any) {
    throw mapReadError(err, options)
  }
  if (message.byteLength === 0) {
    throw new EchConfigResponseInvalidError('ECH config exchange response is empty')
  }
  return message.subarray()
}

/**
 * An unsigned-varint length decoder that gives up as soon as the varint is
 * longer than any length up to `max` needs (the stock decoder keeps asking
 * for more bytes while a remote sends 0xff forever).
 */
function boundedUvarintDecoder (max: number): (data: Uint8ArrayList) => number {
  let maxBytes = 1
  while (max >= 2 ** (7 * maxBytes)) { maxBytes++ }
  return (data) => {
    let value = 0
    for (let i = 0; i < data.byteLength; i++) {
      const byte = data.get(i)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if ((byte & 0x80) === 0) {
        return value
      }
      if (i + 1 >= maxBytes) {
        throw new EchConfigResponseTooLargeError(`ECH config exchange response length needs more than ${maxBytes} varint bytes`)
      }
    }
    // incomplete: lpStream reads another byte
    throw new RangeError('Incomplete varint')
  }
}

function mapReadError (err: any, options: ReadConfigRecordOptions): Error {
  if (options.timeoutSignal?.aborted === true) {
    return new EchConfigFetchTimeoutError(undefined, { cause: err })
  }
  if (TOO_LARGE.has(err?.name)) {
    return new EchConfigResponseTooLargeError(`ECH config exchange response is larger than ${options.maxRecordSize} bytes`, { cause: err })
  }
  if (MALFORMED.has(err?.name)) {
    return new EchConfigResponseInvalidError(undefined, { cause: err })
  }
  return err
}

/** Write one record and close the write end */
export async function writeConfigRecord (stream: MessageStream, record: Uint8Array, options: AbortOptions = {}): Promise<void> {
  const lp = lpStream(stream)
  await lp.write(record, options)
  await lp.unwrap().close(options)
}
