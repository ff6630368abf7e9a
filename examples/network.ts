/* eslint-disable no-console */
/**
 * A small local network on 127.0.0.1: three ECH-enabled nodes and one node
 * with the stock Noise encrypter. Each ECH node learns the others' configs
 * (here handed over by the application; see docs for the other ways), then
 * every node dials every other one and the outcome of each connection is
 * printed. One config is deliberately stale (made before a key rotation) to
 * show retry configs at work: the first dial is rejected, the next accepted.
 *
 * Run: `npm start` (after `npm ci`).
 */
import '../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { ECH_PEER_STORE_KEY, echNoise } from '../src/index.js'
import type { EchConnectionInfo, EchNoise, EchNoiseInit } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'

interface ExampleNode {
  name: string
  node: Libp2p<{ ping: Ping }>
  ech?: EchNoise
}

async function start (name: string, withEch: boolean, init?: EchNoiseInit): Promise<ExampleNode> {
  let ech: EchNoise | undefined
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [withEch
      ? (components: any) => { ech = echNoise(init)(components); return ech }
      : noise()],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping(), identify: identify() }
  })
  return { name, node, ech }
}

interface Row {
  from: string
  to: string
  outcome: string
  detail: string
  handshakeMs: number
  rttMs: number
}

function nextOutcome (node: ExampleNode): Promise<EchConnectionInfo> | undefined {
  return node.ech == null
    ? undefined
    : new Promise(resolve => {
      node.ech?.addEventListener('ech:outcome', (evt) => { resolve(evt.detail) }, { once: true })
    })
}

async function dial (from: ExampleNode, to: ExampleNode): Promise<Row> {
  // the dialer's view where it runs ECH, else the listener's
  const dialerView = nextOutcome(from)
  const listenerView = nextOutcome(to)
  const connection = await from.node.dial(to.node.getMultiaddrs()[0])
  const rttMs = await from.node.services.ping.ping(to.node.peerId)
  const info = await (dialerView ?? listenerView)
  const detail = info?.reason ?? (info?.retryConfigsLearned === true ? 'retry configs learned' : info?.configId != null ? `config ${info.configId}` : '')
  await connection.close()
  return {
    from: from.name,
    to: to.name,
    outcome: dialerView == null ? `${info?.outcome ?? '?'} (seen by ${to.name})` : info?.outcome ?? '?',
    detail,
    handshakeMs: info?.durationMs ?? Number.NaN,
    rttMs
  }
}

function printTable (rows: Row[]): void {
  const header = ['from', 'to', 'outcome', 'detail', 'handshake ms', 'ping ms']
  const cells = rows.map(r => [r.from, r.to, r.outcome, r.detail, r.handshakeMs.toFixed(2), r.rttMs.toFixed(0)])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i])).join('  ')
  console.log(line(header))
  console.log(widths.map(w => '-'.repeat(w)).join('  '))
  cells.forEach(c => { console.log(line(c)) })
}

async function main (): Promise<void> {
  const nodes = [
    await start('ech-a', true),
    await start('ech-b', true),
    // keeps no old key after a rotation, to show retry configs below
    await start('ech-c', true, { keyManager: { gracePeriod: 0 } }),
    await start('stock', false)
  ]
  const [a, b, c] = nodes

  // hand every ECH node the other ECH nodes' configs, as an application would
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to || from.ech == null || to.ech == null) { continue }
      await from.node.peerStore.merge(to.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: to.ech.getEchConfigList() } })
    }
  }

  // ech-c rotates its key after the others learned the old config, and drops
  // the old one at once: their first dials are rejected with retry configs
  await c.ech?.keys.rotate()

  const rows: Row[] = []
  for (const from of nodes) {
    for (const to of nodes) {
      if (from !== to) { rows.push(await dial(from, to)) }
    }
  }
  // the retry configs learned above make the next dials accepted
  rows.push({ ...(await dial(a, c)), from: 'ech-a (again)' })
  rows.push({ ...(await dial(b, c)), from: 'ech-b (again)' })

  console.log()
  printTable(rows)
  const totals = new Map<string, number>()
  rows.forEach(r => { const k = r.outcome.split(' ')[0]; totals.set(k, (totals.get(k) ?? 0) + 1) })
  console.log()
  console.log('totals:', [...totals].map(([k, v]) => `${k} ${v}`).join(', '), `— ${rows.length} connections`)

  await Promise.all(nodes.map(async n => n.node.stop()))
}

main().then(() => {
  process.exit(0)
}, (err) => {
  console.error('example network failed:', err)
  process.exit(1)
})
