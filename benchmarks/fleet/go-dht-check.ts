/**
 * What a DHT made of other implementations does with the two ways an ECH
 * config could travel in it (docs/PROTOCOL.md "Configs in the DHT"):
 *
 * go-libp2p (interop/go, `--dht-server`: go-libp2p-kad-dht in server mode
 * with its default validators, as on the public IPFS DHT): a signed config
 * record put under `/noise-ech/<peer id>` (and, as a control, a `/pk/`
 * record over the same connection); a node announcing `/noise/ech/…`
 * addresses (identify, signed peer record): what go keeps, and what its
 * FIND_NODE answers carry.
 *
 * Stock js-libp2p 3 (a process without this package, no `/ech` codec):
 * FIND_NODE through a js DHT server that knows the announcing node, with
 * kad-dht's passthrough mapper and with `removeEchAddressesMapper`.
 *
 * Run: `npx tsx benchmarks/fleet/go-dht-check.ts [--out results.json]`. Builds the go peer with interop/build.mjs when missing or stale (its
 * cache: NOISE_ECH_INTEROP_CACHE, default ~/.cache/libp2p-noise-ech-interop).
 */
/* eslint-disable no-console */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { concat } from '../../src/crypto/bytes.js'
import { CODE_ECH, echAnnounceFilter, echDhtKey, echDhtSelectors, echDhtValidators, echNoise, removeEchAddressesMapper } from '../../src/index.js'
import { spawnLines } from './lib/lines.js'
import type { EchNoise } from '../../src/index.js'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'

const HERE = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({ options: { out: { type: 'string' } } })

interface CheckNode { node: Libp2p<{ dht: KadDHT }>, ech: EchNoise }

async function createNode (options: { announceEch?: boolean, mapper?(info: PeerInfo): PeerInfo } = {}): Promise<CheckNode> {
  let ech: EchNoise | undefined
  const node = await createLibp2p({
    addresses: {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      ...(options.announceEch === true ? { announceFilter: echAnnounceFilter(() => ech?.getEchConfigList()) } : {})
    },
    transports: [tcp()],
    connectionEncrypters: [(components: any) => (ech = echNoise({ policy: { env: {} } })(components))],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ clientMode: false, validators: echDhtValidators, selectors: echDhtSelectors, peerInfoMapper: options.mapper ?? removeEchAddressesMapper(passthroughMapper) })
    }
  })
  return { node, ech: ech! }
}

