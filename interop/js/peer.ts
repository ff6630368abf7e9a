/**
 * A stock js-libp2p 3 peer for the interop matrix: `@libp2p/noise` 17.0.3,
 * TCP, yamux, ping, identify and the echo protocol, in its own process and
 * WITHOUT importing libp2p-noise-ech (so its multiaddr registry has no `/ech`
 * codec, as any js-libp2p app that does not use this package). Same command
 * line and JSON lines as the go/rust/python peers.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Connection } from '@libp2p/interface'

// libp2p 3 calls Promise.withResolvers, which Node 20 lacks
if (typeof (Promise as any).withResolvers !== 'function') {
  (Promise as any).withResolvers = function <T>() {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
    return { promise, resolve, reject }
  }
}

const ECHO = '/noise-ech-test/echo/1.0.0'
const VERSION = 'libp2p 3 + @libp2p/noise 17.0.3 (own process, no /ech codec)'

function emit (o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n')
}

const argv = process.argv.slice(2)
const get = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
const listen = get('--listen') ?? '/ip4/127.0.0.1/tcp/0'
const dial = get('--dial')
const echoBytes = Number(get('--echo-bytes') ?? 1048576)
const timeoutMs = Number(get('--timeout-ms') ?? 20000)
const exitAfterDial = argv.includes('--exit-after-dial')

let encrypter: any
const node = await createLibp2p({
  addresses: { listen: [listen] },
  transports: [tcp()],
  connectionEncrypters: [(components: any) => {
    encrypter = noise()(components)
    const wrap = (name: 'secureInbound' | 'secureOutbound'): void => {
      const orig = encrypter[name].bind(encrypter)
      encrypter[name] = async (...args: any[]) => {
        try {
          const r = await orig(...args)
          emit({ event: 'secured', direction: name === 'secureInbound' ? 'inbound' : 'outbound', remotePeer: r.remotePeer.toString() })
          return r
        } catch (err: any) {
          emit({ event: name === 'secureInbound' ? 'inbound-error' : 'outbound-error', stage: 'noise', error: `${err.name}: ${err.message}` })
          throw err
        }
      }
    }
    wrap('secureInbound')
    wrap('secureOutbound')
    return encrypter
  }],
  streamMuxers: [yamux()],
  datastore: new MemoryDatastore(),
  services: { ping: ping(), identify: identify() },
  connectionManager: { maxConnections: 1000, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 100 }
})

await node.handle(ECHO, async (stream: any) => {
  let n = 0
  try {
    // no pause(): see interop/lib/js-node.ts echoHandler
    for await (const buf of stream) { n += buf.byteLength; stream.send(buf) }
    await stream.close()
  } catch (err: any) {
    stream.abort(err)
  }
  emit({ event: 'echo-served', bytes: n })
}, { maxInboundStreams: 64 })

node.addEventListener('connection:open', (evt) => {
  emit({ event: 'connected', direction: evt.detail.direction, remotePeer: evt.detail.remotePeer.toString(), remoteAddr: evt.detail.remoteAddr.toString() })
})
node.addEventListener('peer:identify', (evt) => {
  emit({ event: 'identify', ok: true, remotePeer: evt.detail.peerId.toString(), listenAddrs: evt.detail.listenAddrs.map(a => a.toString()), protocols: evt.detail.protocols, signedPeerRecord: evt.detail.signedPeerRecord != null })
})

emit({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString().split('/p2p/')[0]), implementation: 'js-libp2p', version: VERSION })

async function check (connection: Connection, signal: AbortSignal): Promise<{ pingMs: number, echoOk: boolean }> {
  const t = performance.now()
  await node.services.ping.ping(connection.remoteAddr, { signal })
  const pingMs = performance.now() - t
  const data = new Uint8Array(echoBytes)
  for (let i = 0; i < data.byteLength; i += 65536) { crypto.getRandomValues(data.subarray(i, Math.min(i + 65536, data.byteLength))) }
  const stream = await connection.newStream(ECHO, { signal })
  const received = new Uint8ArrayList()
  const reading = (async () => { for await (const b of stream) { received.append(b.subarray()) } })()
  for (let i = 0; i < data.byteLength; i += 16384) {
    if (!stream.send(data.subarray(i, i + 16384))) { await stream.onDrain({ signal }) }
  }
  await stream.close({ signal })
  await reading
  const back = received.subarray()
  return { pingMs, echoOk: back.byteLength === data.byteLength && back.every((b, i) => b === data[i]) }
}

let done = false
const finish = async (): Promise<void> => {
  if (done) { return }
  done = true
  emit({ event: 'exit' })
  await Promise.race([node.stop(), new Promise(resolve => setTimeout(resolve, 2000))])
  process.exit(0)
}

if (dial != null) {
  void (async () => {
    const start = performance.now()
    const res: Record<string, unknown> = { event: 'dial', ok: false, target: dial }
    try {
      const signal = AbortSignal.timeout(timeoutMs)
      const connection = await node.dial(multiaddr(dial), { signal })
      res.connectMs = performance.now() - start
      res.remotePeer = connection.remotePeer.toString()
      const r = await check(connection, signal)
      Object.assign(res, r, { ok: r.echoOk })
    } catch (err: any) {
      res.error = `${err.name}: ${err.message}`
    }
    res.ms = performance.now() - start
    emit(res)
    if (exitAfterDial) {
      await new Promise(resolve => setTimeout(resolve, 500))
      await finish()
    }
  })()
}

process.stdin.on('end', () => { if (!(exitAfterDial && dial != null)) { void finish() } })
process.stdin.resume()
process.on('SIGTERM', () => { void finish() })
