/**
 * A stock js-libp2p 3 node in its own process (`node --import tsx
 * test/multiaddr/stock-peer.ts <multiaddr>`): TCP, stock `noise()`, yamux,
 * identify; it never loads libp2p-noise-ech, so its `@multiformats/multiaddr`
 * has no `/ech` codec. It dials the address, waits for identify and prints
 * one JSON line: whether `peer:identify` fired and what it learned.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr, registry } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { pEvent } from 'p-event'
import type { IdentifyResult } from '@libp2p/interface'

let echKnown = true
try { registry.getProtocol('ech') } catch { echKnown = false }

const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
const identify$ = pEvent(node, 'peer:identify', { signal: AbortSignal.timeout(3000) })
const conn = await node.dial(multiaddr(process.argv[2]))
// no peer:identify within 3 s: identify failed (its errors are swallowed)
const identified = await identify$.then(evt => (evt as CustomEvent<IdentifyResult>).detail.listenAddrs.map(String), () => undefined)
const peer = await node.peerStore.get(conn.remotePeer)
process.stdout.write(JSON.stringify({ echKnown, identified, storedAddresses: peer.addresses.map(a => a.multiaddr.toString()) }) + '\n')
await node.stop()
