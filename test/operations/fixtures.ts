/**
 * Fixtures for the operations tests: real libp2p 3 nodes on TCP 127.0.0.1
 * with the options those tests need (fixed identity and port, metrics,
 * relaxed inbound limits, optional identify), scripted raw TCP adversaries
 * that speak multistream-select and then write their own Noise message 1,
 * and a proxy that breaks only ECH handshakes.
 */
import '../../src/polyfill.js'
import { createServer, connect } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { echo } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { nodeProvider } from '../../src/crypto/node.js'
import { encodeOuterHello } from '../../src/ech/outer-hello.js'
import { ECH_PEER_STORE_KEY, echNoise } from '../../src/index.js'
import { encodeOuterHelloPayload } from '../../src/noise/payload.js'
import { ECHO_PROTOCOL, recordFailures } from '../fixtures/nodes.js'
import { topLevelFields } from '../fixtures/proxy.js'
import type { EchNoise, EchNoiseEvents, EchNoiseInit, EchThreat } from '../../src/index.js'
import type { HandshakeFailure } from '../fixtures/nodes.js'
import type { ConnectionEncrypter, Libp2p, Metrics, PeerId, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Server, Socket } from 'node:net'

/** field 1025, wire type 2: the varint tag `8a 40` */
export const OUTER_HELLO_FIELD = 1025

export interface OpsNode {
  node: Libp2p<{ ping: Ping }>
  ech?: EchNoise
  /** The node's connection encrypter (the ECH one, or stock `noise()`) */
  encrypter: ConnectionEncrypter
  addr: Multiaddr
  failures: HandshakeFailure[]
  /** Resolves with the next encrypter failure in this direction recorded at index >= `since` */
  nextFailure(direction: 'inbound' | 'outbound', options?: { since?: number, timeout?: number }): Promise<HandshakeFailure>
}

export interface OpsNodeOptions {
  encrypter: 'ech' | 'stock'
  /**
   * ECH init. `policy.env` defaults to `{}` so that nothing in the test
   * runner's own environment (`ECH_ENABLED`, `ECH_ROLLOUT_PERCENTAGE`)
   * leaks into a test
   */
  ech?: EchNoiseInit
  /** A fixed identity (for restarting a node as "the same peer") */
  privateKey?: PrivateKey
  /** Default `/ip4/127.0.0.1/tcp/0` */
  listen?: string
  metrics?(components: any): Metrics
  /** Run identify on every connection (default true; the load tests turn it off) */
  identify?: boolean
}

export async function createOpsNode (options: OpsNodeOptions): Promise<OpsNode> {
  let ech: EchNoise | undefined
  let created: ConnectionEncrypter | undefined
  const failures: HandshakeFailure[] = []
  const failureEvents = new EventTarget()
  const init: EchNoiseInit = { ...options.ech, policy: { env: {}, ...options.ech?.policy } }
  const encrypter = options.encrypter === 'ech'
    ? (components: any) => {
        ech = echNoise(init)(components)
        recordFailures(ech, failures, failureEvents)
        created = ech
        return ech
      }
    : (components: any) => {
        const stock = noise()(components)
        recordFailures(stock as any, failures, failureEvents)
        created = stock
        return stock
      }

  const services: Record<string, any> = { ping: ping() }
  if (options.identify !== false) {
    services.identify = identify()
  }
  const node = await createLibp2p({
    ...(options.privateKey != null ? { privateKey: options.privateKey } : {}),
    ...(options.metrics != null ? { metrics: options.metrics } : {}),
    addresses: { listen: [options.listen ?? '/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: services as { ping: ReturnType<typeof ping> },
    connectionManager: {
      maxConnections: 2000,
      // the load tests open hundreds of connections a second from 127.0.0.1
      inboundConnectionThreshold: 100_000,
      maxIncomingPendingConnections: 1000,
      maxParallelDials: 500,
      maxDialQueueLength: 2000
    }
  })
  await node.handle(ECHO_PROTOCOL, (stream) => { void echo(stream).catch(() => {}) }, { maxInboundStreams: 64 })

  const nextFailure = async (direction: 'inbound' | 'outbound', opts: { since?: number, timeout?: number } = {}): Promise<HandshakeFailure> => {
    const signal = AbortSignal.timeout(opts.timeout ?? 5000)
    for (;;) {
      const found = failures.slice(opts.since ?? 0).find(f => f.direction === direction)
      if (found != null) { return found }
      await pEvent(failureEvents, 'failure', { signal })
    }
  }

  if (created == null) { throw new Error('libp2p did not create the encrypter') }
  return { node, ech, encrypter: created, addr: node.getMultiaddrs()[0], failures, nextFailure }
}

export async function stopAll (...nodes: Array<OpsNode | undefined>): Promise<void> {
  await Promise.all(nodes.map(async n => n?.node.stop()))
}

/** Give `dialer` the listener's current configs (wire-form ECHConfigList), as an application would */
export async function shareConfig (dialer: OpsNode, listener: OpsNode): Promise<Uint8Array> {
  const configList = listener.ech!.getEchConfigList()
  await dialer.node.peerStore.merge(listener.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: configList } })
  return configList
}

