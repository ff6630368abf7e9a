/**
 * A fleet worker process running libp2p 3 nodes: `ech` (echNoise with the
 * config exchange and DHT config services) or `stock`
 * (`@chainsafe/libp2p-noise`; this package is then never imported, so the
 * process has no `/ech` multiaddr codec, as a real stock node). TCP, yamux,
 * identify, ping and kad-dht on every node. Driven by the coordinator over
 * Node IPC (`lib/ipc.ts`).
 *
 * Run by fleet.ts: `node --import tsx worker-v3.ts ech|stock`.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { takeLoopLag } from './lib/loop-lag.js'
import { runLoops } from './lib/node-loop.js'
import { observeEch, observeStock } from './lib/observe-v3.js'
import { handleTransfers, sendTransfer } from './lib/traffic-v3.js'
import type { Command, NodeKind, NodeSpec, NodeStats, Report, WorkerSettings } from './lib/ipc.js'
import type { EchApi } from './lib/observe-v3.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

const kind = process.argv[2] as NodeKind
const api: EchApi | undefined = kind === 'ech' ? await import('../../src/index.js') : undefined

interface RunningNode {
  spec: NodeSpec
  node: Libp2p<any>
  stop: AbortController
  ech?: any
  echDht?: any
}

const nodes = new Map<number, RunningNode>()
const datastores = new Map<number, MemoryDatastore>()
let settings: WorkerSettings | undefined
let traffic = false

function send (report: Report): void {
  process.send?.(report)
}

async function createNode (spec: NodeSpec, keepDatastore: boolean): Promise<RunningNode> {
  const datastore = (keepDatastore ? datastores.get(spec.index) : undefined) ?? new MemoryDatastore()
  datastores.set(spec.index, datastore)
  let encrypter: any
  const services: Record<string, any> = {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      clientMode: false,
      // kad-dht 16 asks 10 peers at once per query path; 3 (kad-dht 15's, and the paper's) keeps the
      // fleet's DHT from flooding two cores when 60 nodes form it
      alpha: 3,
      peerInfoMapper: api != null ? api.removeEchAddressesMapper(passthroughMapper) : passthroughMapper,
      ...(api != null ? { validators: api.echDhtValidators, selectors: api.echDhtSelectors } : {})
    })
  }
  if (api != null) {
    services.echConfigs = api.echConfigExchange()
    services.echDht = api.echDhtConfigs({ lookupTimeout: settings?.lookupTimeout })
  }
  const node = await createLibp2p({
    start: false,
    privateKey: privateKeyFromProtobuf(Buffer.from(spec.privateKey, 'base64')),
    datastore,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [`/ip4/127.0.0.1/tcp/${spec.announcePort}`] },
    // dial from the node's own loopback address: the fault proxies tell links apart by it
    transports: [tcp({ dialOpts: { localAddress: spec.ip } as any })],
    connectionEncrypters: [(components: any) => {
      encrypter = api != null
        ? api.echNoise({
          mode: spec.require === true ? 'require' : 'opportunistic',
          keyManager: { generate: { kem: spec.xwing === true ? 'x-wing' : 'x25519' } },
          policy: { env: {} }
        })(components)
        : noise()(components)
      return encrypter
    }],
    streamMuxers: [yamux()],
    services,
    connectionManager: { maxConnections: 300, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 500 },
    connectionMonitor: { pingInterval: settings?.pingIntervalMs }
  })
  let port = 0
  node.addEventListener('transport:listening', (evt: any) => {
    port = Number(evt.detail.getAddrs()[0]?.getComponents().find((c: any) => c.name === 'tcp')?.value ?? 0)
  })
  const running: RunningNode = { spec, node, stop: new AbortController(), ech: api != null ? encrypter : undefined, echDht: (node.services as any).echDht }
  if (api != null) {
    observeEch(spec.index, running.ech, running.echDht, send)
  } else {
    observeStock(spec.index, encrypter, send)
  }
  await node.start()
  await handleTransfers(node, (seen, remote) => {
    send({ ev: 'transfer', index: spec.index, t: Date.now(), side: 'receiver', remote: remote.toString(), ...seen, ms: 0 })
  })
  for (const entry of spec.bootstrap) {
    void bootstrap(node, entry).catch(() => {})
  }
  runLoops<PeerId>({
    walk: async function * (key, signal) {
      for await (const event of (node.services as any).dht.getClosestPeers(key, { signal })) {
        if (event.name === 'FINAL_PEER') { yield event.peer.id }
      }
    },
    send: async (peer, length, signal) => sendTransfer(node, peer, length, signal),
    closeIdle: async (peer) => {
      await Promise.all(node.getConnections(peer).filter(c => c.streams.length === 0).map(async c => c.close()))
    },
    idOf: (peer) => peer.toString(),
    report: (seen, remote, started) => {
      send({ ev: 'transfer', index: spec.index, t: started, side: 'sender', remote, ...seen, ms: Date.now() - started })
    }
  }, settings!, () => traffic, running.stop.signal)
  const configList = api != null ? Buffer.from(running.ech.getEchConfigList()).toString('base64') : undefined
  send({ ev: 'started', index: spec.index, peerId: node.peerId.toString(), port, configList, t: Date.now() })
  return running
}

/** As a bootstrap list does: the addresses go into the peer store, then the peer is dialled */
async function bootstrap (node: Libp2p, entry: NodeSpec['bootstrap'][number]): Promise<void> {
  const addr = multiaddr(entry.addr)
  const peer = peerIdFromString(addr.getComponents().findLast(c => c.code === CODE_P2P)!.value!)
  const addrs = [addr, ...(entry.echAddr != null ? [multiaddr(entry.echAddr)] : [])].map(ma => ma.decapsulateCode(CODE_P2P))
  const metadata = entry.echConfigList != null && api != null ? { [api.ECH_PEER_STORE_KEY]: Buffer.from(entry.echConfigList, 'base64') } : undefined
  await node.peerStore.merge(peer, { multiaddrs: addrs, metadata })
  await node.dial(peer)
}

