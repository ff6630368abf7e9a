/**
 * Our side of the interop matrix: real js-libp2p 3 nodes over TCP on
 * 127.0.0.1 with yamux, ping, identify and the echo protocol, secured by
 * `echNoise` (imported only through the package's public entry) or by a
 * stock js Noise encrypter (`@chainsafe/libp2p-noise`, `@libp2p/noise`).
 *
 * Adapted from test/fixtures/nodes.ts (not imported: that folder is being
 * refactored).
 */
import { noise as chainsafeNoise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { noise as libp2pNoise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { equalBytes } from '../../src/crypto/bytes.js'
import { echNoise, echAnnounceFilter } from '../../src/index.js'
import type { EchConnectionInfo, EchHandshakeError, EchNoise, EchNoiseInit } from '../../src/index.js'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

export const ECHO_PROTOCOL = '/noise-ech-test/echo/1.0.0'
export const ONE_MIB = 1024 * 1024

export type JsEncrypter = 'ech' | 'chainsafe-noise' | 'libp2p-noise'

export interface JsNodeOptions {
  encrypter: JsEncrypter
  ech?: EchNoiseInit
  /** Announce this node's ECH configs as `/ech` addresses via identify (row 7) */
  announceEch?: boolean
}

export interface JsNode {
  node: Libp2p<{ ping: Ping, identify: any }>
  ech?: EchNoise
  /** The encrypter instance (for its capabilities / toStringTag) */
  encrypter: any
  addr: Multiaddr
  outcomes: EchConnectionInfo[]
  errors: EchHandshakeError[]
  /** Every `peer:identify` this node saw */
  identified: Array<{ peerId: string, listenAddrs: string[], protocols: string[] }>
}

export async function createJsNode (options: JsNodeOptions): Promise<JsNode> {
  let ech: EchNoise | undefined
  let encrypter: any
  const outcomes: EchConnectionInfo[] = []
  const errors: EchHandshakeError[] = []
  const factory = (components: any): any => {
    if (options.encrypter === 'ech') {
      ech = echNoise(options.ech)(components)
      ech.addEventListener('ech:outcome', (evt) => { outcomes.push(evt.detail) })
      ech.addEventListener('ech:error', (evt) => { errors.push(evt.detail) })
      encrypter = ech
    } else if (options.encrypter === 'libp2p-noise') {
      encrypter = libp2pNoise()(components)
    } else {
      encrypter = chainsafeNoise()(components)
    }
    return encrypter
  }
  const node = await createLibp2p({
    addresses: {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      ...(options.announceEch === true ? { announceFilter: echAnnounceFilter(() => ech?.getEchConfigList()) } : {})
    },
    transports: [tcp()],
    connectionEncrypters: [factory],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping(), identify: identify() },
    // the matrix opens many connections per second from 127.0.0.1: lift the inbound rate limit (default 5/s per host)
    connectionManager: { maxConnections: 1000, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 100 }
  })
  await node.handle(ECHO_PROTOCOL, (stream) => { void echoHandler(stream) }, { maxInboundStreams: 64 })
  const identified: JsNode['identified'] = []
  node.addEventListener('peer:identify', (evt) => {
    identified.push({
      peerId: evt.detail.peerId.toString(),
      listenAddrs: evt.detail.listenAddrs.map(a => a.toString()),
      protocols: evt.detail.protocols
    })
  })
  return { node, ech, encrypter, addr: node.getMultiaddrs()[0], outcomes, errors, identified }
}

/**
 * Echo every byte back until the remote closes its write side.
 *
 * Not `echo()` from `@libp2p/utils` 7.4.1: it pauses the stream while it waits
 * for 'drain', and the stream's async iterator ends on 'remoteCloseWrite'
 * even when data is still held in the pause buffer, so a peer that writes
 * 1 MiB and half-closes at once (go-libp2p, rust-libp2p do) gets only part of
 * it back (reproducible with stock `@chainsafe/libp2p-noise` too). Without
 * pause() every message reaches the iterator before the end.
 */
export async function echoHandler (stream: any): Promise<void> {
  try {
    for await (const buf of stream) {
      stream.send(buf)
    }
    await stream.close()
  } catch (err: any) {
    stream.abort(err)
  }
}

/** Send `data` through the echo protocol on `connection` and return what came back */
export async function echoOver (connection: Connection, data: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  const stream = await connection.newStream(ECHO_PROTOCOL, { signal })
  const received = new Uint8ArrayList()
  const reading = (async () => {
    for await (const buf of stream) {
      received.append(buf.subarray())
      if (received.byteLength >= data.byteLength) { break }
    }
  })()
  const chunk = 16 * 1024
  for (let i = 0; i < data.byteLength; i += chunk) {
    if (!stream.send(data.subarray(i, i + chunk))) {
      await waitDrain(stream, signal)
    }
  }
  await stream.close({ signal })
  await abortable(reading, signal)
  return received.subarray()
}

/** Waits for the stream's 'drain' event itself (`onDrain()` resolves at once after the first drain) */
async function waitDrain (stream: any, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (err != null) { reject(err) } else { resolve() }
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new Error('stream closed while waiting for drain')) }
    const onAbort = (): void => { done(signal.reason ?? new Error('aborted')) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
  })
}

