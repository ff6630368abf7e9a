/**
 * The page the browser end-to-end suite drives (`page.evaluate`): one
 * libp2p 3 node with `echNoise()` over `@libp2p/websockets`, as a browser
 * application would build it, and the operations the Node side asks for.
 * Everything crosses the page boundary as strings, numbers and plain objects.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { Uint8ArrayList } from 'uint8arraylist'
import { fromString, toString } from 'uint8arrays'
import { defaultProvider } from '../../../src/crypto/default.js'
import { isKemLoaded } from '../../../src/hpke/registry.js'
import { ECH_PEER_STORE_KEY, echNoise } from '../../../src/index.js'
import type { EchConnectionInfo, EchMode, EchNoise } from '../../../src/index.js'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'

export const ECHO_PROTOCOL = '/noise-ech-test/echo/1.0.0'
const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const b64 = (b: Uint8Array): string => toString(b, 'base64')

/** The parts of an outcome the Node side checks */
export interface OutcomeView { outcome: string, reason?: string, configId?: number, retryConfigsLearned?: boolean, remotePeer?: string }

function view (info: EchConnectionInfo | undefined): OutcomeView | undefined {
  if (info == null) { return undefined }
  return { outcome: info.outcome, reason: info.reason, configId: info.configId, retryConfigsLearned: info.retryConfigsLearned, remotePeer: info.remotePeer?.toString() }
}

let node: Libp2p<{ ping: Ping }> | undefined
let ech: EchNoise | undefined
const connections = new Map<string, Connection>()

function running (): { node: Libp2p<{ ping: Ping }>, ech: EchNoise } {
  if (node == null || ech == null) { throw new Error('harness not started') }
  return { node, ech }
}

async function start (options: { mode?: EchMode } = {}): Promise<{ peerId: string, provider: string }> {
  node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [(components: any) => (ech = echNoise({ mode: options.mode, policy: { env: {} } })(components))],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping() },
    // libp2p's browser gater refuses private addresses; the listeners are on 127.0.0.1
    connectionGater: { denyDialMultiaddr: async () => false }
  })
  return { peerId: node.peerId.toString(), provider: defaultProvider.name }
}

async function stop (): Promise<void> {
  await node?.stop()
  node = undefined
  ech = undefined
  connections.clear()
}

async function storeConfig (peer: string, value: string): Promise<void> {
  await running().node.peerStore.merge(peerIdFromString(peer), { metadata: { [ECH_PEER_STORE_KEY]: fromString(value, 'base64') } })
}

async function storedConfig (peer: string): Promise<string | undefined> {
  const { node } = running()
  const id = peerIdFromString(peer)
  if (!await node.peerStore.has(id)) { return undefined }
  const value = (await node.peerStore.get(id)).metadata.get(ECH_PEER_STORE_KEY)
  return value == null ? undefined : b64(value)
}

/** Dial a fresh connection; the outcome is the `ech:outcome` of this dial */
async function dial (addr: string): Promise<{ id: string, outcome?: OutcomeView }> {
  const { node, ech } = running()
  const signal = AbortSignal.timeout(10_000)
  const outcome = pEvent(ech as unknown as EventTarget, 'ech:outcome', { signal })
  let conn: Connection
  try {
    conn = await node.dial(multiaddr(addr), { force: true, signal })
  } catch (err) {
    outcome.cancel()
    throw err
  }
  await outcome
  connections.set(conn.id, conn)
  return { id: conn.id, outcome: view(ech.getConnectionInfo(conn)) }
}

/** Dial and report the error's name (and its cause's) when it fails, or the outcome when it does not */
async function dialExpectingFailure (addr: string): Promise<{ error?: string, cause?: string, errors: string[], ms?: number, outcome?: OutcomeView }> {
  const { ech } = running()
  const errors: string[] = []
  const started = performance.now()
  ;(ech as unknown as EventTarget).addEventListener('ech:error', (e: any) => { errors.push(e.detail.error) })
  try {
    const { outcome } = await dial(addr)
    return { outcome, errors }
  } catch (err: any) {
    return { error: err?.name, cause: err?.cause?.name, errors, ms: Math.round(performance.now() - started) }
  }
}

async function hangUp (peer: string): Promise<void> {
  await running().node.hangUp(peerIdFromString(peer))
}

/** One ping over this very connection: the remote's ping service echoes 32 random bytes; whether they came back equal */
async function pingOver (id: string): Promise<boolean> {
  const conn = connections.get(id)
  if (conn == null) { throw new Error(`no connection ${id}`) }
  const stream = await conn.newStream(PING_PROTOCOL)
  const data = crypto.getRandomValues(new Uint8Array(32))
  const received = new Uint8ArrayList()
  const reading = (async () => {
    for await (const buf of stream) {
      received.append(buf.subarray())
      if (received.byteLength >= 32) { break }
    }
  })()
  stream.send(data)
  await reading
  await stream.close()
  const back = received.subarray(0, 32)
  return back.byteLength === 32 && back.every((b, i) => b === data[i])
}

/** Send `size` random bytes through the echo protocol on this connection and compare what comes back byte for byte */
async function echo (id: string, size: number): Promise<{ sent: number, received: number, equal: boolean, firstDifference: number }> {
  const conn = connections.get(id)
  if (conn == null) { throw new Error(`no connection ${id}`) }
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) { crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536))) }
  const stream = await conn.newStream(ECHO_PROTOCOL)
  const received = new Uint8ArrayList()
  const reading = (async () => {
    for await (const buf of stream) {
      received.append(buf.subarray())
      if (received.byteLength >= size) { break }
    }
  })()
  for (let i = 0; i < size; i += 16 * 1024) {
    if (!stream.send(data.subarray(i, i + 16 * 1024))) {
      await pEvent(stream, 'drain', { rejectionEvents: ['close'] })
    }
  }
  await reading
  await stream.close()
  const back = received.subarray()
  let firstDifference = -1
  for (let i = 0; i < Math.min(back.byteLength, size); i++) {
    if (back[i] !== data[i]) { firstDifference = i; break }
  }
  return { sent: size, received: back.byteLength, equal: back.byteLength === size && firstDifference === -1, firstDifference }
}

function kemLoaded (id: number): boolean {
  return isKemLoaded(id)
}

/** Names of the scripts the page loaded (the X-Wing chunk arrives only when used) */
function scripts (): string[] {
  return performance.getEntriesByType('resource').map(e => e.name.split('/').pop() ?? '').filter(n => n.endsWith('.js'))
}

Object.assign(globalThis, { harness: { start, stop, storeConfig, storedConfig, dial, dialExpectingFailure, hangUp, pingOver, echo, kemLoaded, scripts } })