/** Every event of this kind from an ECH encrypter, from now on */
export function collect<K extends keyof EchNoiseEvents> (ech: EchNoise, type: K): Array<EchNoiseEvents[K]['detail']> {
  const events: Array<EchNoiseEvents[K]['detail']> = []
  ech.addEventListener(type, (evt: any) => { events.push(evt.detail) })
  return events
}

/** Every event of this kind from several encrypters, into one array, from now on */
export function collectAll<K extends keyof EchNoiseEvents> (echs: EchNoise[], type: K): Array<EchNoiseEvents[K]['detail']> {
  const events: Array<EchNoiseEvents[K]['detail']> = []
  for (const ech of echs) {
    ech.addEventListener(type, (evt: any) => { events.push(evt.detail) })
  }
  return events
}

/** The next event of this kind matching `filter` (rejects after `timeout` ms) */
export async function nextEvent<K extends keyof EchNoiseEvents> (ech: EchNoise, type: K, filter: (detail: EchNoiseEvents[K]['detail']) => boolean = () => true, timeout = 5000): Promise<EchNoiseEvents[K]['detail']> {
  const evt = await pEvent(ech as unknown as EventTarget, type, {
    signal: AbortSignal.timeout(timeout),
    filter: (e: any) => filter(e.detail)
  }) as CustomEvent<EchNoiseEvents[K]['detail']>
  return evt.detail
}

/** The next `ech:threat` of one kind */
export async function nextThreat (ech: EchNoise, kind: EchThreat['kind'], timeout = 5000): Promise<EchThreat> {
  return nextEvent(ech, 'ech:threat', t => t.kind === kind, timeout)
}

/** Resolves once `count` events of this type have been dispatched from now on */
export async function eventCount (ech: EchNoise, type: keyof EchNoiseEvents, count: number, timeout = 10_000): Promise<void> {
  if (count <= 0) { return }
  let seen = 0
  await pEvent(ech as unknown as EventTarget, type, { signal: AbortSignal.timeout(timeout), filter: () => ++seen >= count })
}

export function randomBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  crypto.getRandomValues(out)
  return out
}

// ---------------------------------------------------------------------------
// Raw Noise clients
// ---------------------------------------------------------------------------

const encoder = new TextEncoder()

/** A varint-length-prefixed multistream-select line (all our lines are < 128 bytes) */
export function mssLine (line: string): Uint8Array {
  const bytes = encoder.encode(`${line}\n`)
  return Uint8Array.from([bytes.byteLength, ...bytes])
}

/** A Noise frame: big-endian uint16 length, then the body */
export function noiseFrame (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.byteLength)
  out[0] = body.byteLength >> 8
  out[1] = body.byteLength & 0xff
  out.set(body, 2)
  return out
}

/** A fresh X25519 public key, as an honest initiator's `e` */
export function freshEphemeral (): Uint8Array {
  return Uint8Array.from(nodeProvider.x25519Generate().publicKey)
}

/** A stock Noise message 1: `e` and an empty payload */
export function stockMessage1 (): Uint8Array {
  return freshEphemeral()
}

export interface OuterHelloFields {
  configId: number
  /** default HKDF-SHA256 */
  kdfId?: number
  /** default ChaCha20Poly1305 */
  aeadId?: number
  /** default 32 random bytes (an X25519 `enc`) */
  enc?: Uint8Array
  /** default 80 random bytes (a sealed inner hello's length) */
  payload?: Uint8Array
}

