/**
 * The DHT config records service between real libp2p 3 nodes over TCP with
 * kad-dht: first contact with ECH from a record found in the DHT, what a
 * DHT server without the validator does with a record, republication on
 * rotation, the kill switch, and start-up checks.
 */
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { readConfigRecord } from '../../src/exchange/protocol.js'
import { ECH_CONFIG_EXCHANGE_PROTOCOL, echDhtConfigs, echDhtKey, validateEchDhtRecord } from '../../src/index.js'
import { rejection } from '../fixtures/errors.js'
import { storedConfig, useNodes } from '../fixtures/nodes.js'
import { createDhtNode, joinDht, nextDhtEvent, published } from './fixtures.js'
import type { DhtNode } from './fixtures.js'

/** The configs `dialer`'s first connection to `target` used, and what its lookup saw */
async function firstContact (dialer: DhtNode, target: DhtNode): Promise<{ outcome?: string, configId?: number, lookup: string }> {
  const lookup = nextDhtEvent(dialer.echDht!, 'ech:dht-lookup', d => d.remotePeer.equals(target.node.peerId))
  const conn = await dialer.node.dial(target.node.peerId, { force: true })
  const info = dialer.ech!.getConnectionInfo(conn)
  return { outcome: info?.outcome, configId: info?.configId, lookup: (await lookup).result }
}

async function waitFor (condition: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!await condition()) {
    if (Date.now() > deadline) { throw new Error('condition not met in time') }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('dht: config records through kad-dht', function () {
  this.timeout(60_000)
  const nodes = useNodes(createDhtNode)

  it('a dialer that never met the peer finds its record in the DHT and offers ECH on the first dial', async () => {
    const [hub, a, b] = await Promise.all([nodes.create(), nodes.create(), nodes.create()])
    await joinDht(a, hub)
    await joinDht(b, hub)
    expect((await published(a)).stored).to.be.greaterThan(0)
    expect(await storedConfig(b, a.node.peerId)).to.equal(undefined)

    const seen = await firstContact(b, a)
    expect(seen.lookup).to.equal('found')
    expect(seen.outcome).to.equal('accepted')
    expect(seen.configId).to.equal(a.ech!.keys.getKeys()[0].config.configId)
    // the record is in b's peer store now: the next dial needs no lookup
    expect(await storedConfig(b, a.node.peerId)).to.equalBytes(await a.ech!.getSignedConfigRecord())
  })

  it('a DHT server without the validator refuses the record; a dialer then goes ahead with stock Noise', async () => {
    const stock = await nodes.create({ encrypter: 'stock' })
    // a DHT client: a server keeps its own record and answers with it; here the stock server is the only one
    const a = await nodes.create({ clientMode: true })
    const b = await nodes.create()
    await joinDht(a, stock)
    await joinDht(b, stock)
    const first = await published(a, () => true)
    expect(first.stored).to.equal(0)
    expect(first.errors).to.be.greaterThan(0)

    const seen = await firstContact(b, a)
    // whether b's own publication had just dialled a (nested) or not, it found nothing
    expect(seen.lookup).to.be.oneOf(['not-found', 'gave-up', 'nested'])
    expect(seen.outcome).to.equal('fallback')
    expect(b.ech!.getConnectionInfo(b.node.getConnections(a.node.peerId).at(-1)!)?.reason).to.equal('no-config')
  })

  it('a rotation republishes at once: a dialer that comes later offers to the new key', async () => {
    const [hub, a] = await Promise.all([nodes.create(), nodes.create()])
    await joinDht(a, hub)
    await published(a)
    const republished = nextDhtEvent(a.echDht!, 'ech:dht-published', d => d.stored > 0)
    await a.ech!.keys.rotate()
    await republished
    const newest = a.ech!.keys.getKeys()[0].config.configId

    // a node that knew nothing of the peer before the rotation
    const c = await nodes.create()
    await joinDht(c, hub)
    const seen = await firstContact(c, a)
    expect(seen.outcome).to.equal('accepted')
    expect(seen.configId).to.equal(newest)
    const opened = await validateEchDhtRecord(echDhtKey(a.node.peerId), (await storedConfig(c, a.node.peerId))!)
    expect(opened.configList).to.equalBytes(a.ech!.getEchConfigList())
  })

  it('skips the lookup of a peer whose identify lists no config exchange protocol; a publisher without echConfigExchange() lists it and serves its record', async () => {
    const [hub, a, b] = await Promise.all([nodes.create(), nodes.create(), nodes.create()])
    // a DHT client: never in b's routing table, so none of b's DHT queries dials it (and remembers a miss)
    const stock = await nodes.create({ encrypter: 'stock', clientMode: true })
    await joinDht(a, hub)
    await joinDht(b, hub)
    await published(a)
    // both dial b (b's side is inbound: no lookup), identify tells b their protocols, the connections close
    for (const peer of [a, stock]) {
      await peer.node.dial(b.node.getMultiaddrs()[0])
      await waitFor(async () => (await b.node.peerStore.get(peer.node.peerId).catch(() => undefined))?.metadata.has('AgentVersion') === true)
      await b.node.hangUp(peer.node.peerId)
    }
    expect((await b.node.peerStore.get(a.node.peerId)).protocols).to.include(ECH_CONFIG_EXCHANGE_PROTOCOL)
    expect((await b.node.peerStore.get(stock.node.peerId)).protocols).to.not.include(ECH_CONFIG_EXCHANGE_PROTOCOL)
    // the protocol a lists answers with its record (no echConfigExchange() on these nodes)
    const stream = await (await b.node.dial(a.node.peerId)).newStream(ECH_CONFIG_EXCHANGE_PROTOCOL)
    await stream.close()
    expect(await readConfigRecord(stream, { maxRecordSize: 16_384 })).to.equalBytes(await a.ech!.getSignedConfigRecord())

    const toStock = await firstContact(b, stock)
    expect(toStock).to.deep.include({ lookup: 'not-ech', outcome: 'fallback' })
  })

  it('publishes nothing while the kill switch is off', async () => {
    const [hub, a] = await Promise.all([nodes.create(), nodes.create({ echDht: { retryInterval: 60_000 } })])
    await joinDht(a, hub)
    a.ech!.policy.setEnabled(false)
    const detail = await a.echDht!.publish()
    expect(detail).to.deep.include({ stored: 0, skipped: 'disabled' })
  })

  it('refuses to start without a kad-dht that carries the ECH validator and selector', async () => {
    const plain = await nodes.create({ validators: false, echDht: false })
    const components = { peerId: plain.node.peerId, peerStore: plain.node.peerStore, logger: defaultLogger(), upgrader: undefined as any, dht: plain.dht }
    expect(await rejection(echDhtConfigs()(components).start())).to.have.property('name', 'EchDhtNotConfiguredError')
    expect(await rejection(echDhtConfigs({ dhtService: 'amino' })(components).start())).to.have.property('name', 'EchDhtNotConfiguredError')
  })

  it('checks its options (EchDhtOptionsError)', () => {
    for (const init of [{ lookupTimeout: 0 }, { lookupTimeout: 1501 }, { quorum: 0 }, { negativeTtl: 1.5 }]) {
      expect(() => echDhtConfigs(init)({} as any), JSON.stringify(init)).to.throw().with.property('name', 'EchDhtOptionsError')
    }
  })
})