export async function abortable<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) { throw signal.reason }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason ?? new Error('aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(v => { signal.removeEventListener('abort', onAbort); resolve(v) },
      e => { signal.removeEventListener('abort', onAbort); reject(e) })
  })
}

export function randomBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(i + 65536, length)))
  }
  return out
}

export interface JsDialResult {
  ok: boolean
  error?: string
  /** Connection establishment (TCP + multistream + Noise + muxer), ms */
  connectMs?: number
  pingMs?: number
  echoOk?: boolean
  ms: number
  connection?: Connection
}

/**
 * Dial `target`, ping over the new connection, echo `echoBytes` random bytes
 * and compare byte for byte. Never throws: failures are data.
 */
export async function dialAndCheck (from: JsNode, target: Multiaddr | PeerId, echoBytes: number, timeoutMs = 20_000): Promise<JsDialResult> {
  const start = performance.now()
  const signal = AbortSignal.timeout(timeoutMs)
  const res: JsDialResult = { ok: false, ms: 0 }
  try {
    const connection = await from.node.dial(target as any, { signal })
    res.connection = connection
    res.connectMs = round(performance.now() - start)
    const t = performance.now()
    await pingOver(connection, signal)
    res.pingMs = round(performance.now() - t)
    const data = randomBytes(echoBytes)
    const back = await echoOver(connection, data, signal)
    res.echoOk = equalBytes(back, data)
    res.ok = res.echoOk
    if (!res.echoOk) { res.error = `echo mismatch: sent ${data.byteLength} bytes, got ${back.byteLength}` }
  } catch (err: any) {
    res.error = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`
  }
  res.ms = round(performance.now() - start)
  return res
}

/** Ping and echo over an existing connection */
export async function checkConnection (from: JsNode, connection: Connection, echoBytes: number, timeoutMs = 20_000): Promise<JsDialResult> {
  const start = performance.now()
  const signal = AbortSignal.timeout(timeoutMs)
  const res: JsDialResult = { ok: false, ms: 0, connection }
  try {
    const t = performance.now()
    await pingOver(connection, signal)
    res.pingMs = round(performance.now() - t)
    const data = randomBytes(echoBytes)
    const back = await echoOver(connection, data, signal)
    res.echoOk = equalBytes(back, data)
    res.ok = res.echoOk && connection.status === 'open'
    if (!res.echoOk) { res.error = `echo mismatch: sent ${data.byteLength} bytes, got ${back.byteLength}` }
  } catch (err: any) {
    res.error = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`
  }
  res.ms = round(performance.now() - start)
  return res
}

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** One ping (32 random bytes echoed by the remote's ping service) over this very connection */
export async function pingOver (connection: Connection, signal: AbortSignal): Promise<void> {
  const stream = await connection.newStream(PING_PROTOCOL, { signal })
  const data = randomBytes(32)
  const received = new Uint8ArrayList()
  const reading = (async () => {
    for await (const buf of stream) {
      received.append(buf.subarray())
      if (received.byteLength >= 32) { break }
    }
  })()
  stream.send(data)
  await abortable(reading, signal)
  await stream.close({ signal }).catch(() => {})
  if (!equalBytes(received.subarray(), data)) { throw new Error('ping: wrong bytes back') }
}

export function round (n: number): number {
  return Math.round(n * 10) / 10
}

export async function waitUntil (pred: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (pred()) { return true }
    await new Promise(resolve => setTimeout(resolve, stepMs))
  }
  return pred()
}