/** A well-formed outer hello (it parses) that cannot decrypt: `e` + protobuf{1025: EchOuterHello} */
export function probeMessage1 (fields: OuterHelloFields): Uint8Array {
  const hello = encodeOuterHello({
    version: 1,
    kdfId: fields.kdfId ?? 0x0001,
    aeadId: fields.aeadId ?? 0x0003,
    configId: fields.configId,
    enc: fields.enc ?? randomBytes(32),
    payload: fields.payload ?? randomBytes(80)
  })
  return concat(freshEphemeral(), encodeOuterHelloPayload(hello))
}

/** `e` + protobuf{1025: `helloBytes`}: field 1025 present with whatever bytes the caller chose */
export function rawOuterHelloMessage1 (helloBytes: Uint8Array): Uint8Array {
  return concat(freshEphemeral(), encodeOuterHelloPayload(helloBytes))
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/** A raw TCP client that negotiated `/noise` and now speaks Noise frames by hand */
export interface RawNoiseClient {
  socket: Socket
  /** Write one Noise frame */
  send(message: Uint8Array): void
  /** The next Noise frame, or undefined once the listener closed or reset the connection */
  readFrame(timeout?: number): Promise<Uint8Array | undefined>
  /** Resolves when the socket is fully closed */
  closed: Promise<void>
  close(): void
}

/**
 * Connect to `port`, negotiate multistream-select `/noise` (waiting for the
 * listener to confirm it, so message 1 is never read as part of the
 * negotiation), and hand back a frame-level client.
 */
export async function rawNoiseClient (port: number): Promise<RawNoiseClient> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  let buffer = Buffer.alloc(0)
  let ended = false
  const changed = new EventTarget()
  const closed = new Promise<void>(resolve => { socket.once('close', () => { resolve() }) })
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk])
    changed.dispatchEvent(new Event('change'))
  })
  socket.on('close', () => {
    ended = true
    changed.dispatchEvent(new Event('change'))
  })

  async function until<T> (take: () => T | undefined, timeout: number): Promise<T | undefined> {
    const signal = AbortSignal.timeout(timeout)
    for (;;) {
      const value = take()
      if (value != null) { return value }
      if (ended) { return undefined }
      await pEvent(changed, 'change', { signal })
    }
  }

  await pEvent(socket, 'connect', { rejectionEvents: ['error'], timeout: 5000 })
  socket.write(concat(mssLine('/multistream/1.0.0'), mssLine('/noise')))
  // the listener answers with the same two lines
  const expected = Buffer.from(concat(mssLine('/multistream/1.0.0'), mssLine('/noise')))
  const negotiated = await until(() => {
    if (buffer.byteLength < expected.byteLength) { return undefined }
    const head = buffer.subarray(0, expected.byteLength)
    buffer = buffer.subarray(expected.byteLength)
    return head
  }, 5000)
  if (negotiated == null || !negotiated.equals(expected)) {
    socket.destroy()
    throw new Error(`multistream-select for /noise failed: ${negotiated?.toString('hex') ?? 'closed'}`)
  }

  return {
    socket,
    closed,
    send: (message) => { socket.write(noiseFrame(message)) },
    readFrame: async (timeout = 5000) => until(() => {
      if (buffer.byteLength < 2) { return undefined }
      const length = buffer.readUInt16BE(0)
      if (buffer.byteLength < 2 + length) { return undefined }
      const body = Uint8Array.from(buffer.subarray(2, 2 + length))
      buffer = buffer.subarray(2 + length)
      return body
    }, timeout),
    close: () => { socket.destroy() }
  }
}

/**
 * One scripted attempt: negotiate `/noise`, send `message1`, wait for the
 * listener's answer (message 2, or the connection closing), hang up.
 * Returns message 2 when the listener sent one.
 */
export async function rawAttempt (port: number, message1: Uint8Array): Promise<Uint8Array | undefined> {
  const client = await rawNoiseClient(port)
  try {
    client.send(message1)
    return await client.readFrame()
  } finally {
    client.close()
    await client.closed
  }
}

// ---------------------------------------------------------------------------
// A proxy that breaks ECH handshakes only
// ---------------------------------------------------------------------------

export interface EchBreakerProxyConnection {
  /** Whether the dialer's message 1 carried field 1025 (an outer hello) */
  offeredEch?: boolean
  /** Whether message 2 was tampered with */
  tampered: boolean
}

export interface EchBreakerProxy {
  port: number
  addr(peer: PeerId): Multiaddr
  connections: EchBreakerProxyConnection[]
  /** Flip a bit in message 2 when message 1 carried an outer hello (default true) */
  tamper: boolean
  close(): Promise<void>
}

