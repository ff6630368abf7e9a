/**
 * A slowloris adversary against a libp2p listener (SECURITY.md §4.4), shared
 * by `slowloris.spec.ts` and `benchmarks/slowloris.ts`.
 *
 * The attacker keeps N raw TCP sockets up, bound to other loopback addresses
 * (127.0.0.2 and up: on Linux all of 127/8 is loopback) so that libp2p's
 * per-host limits and the encrypter's per-source limit count it apart from
 * the legitimate dialers on 127.0.0.1. Each socket negotiates `/noise` with
 * multistream-select and then sends Noise message 1 (a stock one, `e` alone:
 * 34 bytes framed) one byte a second, and reconnects when dropped. With stage
 * `negotiation` it sends the multistream-select header and then trickles a
 * 64-byte protocol line, so the connection stalls in multistream-select and
 * the encrypter is never reached.
 *
 * The listener is built with libp2p's DEFAULT connection manager unless
 * settings are given: the defaults (10 pending inbound connections, 5 new
 * ones per host per second, a 10 s upgrade timeout) are what is under test,
 * and `test/fixtures/nodes.ts` raises them for load tests. A legitimate dial
 * is a libp2p dial with a deadline, a ping over the new connection, and a
 * hang-up.
 */
import { connect } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import { ECH_PEER_STORE_KEY, echNoise } from '../../src/index.js'
import { NOISE_NEGOTIATION, freshEphemeral, mssLine, noiseFrame, tcpPort } from '../fixtures/wire.js'
import type { EchNoise } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionManagerInit } from 'libp2p'
import type { Socket } from 'node:net'

export type ListenerKind = 'stock' | 'ech' | 'ech-require'

/**
 * The connection-manager settings RUNBOOK.md §1d recommends for an exposed
 * node (the reason for each value is there)
 */
export const EXPOSED_NODE_CONNECTION_MANAGER: ConnectionManagerInit = {
  maxIncomingPendingConnections: 256,
  inboundUpgradeTimeout: 5_000,
  inboundConnectionThreshold: 5
}

export interface Listener {
  kind: ListenerKind
  node: Libp2p<{ ping: Ping }>
  /** The ECH encrypter (not for `stock`) */
  ech?: EchNoise
  addr: Multiaddr
  port: number
}

/**
 * A listener on 127.0.0.1: stock `noise()`, or `echNoise()` with its default
 * inbound limits (`message1Timeout`, `maxPendingPerSource`), opportunistic or
 * `require`; libp2p's default connection manager unless `connectionManager` is given
 */
export async function createListener (kind: ListenerKind, connectionManager?: ConnectionManagerInit): Promise<Listener> {
  let ech: EchNoise | undefined
  const mode = kind === 'ech-require' ? 'require' : 'opportunistic'
  const encrypter = kind === 'stock'
    ? noise()
    : (components: any) => (ech = echNoise({ mode, policy: { env: {} } })(components))
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    services: { ping: ping(), identify: identify() },
    ...(connectionManager == null ? {} : { connectionManager })
  })
  const addr = node.getMultiaddrs()[0]
  return { kind, node, ech, addr, port: tcpPort(addr) }
}

/** Give a dialer the listener's ECH configs, as an application would */
export async function giveConfigs (dialer: Libp2p, listener: Listener): Promise<void> {
  if (listener.ech == null) { return }
  await dialer.peerStore.merge(listener.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: listener.ech.getEchConfigList() } })
}

export type AttackStage = 'message1' | 'negotiation'

const MSS_HEADER = mssLine('/multistream/1.0.0')
/** 65 bytes: more than a minute at a byte a second, past any upgrade timeout; were it ever complete, the listener would answer `na` */
const STALLED_LINE = mssLine(`/${'x'.repeat(62)}`)