async function waitRoutingTable (n: CheckNode, size: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while ((n.node.services.dht as any).routingTable.size < size) {
    if (Date.now() > deadline) { throw new Error('routing table did not fill') }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Put `value` under `key` and say what `server` answered */
async function putTo (from: CheckNode, server: PeerId, key: Uint8Array, value: Uint8Array): Promise<{ accepted: boolean, error?: string }> {
  let accepted = false
  let error: string | undefined
  for await (const event of from.node.services.dht.put(key, value, { signal: AbortSignal.timeout(15_000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.from.equals(server)) { accepted = true }
    if (event.name === 'QUERY_ERROR' && event.from.equals(server)) { error = `${event.error.name}: ${event.error.message}` }
  }
  return { accepted: accepted && error == null, error }
}

/** What `server` answers to FIND_NODE for `target`, asked by `from` */
async function findVia (from: CheckNode, target: PeerId): Promise<{ addrs?: string[], errors: string[] }> {
  const errors: string[] = []
  let addrs: string[] | undefined
  for await (const event of from.node.services.dht.findPeer(target, { signal: AbortSignal.timeout(15_000) })) {
    if (event.name === 'PEER_RESPONSE') {
      const found = event.closer.find(p => p.id.equals(target))
      if (found != null) { addrs = found.multiaddrs.map(String) }
    }
    if (event.name === 'FINAL_PEER' && event.peer.id.equals(target)) { addrs ??= event.peer.multiaddrs.map(String) }
    if (event.name === 'QUERY_ERROR') { errors.push(`${event.error.name}: ${event.error.message}`) }
  }
  return { addrs, errors }
}

async function goChecks (results: Record<string, unknown>): Promise<void> {
  // a path in a variable: tsc does not type-check the build script
  const buildScript = join(HERE, '..', '..', 'interop', 'build.mjs')
  const { buildPeers, peerCommand } = await import(buildScript)
  buildPeers(['go'])
  const { cmd, args, cwd } = peerCommand('go')
  // go-libp2p-kad-dht logs why it refuses a put at debug level
  const goLog: string[] = []
  const go = spawnLines(cmd, [...args, '--dht-server', '--listen', '/ip4/127.0.0.1/tcp/0'], {
    cwd,
    env: { ...process.env, GOLOG_LOG_LEVEL: 'dht=debug', GOLOG_LOG_FMT: 'json' },
    stderr: (text) => { goLog.push(...text.split('\n').filter(l => /record|keytype|validat/i.test(l))) }
  })
  try {
    const listening = await go.waitFor(l => l.event === 'listening', 15_000)
    await go.waitFor(l => l.event === 'dht', 5000)
    results.goVersion = listening.version
    const goAddr = multiaddr(`${listening.addrs[0]}/p2p/${listening.peerId}`)
    const a = await createNode({ announceEch: true })
    const b = await createNode()
    try {
      await a.node.dial(goAddr)
      const identified = await go.waitFor(l => l.event === 'identify' && l.remotePeer === a.node.peerId.toString(), 10_000)
      const announced = a.node.getMultiaddrs().filter(ma => ma.getComponents().some(c => c.code === CODE_ECH)).length
      results.goIdentify = {
        ok: identified.ok,
        signedPeerRecord: identified.signedPeerRecord,
        announcedEchAddrs: announced,
        listenAddrsKept: identified.listenAddrs,
        peerstoreAddrs: identified.peerstoreAddrs,
        echKept: [...identified.listenAddrs, ...identified.peerstoreAddrs].some((s: string) => s.includes('/ech') || s.includes('9849'))
      }
      await waitRoutingTable(a, 1)
      const goPeer = a.node.getConnections()[0].remotePeer
      results.goPutEchRecord = { ...await putTo(a, goPeer, echDhtKey(a.node.peerId), await a.ech.getSignedConfigRecord()), goLog: goLog.splice(0).slice(0, 5) }
      const pkKey = concat(uint8ArrayFromString('/pk/'), a.node.peerId.toMultihash().bytes)
      results.goPutPkControl = await putTo(a, goPeer, pkKey, publicKeyToProtobuf(a.node.peerId.publicKey!))

      await b.node.dial(goAddr)
      await waitRoutingTable(b, 1)
      const found = await findVia(b, a.node.peerId)
      results.goFindNode = { ...found, echInAnswer: found.addrs?.some(s => s.includes('/ech')) ?? false }
    } finally {
      await Promise.all([a.node.stop(), b.node.stop()])
    }
  } finally {
    await go.stop()
  }
}

async function stockChecks (results: Record<string, unknown>): Promise<void> {
  const a = await createNode({ announceEch: true })
  const passthrough = await createNode({ mapper: passthroughMapper })
  const stripping = await createNode()
  try {
    await a.node.dial(passthrough.node.getMultiaddrs()[0])
    await a.node.dial(stripping.node.getMultiaddrs()[0])
    await Promise.all([waitRoutingTable(passthrough, 1), waitRoutingTable(stripping, 1)])
    for (const [name, server] of [['stockViaPassthroughServer', passthrough], ['stockViaStrippingServer', stripping]] as const) {
      const probe = spawnLines(process.execPath, ['--import', 'tsx', join(HERE, 'stock-dht-probe.ts'), '--dial', server.node.getMultiaddrs()[0].toString(), '--find', a.node.peerId.toString()], { stderr: (text) => { process.stderr.write(text) } })
      results[name] = await probe.waitFor(l => l.event === 'probe', 30_000)
      await probe.stop()
    }
  } finally {
    await Promise.all([a.node.stop(), passthrough.node.stop(), stripping.node.stop()])
  }
}

const results: Record<string, unknown> = {}
await stockChecks(results)
await goChecks(results)
console.log(JSON.stringify(results, null, 2))
if (values.out != null) {
  writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n')
}
