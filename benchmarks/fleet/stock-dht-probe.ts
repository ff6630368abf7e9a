/**
 * A stock js-libp2p 3 DHT node in a process of its own, without this
 * package (so `@multiformats/multiaddr` here has no `/ech` codec): dials one
 * DHT server, asks it FIND_NODE for one peer, and prints what came back as
 * one JSON line. Run by go-dht-check.ts as
 * `npx tsx benchmarks/fleet/stock-dht-probe.ts --dial <multiaddr> --find <peer id>`.
 */
/* eslint-disable no-console */
import '../../src/polyfill.js'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const { values } = parseArgs({ options: { dial: { type: 'string' }, find: { type: 'string' } } })
if (values.dial == null || values.find == null) {
  throw new Error('usage: stock-dht-probe --dial <multiaddr> --find <peer id>')
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping(), dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper }) }
})
const target = peerIdFromString(values.find)
const errors: string[] = []
const result: Record<string, unknown> = { event: 'probe', registryKnowsEch: knowsEch(), errors }
try {
  await node.dial(multiaddr(values.dial))
  const deadline = Date.now() + 10_000
  while ((node.services.dht as any).routingTable.size < 1 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  let answers = 0
  let addrs: string[] | undefined
  for await (const event of node.services.dht.findPeer(target, { signal: AbortSignal.timeout(10_000) })) {
    if (event.name === 'PEER_RESPONSE') { answers++ }
    if (event.name === 'QUERY_ERROR') { errors.push(`${event.error.name}: ${event.error.message}`) }
    if (event.name === 'FINAL_PEER' && event.peer.id.equals(target)) { addrs = event.peer.multiaddrs.map(String) }
  }
  Object.assign(result, { answers, found: addrs != null, addrs })
} catch (err: any) {
  Object.assign(result, { found: false, error: `${err.name}: ${err.message}` })
}
console.log(JSON.stringify(result))
await node.stop()

function knowsEch (): boolean {
  try {
    multiaddr('/ip4/127.0.0.1/tcp/1/noise/ech/uAAA')
    return true
  } catch {
    return false
  }
}