export interface SlowlorisInit {
  port: number
  /** Sockets kept up at once */
  sockets: number
  /** Local addresses the sockets are bound to, in turn (default `127.0.0.2`) */
  sources?: string[]
  /** What is trickled: Noise message 1 after negotiating `/noise` (default), or a protocol line after the multistream-select header */
  stage?: AttackStage
  /** Between trickled bytes (default 1000 ms) */
  byteIntervalMs?: number
  /** Before a dropped socket comes back, ±50% (default 1000 ms); `false`: it does not */
  reconnectDelayMs?: number | false
}

/** One attacker connection */
export interface AttackSocket {
  source: string
  /** `performance.now()` when the TCP connection was up */
  openedAt: number
  /**
   * When the listener answered, so had accepted the connection: its `/noise`
   * confirmation (stage `message1`) or its multistream-select header (stage `negotiation`)
   */
  acceptedAt?: number
  closedAt?: number
  /** Who closed it: the listener (an end or a reset), or the attacker (`close()`) */
  closedBy?: 'listener' | 'attacker'
  /** Bytes of the trickled message sent */
  trickled: number
  /** The whole trickled message went out (the listener waited for all of it) */
  finished: boolean
}

/** The most accepted attacker connections open at once, as the attacker saw them (from the listener's answer to the close) */
export function peakConcurrent (sockets: AttackSocket[]): number {
  const edges = sockets.filter(s => s.acceptedAt != null).flatMap(s => [[s.acceptedAt ?? 0, 1], [s.closedAt ?? Infinity, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let peak = 0
  for (const [, step] of edges) {
    open += step
    peak = Math.max(peak, open)
  }
  return peak
}

export class Slowloris {
  /** Every connection the attacker made, in the order they came up */
  readonly sockets: AttackSocket[] = []
  /** TCP connections attempted (refused ones included) */
  attempts = 0
  private readonly init: Required<SlowlorisInit>
  /** Each live socket, with how to close it as the attacker */
  private readonly live = new Map<Socket, () => void>()
  private readonly reconnects = new Set<ReturnType<typeof setTimeout>>()
  private readonly changed = new EventTarget()
  private firing = false

  constructor (init: SlowlorisInit) {
    this.init = { sources: ['127.0.0.2'], stage: 'message1', byteIntervalMs: 1000, reconnectDelayMs: 1000, ...init }
  }

  start (): void {
    this.firing = this.init.reconnectDelayMs !== false
    for (let slot = 0; slot < this.init.sockets; slot++) { this.open(slot) }
  }

  /** Stop reconnecting; the sockets still open keep trickling until the listener drops them */
  ceaseFire (): void {
    this.firing = false
    for (const timer of this.reconnects) { clearTimeout(timer) }
    this.reconnects.clear()
  }

  /** Resolves once no attacker socket is open (call `ceaseFire()` first); rejects after `timeoutMs` */
  async drained (timeoutMs: number): Promise<void> {
    if (this.live.size === 0) { return }
    await pEvent(this.changed, 'change', { filter: () => this.live.size === 0, signal: AbortSignal.timeout(timeoutMs) })
  }

  /** Cease fire and close every socket still open (those count as closed by the attacker) */
  async close (): Promise<void> {
    this.ceaseFire()
    for (const destroy of [...this.live.values()]) { destroy() }
    await this.drained(5000)
  }

  private open (slot: number): void {
    const source = this.init.sources[slot % this.init.sources.length]
    const socket = connect({ host: '127.0.0.1', port: this.init.port, localAddress: source })
    const record: AttackSocket = { source, openedAt: NaN, trickled: 0, finished: false }
    let byAttacker = false
    let trickling: ReturnType<typeof setInterval> | undefined
    this.attempts++
    this.live.set(socket, () => {
      byAttacker = true
      socket.destroy()
    })
    socket.on('error', () => {})
    // the opening is sent at once and answered by the listener in kind; then the rest is trickled
    const [opening, rest] = this.init.stage === 'negotiation'
      ? [MSS_HEADER, STALLED_LINE]
      : [NOISE_NEGOTIATION, noiseFrame(freshEphemeral())]
    socket.once('connect', () => {
      record.openedAt = performance.now()
      this.sockets.push(record)
      socket.write(opening)
      void this.answered(socket, opening).then((ok) => {
        if (!ok || socket.destroyed) { return }
        record.acceptedAt = performance.now()
        trickling = this.trickle(socket, record, rest)
      })
    })
    socket.once('close', () => {
      clearInterval(trickling)
      if (!Number.isNaN(record.openedAt)) {
        record.closedAt = performance.now()
        record.closedBy = byAttacker ? 'attacker' : 'listener'
      }
      this.live.delete(socket)
      this.changed.dispatchEvent(new Event('change'))
      this.reconnect(slot)
    })
  }

  /** Whether the listener answers with the same bytes before closing (multistream-select echoes what it agrees to) */
  private async answered (socket: Socket, opening: Uint8Array): Promise<boolean> {
    const expected = Buffer.from(opening)
    let received = Buffer.alloc(0)
    return new Promise(resolve => {
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk])
        if (received.byteLength >= expected.byteLength) {
          socket.off('data', onData)
          resolve(received.subarray(0, expected.byteLength).equals(expected))
        }
      }
      socket.on('data', onData)
      socket.once('close', () => { resolve(false) })
    })
  }

  /** Send `bytes` one at a time, one per `byteIntervalMs` */
  private trickle (socket: Socket, record: AttackSocket, bytes: Uint8Array): ReturnType<typeof setInterval> {
    const next = (): void => {
      if (record.trickled >= bytes.byteLength || socket.destroyed) { return }
      socket.write(bytes.subarray(record.trickled, record.trickled + 1))
      record.trickled++
      record.finished = record.trickled === bytes.byteLength
    }
    next()
    return setInterval(next, this.init.byteIntervalMs)
  }

  private reconnect (slot: number): void {
    if (!this.firing || this.init.reconnectDelayMs === false) { return }
    const delay = this.init.reconnectDelayMs * (0.5 + Math.random())
    const timer = setTimeout(() => {
      this.reconnects.delete(timer)
      if (this.firing) { this.open(slot) }
    }, delay)
    this.reconnects.add(timer)
  }
}

