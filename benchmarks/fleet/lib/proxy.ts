/**
 * The fault layer: one TCP proxy in front of each node's listener, the only
 * address the node announces. Every node dials from a loopback address of
 * its own (127.0.x.y), so a proxy knows which node is on the other end of
 * each connection and applies that link's faults; it connects upstream
 * from that same address, so the listener (and its monitor's per-source
 * trackers) sees the real dialer's address, as without a proxy.
 *
 * Faults, looked up per link as data flows: added latency and jitter (both
 * directions), a middlebox that flips a bit in Noise message 1 when it
 * carries an outer hello (dialer to listener only: multistream-select is
 * followed until `/noise`, then the first uint16-framed Noise message is
 * checked), a blocked link (a partition: new connections are reset), and
 * resets of a node's or a link's open connections on demand.
 */
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

export interface LinkFaults {
  /** ms added to each chunk, plus up to `jitter` ms at random (order is kept) */
  latency?: { base: number, jitter: number }
  /** Flip a bit in message 1 when it carries an outer hello */
  corruptOuterHello?: boolean
  /** Reset new connections at once (a partition) */
  blocked?: boolean
}

export interface ProxyEvent {
  kind: 'corrupted' | 'blocked' | 'reset' | 'down'
  src?: number
  dst: number
}

export interface ProxyInit {
  /** The node behind this proxy */
  dst: number
  /** The node dialling from an address, when it is one of ours */
  nodeOf(ip: string): number | undefined
  faults(src: number | undefined, dst: number): LinkFaults
  onEvent(event: ProxyEvent): void
}

/** Stock Noise XX message 1 is `e` alone: 32 bytes; anything longer carries a payload (an outer hello) */
const PLAIN_MESSAGE1 = 32
/** Most bytes held while looking for message 1 (a Noise message is at most 65 537) */
const MAX_HELD = 70_000
/** Bytes in flight through a delayed direction before its source is paused */
const MAX_QUEUED = 1024 * 1024

interface Link { src?: number, client: Socket, upstream: Socket }

export class FaultProxy {
  private readonly init: ProxyInit
  private readonly server: Server
  private readonly links = new Set<Link>()
  private upstreamPort?: number

  constructor (init: ProxyInit) {
    this.init = init
    this.server = createServer({ noDelay: true }, (socket) => { this.accept(socket) })
  }

  async listen (): Promise<number> {
    await new Promise<void>(resolve => { this.server.listen(0, '127.0.0.1', resolve) })
    const address = this.server.address()
    if (address == null || typeof address === 'string') { throw new Error('proxy has no port') }
    return address.port
  }

  /** Where the node listens now; undefined while it is down (connections are then reset) */
  setUpstream (port: number | undefined): void {
    this.upstreamPort = port
  }

  /** Reset the open connections whose dialer matches */
  reset (match: (src: number | undefined) => boolean): number {
    let n = 0
    for (const link of [...this.links]) {
      if (match(link.src)) {
        this.drop(link)
        n++
      }
    }
    return n
  }

  async close (): Promise<void> {
    this.reset(() => true)
    await new Promise<void>(resolve => { this.server.close(() => { resolve() }) })
  }

  private drop (link: Link): void {
    this.links.delete(link)
    link.client.resetAndDestroy()
    link.upstream.resetAndDestroy()
  }

  private accept (client: Socket): void {
    const ip = client.remoteAddress?.replace(/^::ffff:/, '') ?? ''
    const src = this.init.nodeOf(ip)
    const dst = this.init.dst
    client.on('error', () => {})
    if (this.init.faults(src, dst).blocked === true) {
      this.init.onEvent({ kind: 'blocked', src, dst })
      client.resetAndDestroy()
      return
    }
    if (this.upstreamPort == null) {
      this.init.onEvent({ kind: 'down', src, dst })
      client.resetAndDestroy()
      return
    }
    const upstream = connect({ host: '127.0.0.1', port: this.upstreamPort, localAddress: ip, noDelay: true })
    const link: Link = { src, client, upstream }
    this.links.add(link)
    upstream.on('error', () => { this.drop(link) })
    client.on('error', () => { this.drop(link) })
    client.on('close', () => { this.links.delete(link); upstream.destroy() })
    upstream.on('close', () => { this.links.delete(link); client.destroy() })
    const corrupt = new Message1Corrupter(() => this.init.faults(src, dst).corruptOuterHello === true, () => { this.init.onEvent({ kind: 'corrupted', src, dst }) })
    this.forward(client, upstream, () => this.init.faults(src, dst), corrupt)
    this.forward(upstream, client, () => this.init.faults(src, dst))
  }

