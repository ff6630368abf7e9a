/**
 * The listener's side of the wrapper: Noise message 1 is read once, without
 * taking it away from the stock encrypter, and parsed once. Either it holds
 * no outer hello, and the stream goes back with every byte read in front of
 * it for the stock responder; or it holds one, and the parsed hello goes to
 * the ECH engine as is.
 *
 * The frame is collected by one `message` listener into a list of the
 * messages as they arrived (no copy, no byte stream, no promise per read):
 * this runs before every inbound handshake, stock or not. The listener goes
 * as soon as the frame is whole; what it collected then goes back in front of
 * the stream with `unshift`, all of it for the stock responder, what follows
 * message 1 for the ECH one, so each sees exactly the bytes that came off the
 * wire, none lost or repeated.
 *
 * Failures are those of `@libp2p/utils`' byte stream, which read message 1
 * before: the abort signal's reason, `UnexpectedEOFError` when the stream
 * ends first, the close event's error on a reset, and at the deadline the
 * `TimeoutError` that `AbortSignal.timeout` gives (`passedDeadline` tells it
 * from the caller's own).
 */
import { UnexpectedEOFError } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { extractOuterHello } from '../ech/outer-hello.js'
import type { EchOuterHello } from '../ech/outer-hello.js'
import type { AbortOptions, MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/**
 * Message 1, peeked:
 * - `stock`: no outer hello; `stream` has message 1 (its length prefix too) back in front
 * - `ech`: an outer hello; `stream` continues after message 1
 */
export type PeekedMessage1 =
  | { kind: 'stock', stream: MessageStream }
  | { kind: 'ech', stream: MessageStream, message1: Uint8ArrayList, outerHello: EchOuterHello }

export interface PeekOptions extends AbortOptions {
  /** Ms to wait for the whole of message 1 (SECURITY.md §4.4); no deadline when absent */
  timeout?: number
}

/** The errors thrown at the peek's own deadline */
const deadlines = new WeakSet<object>()

/** Whether `err` is the peek's deadline passing (not the caller's signal) */
export function passedDeadline (err: unknown): boolean {
  return typeof err === 'object' && err != null && deadlines.has(err)
}

/**
 * Read and parse message 1. A read failure (abort, deadline, EOF, a reset)
 * restores the bytes read and rethrows; a malformed outer hello throws
 * `EchDecodeError` with the stream released (the connection is ours to close).
 */
export async function peekMessage1 (connection: MessageStream, options: PeekOptions = {}): Promise<PeekedMessage1> {
  const read = new Uint8ArrayList()
  try {
    await readFrame(connection, read, options)
  } catch (err) {
    putBack(connection, read)
    throw err
  }
  const end = 2 + read.getUint16(0)
  // a zero-length frame is not ours to judge: the stock responder rejects it
  const message1 = read.sublist(2, end)
  let outerHello: EchOuterHello | undefined
  try {
    outerHello = extractOuterHello(message1)
  } catch (err) {
    putBack(connection, read.sublist(end))
    throw err
  }
  if (outerHello == null) {
    putBack(connection, read)
    return { kind: 'stock', stream: connection }
  }
  putBack(connection, read.sublist(end))
  return { kind: 'ech', stream: connection, message1, outerHello }
}

/** Whether `read` holds a whole frame: the uint16 length and that many bytes */
function whole (read: Uint8ArrayList): boolean {
  return read.byteLength >= 2 && read.byteLength >= 2 + read.getUint16(0)
}

/** As `@libp2p/utils`' byte stream judges it: nothing more will arrive */
function ended (connection: MessageStream): boolean {
  const stream = connection as Partial<{ closeRead: unknown, remoteWriteStatus: string, readBufferLength: number }>
  if (typeof stream.closeRead === 'function') {
    return stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0
  }
  return connection.status !== 'open'
}

function eof (read: Uint8ArrayList): Error {
  return new UnexpectedEOFError(`Unexpected EOF - stream closed after reading ${read.byteLength} bytes of Noise message 1`)
}

/** Collect messages into `read` until it holds one whole frame */
async function readFrame (connection: MessageStream, read: Uint8ArrayList, options: PeekOptions): Promise<void> {
  options.signal?.throwIfAborted()
  if (ended(connection)) {
    throw eof(read)
  }
  await new Promise<void>((resolve, reject) => {
    const { signal, timeout } = options
    const finish = (err?: unknown): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      connection.removeEventListener('message', onMessage)
      connection.removeEventListener('close', onClose)
      connection.removeEventListener('remoteCloseWrite', onEnd)
      if (err == null) { resolve() } else { reject(err) }
    }
    const onMessage = (evt: StreamMessageEvent): void => {
      read.append(evt.data)
      if (whole(read)) { finish() }
    }
    const onClose = (evt: StreamCloseEvent): void => { finish(evt.error ?? eof(read)) }
    const onEnd = (): void => { finish(eof(read)) }
    const onAbort = (): void => { finish(signal?.reason) }
    const timer = timeout == null
      ? undefined
      : setTimeout(() => {
        const err = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
        deadlines.add(err)
        finish(err)
      }, timeout)
    signal?.addEventListener('abort', onAbort)
    connection.addEventListener('message', onMessage)
    connection.addEventListener('close', onClose)
    connection.addEventListener('remoteCloseWrite', onEnd)
  })
}

/** Put `bytes` back in front of the stream, for whoever reads it next */
function putBack (connection: MessageStream, bytes: Uint8ArrayList): void {
  if (bytes.byteLength === 0) { return }
  try {
    connection.unshift(bytes)
  } catch {
    // the stream closed for reading; nobody can read the bytes anyway
  }
}