export interface DialOutcome {
  ok: boolean
  /** libp2p dials made (more than one only with `retryEveryMs`) */
  tries: number
  /** From the first try until the connection was open */
  connectMs?: number
  /** The name of the last failure */
  error?: string
}

export interface DialOptions {
  /** The whole dial, retries and ping included */
  timeoutMs: number
  /** Try again this long after a refused dial, until the deadline (default: one try) */
  retryEveryMs?: number
}

/** A legitimate dial: connect within the deadline, ping over the connection, hang up */
export async function legitDial (dialer: Libp2p<{ ping: Ping }>, target: Multiaddr, options: DialOptions): Promise<DialOutcome> {
  const start = performance.now()
  const deadline = start + options.timeoutMs
  const { retryEveryMs } = options
  let tries = 0
  let error: string | undefined
  for (;;) {
    tries++
    // a signal per try: libp2p leaves listeners on the signal of a failed dial
    const signal = AbortSignal.timeout(Math.max(0, Math.round(deadline - performance.now())))
    try {
      const connection = await dialer.dial(target, { signal })
      const connectMs = performance.now() - start
      await dialer.services.ping.ping(connection.remotePeer, { signal })
      return { ok: true, tries, connectMs }
    } catch (err: any) {
      // a refused TCP connection fails with a bare Error and a code (ECONNRESET); an abort's DOMException has a numeric one
      error = typeof err?.code === 'string' ? err.code : err?.name ?? String(err)
    } finally {
      // the next dial must make a new connection, not reuse this one
      await dialer.hangUp(target).catch(() => {})
    }
    const left = deadline - performance.now()
    if (retryEveryMs == null || left <= 0) {
      return { ok: false, tries, error }
    }
    await new Promise(resolve => setTimeout(resolve, Math.min(retryEveryMs, left)))
  }
}
