/**
 * The transfer protocol (`transfer.ts`) over libp2p 2 streams (it-stream
 * duplexes: `sink` pulls, which is the backpressure; `sink` closes the
 * write side when its source ends). No package imports.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { TRANSFER_PROTOCOL, checkRequest, checkResponse, makeRequest } from './transfer.js'
import type { TransferSeen } from './transfer.js'

const CHUNK = 16 * 1024

async function readAll (source: AsyncIterable<Uint8Array | Uint8ArrayList>): Promise<Uint8Array> {
  const received = new Uint8ArrayList()
  for await (const chunk of source) {
    received.append(chunk)
  }
  return received.subarray()
}

function * chunks (bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += CHUNK) {
    yield bytes.subarray(i, i + CHUNK)
  }
}

/** Serve the transfer protocol on a libp2p 2 node */
export async function handleTransfersV2 (node: any, report: (seen: TransferSeen, remote: string) => void): Promise<void> {
  await node.handle(TRANSFER_PROTOCOL, async ({ stream, connection }: any) => {
    try {
      const { seen, response } = checkRequest(await readAll(stream.source))
      report(seen, connection.remotePeer.toString())
      await stream.sink([response])
    } catch (err: any) {
      report({ id: 'unknown', length: 0, status: 'aborted', error: err?.name ?? 'Error' }, connection.remotePeer.toString())
      stream.abort(err)
    }
  }, { maxInboundStreams: 64 })
}

/** Send one transfer from a libp2p 2 node */
export async function sendTransferV2 (node: any, peer: any, length: number, signal: AbortSignal): Promise<TransferSeen> {
  const { id, bytes } = makeRequest(length)
  let stream: any
  try {
    stream = await node.dialProtocol(peer, TRANSFER_PROTOCOL, { signal })
  } catch (err: any) {
    return { id, length, status: 'dial-failed', error: err?.name ?? 'Error' }
  }
  try {
    const reading = readAll(stream.source)
    reading.catch(() => {})
    await stream.sink(chunks(bytes))
    return checkResponse(bytes, id, await reading)
  } catch (err: any) {
    stream.abort(err)
    return { id, length, status: 'aborted', error: err?.name ?? 'Error' }
  }
}