  /** Copy `from` to `to`, through the corrupter and the link's latency */
  private forward (from: Socket, to: Socket, faults: () => LinkFaults, corrupt?: Message1Corrupter): void {
    let due = 0
    let queued = 0
    from.on('data', (chunk: Buffer) => {
      const data = corrupt?.process(chunk) ?? chunk
      if (data.byteLength === 0) { return }
      const latency = faults().latency
      if (latency == null && queued === 0) {
        if (!to.write(data)) {
          from.pause()
          to.once('drain', () => from.resume())
        }
        return
      }
      const now = Date.now()
      due = Math.max(due, now + (latency?.base ?? 0) + Math.random() * (latency?.jitter ?? 0))
      queued += data.byteLength
      if (queued > MAX_QUEUED) { from.pause() }
      setTimeout(() => {
        queued -= data.byteLength
        if (!to.destroyed) { to.write(data) }
        if (queued <= MAX_QUEUED && from.isPaused()) { from.resume() }
      }, due - now)
    })
    from.on('end', () => {
      // a half-close travels after the data queued before it
      setTimeout(() => { if (!to.destroyed) { to.end() } }, Math.max(0, due - Date.now()))
    })
  }
}

/**
 * Follows the dialer's side of a connection: multistream-select messages
 * (varint length, text ending in `\n`) until `/noise\n`, then Noise frames
 * (uint16 big-endian length). Message 1 is held until complete; when it is
 * longer than a bare `e` and the link's middlebox is on, one bit of its last
 * byte (inside the outer hello's sealed payload) is flipped.
 */
class Message1Corrupter {
  private state: 'multistream' | 'noise' | 'done' = 'multistream'
  private buffer = Buffer.alloc(0)

  constructor (private readonly enabled: () => boolean, private readonly fired: () => void) {}

  process (chunk: Buffer): Buffer {
    if (this.state === 'done') { return chunk }
    this.buffer = Buffer.concat([this.buffer, chunk])
    if (this.buffer.byteLength > MAX_HELD) {
      // not a Noise dial as expected: stop following it
      this.state = 'done'
      return this.buffer
    }
    const out: Buffer[] = []
    while (this.state === 'multistream') {
      const message = readVarintMessage(this.buffer)
      if (message == null) { return Buffer.concat(out) }
      out.push(this.buffer.subarray(0, message.end))
      this.buffer = this.buffer.subarray(message.end)
      if (message.text === '/noise\n') { this.state = 'noise' }
    }
    if (this.buffer.byteLength < 2) { return Buffer.concat(out) }
    const length = this.buffer.readUInt16BE(0)
    if (this.buffer.byteLength < 2 + length) { return Buffer.concat(out) }
    const frame = Buffer.from(this.buffer.subarray(0, 2 + length))
    if (length > PLAIN_MESSAGE1 && this.enabled()) {
      frame[frame.byteLength - 1] ^= 0x01
      this.fired()
    }
    out.push(frame, this.buffer.subarray(2 + length))
    this.buffer = Buffer.alloc(0)
    this.state = 'done'
    return Buffer.concat(out)
  }
}

function readVarintMessage (buffer: Buffer): { end: number, text: string } | undefined {
  let length = 0
  let shift = 0
  for (let i = 0; i < Math.min(buffer.byteLength, 4); i++) {
    length |= (buffer[i] & 0x7f) << shift
    shift += 7
    if ((buffer[i] & 0x80) === 0) {
      const end = i + 1 + length
      return buffer.byteLength < end ? undefined : { end, text: buffer.subarray(i + 1, end).toString('latin1') }
    }
  }
  return undefined
}
