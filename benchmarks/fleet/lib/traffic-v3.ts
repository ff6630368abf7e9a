/**
 * The transfer protocol (`transfer.ts`) over libp2p 3 streams: the handler
 * and the sender. Backpressure: `send()` returning false means wait for the
 * `'drain'` event (not `onDrain()`, which resolves at once after the first
 * drain). No package imports: the stock worker uses it too.
 */
import { pEvent } from 'p-event'
import { Uint8ArrayList } from 'uint8arraylist'
import { TRANSFER_PROTOCOL, checkRequest, checkResponse, makeRequest } from './transfer.js'
import type { TransferSeen } from './transfer.js'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

const CHUNK = 16 * 1024

async function readAll (stream: Stream): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  for await (const chunk of stream) {
    received.append(chunk)
  }
  return received.subarray()
}

async function sendAll (stream: Stream, bytes: Uint8Array): Promise<void> {
  for (let i = 0; i < bytes.byteLength; i += CHUNK) {
    if (!stream.send(bytes.subarray(i, i + CHUNK))) {
      await pEvent(stream, 'drain', { rejectionEvents: ['close'] })
    }
  }
}

/** Serve the transfer protocol on `node`; `report` gets what the receiving side saw */
export async function handleTransfers (node: Libp2p, report: (seen: TransferSeen, remote: PeerId) => void): Promise<void> {
  await node.handle(TRANSFER_PROTOCOL, async (stream: Stream, connection: Connection) => {
    try {
      const { seen, response } = checkRequest(await readAll(stream))
      report(seen, connection.remotePeer)
      await sendAll(stream, response)
      await stream.close()
    } catch (err: any) {
      report({ id: 'unknown', length: 0, status: 'aborted', error: err?.name ?? 'Error' }, connection.remotePeer)
      stream.abort(err)
    }
  }, { maxInboundStreams: 64, runOnLimitedConnection: false })
}

/** Send one transfer of `length` payload bytes to `peer` (dialling it if need be) */
export async function sendTransfer (node: Libp2p, peer: PeerId, length: number, signal: AbortSignal): Promise<TransferSeen> {
  const { id, bytes } = makeRequest(length)
  let stream: Stream
  try {
    stream = await node.dialProtocol(peer, TRANSFER_PROTOCOL, { signal })
  } catch (err: any) {
    return { id, length, status: 'dial-failed', error: err?.name ?? 'Error' }
  }
  try {
    const reading = readAll(stream)
    // an error while sending is reported below; the read then fails too
    reading.catch(() => {})
    await sendAll(stream, bytes)
    await stream.close({ signal })
    return checkResponse(bytes, id, await reading)
  } catch (err: any) {
    stream.abort(err)
    return { id, length, status: 'aborted', error: err?.name ?? 'Error' }
  }
}