async function stopNode (index: number): Promise<void> {
  const running = nodes.get(index)
  if (running == null) { return }
  nodes.delete(index)
  running.stop.abort()
  await running.node.stop()
  send({ ev: 'stopped', index, t: Date.now() })
}

async function nodeStats (running: RunningNode, withPeers: boolean): Promise<NodeStats> {
  const stats: NodeStats = {
    index: running.spec.index,
    connections: running.node.getConnections().length,
    peers: withPeers ? (await running.node.peerStore.all()).length : -1
  }
  if (running.ech != null) {
    stats.trackers = Object.values(running.ech.monitor.getTrackerSizes() as Record<string, number>).reduce((a, b) => a + b, 0)
    stats.breakers = running.ech.policy.getState().openBreakers.length
  }
  return stats
}

let lastCpu = process.cpuUsage()
let statsRound = 0
async function reportStats (): Promise<void> {
  const cpu = process.cpuUsage(lastCpu)
  lastCpu = process.cpuUsage()
  const mem = process.memoryUsage()
  const withPeers = statsRound++ % 5 === 0
  const list = await Promise.all([...nodes.values()].map(async n => nodeStats(n, withPeers).catch(() => ({ index: n.spec.index, connections: -1, peers: -1 }))))
  send({ ev: 'stats', t: Date.now(), heapUsed: mem.heapUsed, rss: mem.rss, cpuMs: (cpu.user + cpu.system) / 1000, nodes: list, ...takeLoopLag() })
}

type Handlers = { [C in Command['cmd']]: (command: Extract<Command, { cmd: C }>, running?: RunningNode) => Promise<void> | void }

/** What each command from the coordinator does */
const handlers: Handlers = {
  settings: (command) => {
    settings = command.settings
    setInterval(() => { void reportStats() }, settings.statsIntervalMs).unref()
  },
  start: async (command) => {
    try {
      nodes.set(command.spec.index, await createNode(command.spec, command.keepDatastore))
    } catch (err: any) {
      send({ ev: 'start-failed', index: command.spec.index, error: `${err.name}: ${err.message}` })
    }
  },
  stop: async (command) => { await stopNode(command.index) },
  rotate: async (command, running) => { await running?.ech?.keys.rotate({ gracePeriod: command.gracePeriod }) },
  enabled: async (command, running) => {
    running?.ech?.policy.setEnabled(command.enabled)
    // nothing is published while ECH is off: publish again at once
    if (command.enabled) { await running?.echDht?.publish().catch(() => {}) }
  },
  rollout: (command, running) => { running?.ech?.policy.setRolloutPercentage(command.percentage) },
  traffic: (command) => { traffic = command.on },
  shutdown: async () => {
    await reportStats()
    await Promise.all([...nodes.keys()].map(stopNode))
    process.exit(0)
  }
}

async function handle (command: Command): Promise<void> {
  const running = 'index' in command ? nodes.get(command.index) : undefined
  await (handlers[command.cmd] as (command: Command, running?: RunningNode) => Promise<void> | void)(command, running)
}

process.on('message', (command: Command) => { void handle(command) })
process.on('unhandledRejection', (err: any) => { process.stderr.write(`worker ${kind}: unhandled ${err?.stack ?? err}\n`) })
send({ ev: 'ready', kind })