/** Multistream lines until `/noise`, then exactly one Noise frame is parsed; the rest is forwarded untouched */
class OneFramePipe {
  private buffer: Uint8Array = new Uint8Array(0)
  private phase: 'multistream' | 'frame' | 'raw' = 'multistream'

  constructor (private readonly out: Socket, private readonly onFrame: (body: Uint8Array) => Uint8Array) {}

  onData (chunk: Uint8Array): void {
    if (this.phase === 'raw') {
      this.out.write(chunk)
      return
    }
    this.buffer = concat(this.buffer, chunk)
    for (;;) {
      if (this.phase === 'raw') {
        if (this.buffer.byteLength > 0) { this.out.write(this.buffer) }
        this.buffer = new Uint8Array(0)
        return
      }
      if (this.phase === 'multistream') {
        // every line of ours is shorter than 128 bytes: a one-byte varint
        if (this.buffer.byteLength < 1) { return }
        const length = this.buffer[0]
        if (this.buffer.byteLength < 1 + length) { return }
        const line = new TextDecoder().decode(this.buffer.subarray(1, 1 + length))
        this.out.write(Uint8Array.from(this.buffer.subarray(0, 1 + length)))
        this.buffer = this.buffer.subarray(1 + length)
        if (line === '/noise\n') { this.phase = 'frame' }
        continue
      }
      if (this.buffer.byteLength < 2) { return }
      const length = (this.buffer[0] << 8) | this.buffer[1]
      if (this.buffer.byteLength < 2 + length) { return }
      const body = Uint8Array.from(this.buffer.subarray(2, 2 + length))
      this.buffer = this.buffer.subarray(2 + length)
      this.out.write(noiseFrame(this.onFrame(body)))
      this.phase = 'raw'
    }
  }
}

/** Whether a Noise message 1 carries a top-level field 1025 */
export function hasOuterHello (message1: Uint8Array): boolean {
  try {
    return topLevelFields(message1.subarray(32)).includes(OUTER_HELLO_FIELD)
  } catch {
    return false
  }
}

/**
 * A TCP proxy in front of `target` that, while `tamper` is on, flips one bit
 * in the middle of message 2 of every handshake whose message 1 offered ECH.
 * Stock handshakes pass untouched, so a dialer that falls back gets through.
 */
export async function createEchBreakerProxy (target: number): Promise<EchBreakerProxy> {
  const sockets = new Set<Socket>()
  const connections: EchBreakerProxyConnection[] = []
  const proxy: EchBreakerProxy = {
    port: 0,
    addr: (peer) => multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${peer.toString()}`),
    connections,
    tamper: true,
    close: async () => {
      for (const socket of sockets) { socket.destroy() }
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: target })
    sockets.add(client)
    sockets.add(upstream)
    const conn: EchBreakerProxyConnection = { tampered: false }
    connections.push(conn)
    const toListener = new OneFramePipe(upstream, (message1) => {
      conn.offeredEch = hasOuterHello(message1)
      return message1
    })
    const toDialer = new OneFramePipe(client, (message2) => {
      if (conn.offeredEch !== true || !proxy.tamper) { return message2 }
      conn.tampered = true
      const copy = Uint8Array.from(message2)
      copy[Math.floor(copy.byteLength / 2)] ^= 1
      return copy
    })
    client.on('data', (chunk) => { toListener.onData(chunk) })
    upstream.on('data', (chunk) => { toDialer.onData(chunk) })
    client.on('end', () => { upstream.end() })
    upstream.on('end', () => { client.end() })
    client.on('error', () => {})
    upstream.on('error', () => {})
    client.on('close', () => { sockets.delete(client); upstream.destroy() })
    upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await pEvent(server, 'listening')
  const address = server.address()
  if (address == null || typeof address === 'string') { throw new Error('proxy has no TCP address') }
  proxy.port = address.port
  return proxy
}

/** The original error behind a libp2p error: follows `cause` (and `errors` of AggregateErrors) until `name` matches */
export function findError (err: any, name: string, depth = 0): any {
  if (err == null || depth > 10) { return undefined }
  if (err.name === name) { return err }
  const inner = [err.cause, ...(Array.isArray(err.errors) ? err.errors : [])]
  for (const e of inner) {
    const found = findError(e, name, depth + 1)
    if (found != null) { return found }
  }
  return undefined
}
