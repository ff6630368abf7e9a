/**
 * A fleet worker process running libp2p 2 nodes: `@chainsafe/libp2p-noise`
 * 16, `@chainsafe/libp2p-yamux` 7, `@libp2p/tcp` 10, ping 2, identify 3 and
 * kad-dht 15, the previous stack generation, untouched. Driven by the
 * coordinator over Node IPC (`lib/ipc.ts`); the same commands as
 * `worker-v3.ts`, minus the ECH ones. Nothing here imports this package or
 * the libp2p 3 tree: objects never cross the two (strings do).
 */
import '../../src/polyfill.js'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { noise } from 'chainsafe-noise-v16'
import { yamux } from 'chainsafe-yamux-v7'
import { identify } from 'libp2p-identify-v3'
import { kadDHT, passthroughMapper } from 'libp2p-kad-dht-v15'
import { ping } from 'libp2p-ping-v2'
import { tcp } from 'libp2p-tcp-v10'
import { createLibp2p } from 'libp2p-v2'
import { takeLoopLag } from './lib/loop-lag.js'
import { runLoops } from './lib/node-loop.js'
import { observeStock } from './lib/observe-v3.js'
import { handleTransfersV2, sendTransferV2 } from './lib/traffic-v2.js'
import { multiaddrV2 } from './lib/v2-multiaddr.js'
import type { Command, NodeSpec, NodeStats, Report, WorkerSettings } from './lib/ipc.js'

interface RunningNode { spec: NodeSpec, node: any, stop: AbortController }

const nodes = new Map<number, RunningNode>()
let settings: WorkerSettings | undefined
let traffic = false

function send (report: Report): void {
  process.send?.(report)
}

async function createNode (spec: NodeSpec): Promise<RunningNode> {
  let encrypter: any
  const node: any = await createLibp2p({
    start: false,
    privateKey: privateKeyFromProtobuf(Buffer.from(spec.privateKey, 'base64')) as any,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [`/ip4/127.0.0.1/tcp/${spec.announcePort}`] },
    transports: [tcp({ dialOpts: { localAddress: spec.ip } as any })],
    connectionEncrypters: [(components: any) => (encrypter = noise()(components))],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper }) },
    connectionManager: { maxConnections: 300, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 500 },
    connectionMonitor: { pingInterval: settings?.pingIntervalMs }
  } as any)
  let port = 0
  node.addEventListener('transport:listening', (evt: any) => {
    port = Number(evt.detail.getAddrs()[0]?.toOptions().port ?? 0)
  })
  observeStock(spec.index, encrypter, send)
  await node.start()
  const running: RunningNode = { spec, node, stop: new AbortController() }
  await handleTransfersV2(node, (seen, remote) => {
    send({ ev: 'transfer', index: spec.index, t: Date.now(), side: 'receiver', remote, ...seen, ms: 0 })
  })
  for (const entry of spec.bootstrap) {
    node.dial(await multiaddrV2(entry.addr)).catch(() => {})
  }
  runLoops<any>({
    walk: async function * (key, signal) {
      for await (const event of node.services.dht.getClosestPeers(key, { signal })) {
        if (event.name === 'FINAL_PEER') { yield event.peer.id }
      }
    },
    send: async (peer, length, signal) => sendTransferV2(node, peer, length, signal),
    closeIdle: async (peer) => {
      await Promise.all(node.getConnections(peer).filter((c: any) => c.streams.length === 0).map(async (c: any) => c.close()))
    },
    idOf: (peer) => peer.toString(),
    report: (seen, remote, started) => {
      send({ ev: 'transfer', index: spec.index, t: started, side: 'sender', remote, ...seen, ms: Date.now() - started })
    }
  }, settings!, () => traffic, running.stop.signal)
  send({ ev: 'started', index: spec.index, peerId: node.peerId.toString(), port, t: Date.now() })
  return running
}

async function stopNode (index: number): Promise<void> {
  const running = nodes.get(index)
  if (running == null) { return }
  nodes.delete(index)
  running.stop.abort()
  await running.node.stop()
  send({ ev: 'stopped', index, t: Date.now() })
}

let lastCpu = process.cpuUsage()
let statsRound = 0
async function reportStats (): Promise<void> {
  const cpu = process.cpuUsage(lastCpu)
  lastCpu = process.cpuUsage()
  const mem = process.memoryUsage()
  const withPeers = statsRound++ % 5 === 0
  const list: NodeStats[] = await Promise.all([...nodes.values()].map(async n => ({
    index: n.spec.index,
    connections: n.node.getConnections().length,
    peers: withPeers ? (await n.node.peerStore.all()).length : -1
  })))
  send({ ev: 'stats', t: Date.now(), heapUsed: mem.heapUsed, rss: mem.rss, cpuMs: (cpu.user + cpu.system) / 1000, nodes: list, ...takeLoopLag() })
}

/** What each command does on a libp2p 2 node (the ECH ones do not apply) */
const handlers: Partial<{ [C in Command['cmd']]: (command: Extract<Command, { cmd: C }>) => Promise<void> | void }> = {
  settings: (command) => {
    settings = command.settings
    setInterval(() => { void reportStats() }, settings.statsIntervalMs).unref()
  },
  start: async (command) => {
    try {
      nodes.set(command.spec.index, await createNode(command.spec))
    } catch (err: any) {
      send({ ev: 'start-failed', index: command.spec.index, error: `${err.name}: ${err.message}` })
    }
  },
  stop: async (command) => { await stopNode(command.index) },
  traffic: (command) => { traffic = command.on },
  shutdown: async () => {
    await reportStats()
    await Promise.all([...nodes.keys()].map(stopNode))
    process.exit(0)
  }
}

async function handle (command: Command): Promise<void> {
  await (handlers[command.cmd] as ((command: Command) => Promise<void> | void) | undefined)?.(command)
}

process.on('message', (command: Command) => { void handle(command) })
process.on('unhandledRejection', (err: any) => { process.stderr.write(`worker v2: unhandled ${err?.stack ?? err}\n`) })
send({ ev: 'ready', kind: 'v2' })
