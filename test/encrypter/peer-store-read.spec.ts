/**
 * The dialer's lock-free read of "this peer has no config"
 * (`encrypter/peer-store-read.ts`): it answers exactly as `peerStore.get`
 * does, sees every write at once whatever made it (the peer store emits no
 * `peer:update` for metadata merged into a known peer, so nothing can rely on
 * events), and is never trusted where the records are not where it looks.
 * Then, between real TCP nodes, a config written by each path there is (the
 * application's `merge`/`patch`/`save`, `importSignedConfigRecord`, retry
 * configs, the exchange service, identify `/ech` addresses, `dialWithEch`)
 * is used by the very next dial, and so is one that only arrives in the
 * peer's stored addresses (identify, `merge({ multiaddrs })`, a signed peer
 * record).
 */
import '../../src/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { persistentPeerStore } from '@libp2p/peer-store'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { TypedEventEmitter } from 'main-event'
import { ECH_ANNOUNCED_EXPIRY_KEY, PeerConfigStore, readStoredConfig } from '../../src/config/peer-store.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { PeerStoreConfigReader, peerRecordKey } from '../../src/encrypter/peer-store-read.js'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { dialWithEch, echAddressConfigs, echAnnounceFilter, echConfigListFromAddresses, echConfigListFromMultiaddr, withEchComponent } from '../../src/multiaddr/index.js'
import { createExchangeNode, nextExchangeEvent } from '../exchange/fixtures.js'
import { createTestNode, nextEchEvent, shareConfig, useNodes } from '../fixtures/nodes.js'
import { randomPeerId } from '../fixtures/peer-store.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Libp2pEvents, Peer, PeerId, PeerStore } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const log = defaultLogger().forComponent('test:peer-store-read')

interface Store { local: PeerId, peerStore: PeerStore, datastore: MemoryDatastore }

async function store (): Promise<Store> {
  const local = await randomPeerId()
  const datastore = new MemoryDatastore()
  const peerStore = persistentPeerStore({ peerId: local, datastore, events: new TypedEventEmitter<Libp2pEvents>(), logger: defaultLogger() })
  return { local, peerStore, datastore }
}

/** A started node's own record, as libp2p's registrar writes it */
async function withOwnRecord (s: Store): Promise<Store> {
  await s.peerStore.merge(s.local, { protocols: ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0'] })
  return s
}

function reader (s: Store, datastore: Datastore = s.datastore): PeerStoreConfigReader {
  return new PeerStoreConfigReader({ peerStore: s.peerStore, datastore, localPeer: s.local, log })
}

const list = async (): Promise<Uint8Array> => (await generateEchKey()).configList
const value = async (r: PeerStoreConfigReader, peer: PeerId): Promise<Uint8Array | undefined> => (await r.read(peer)).value

describe('encrypter: the peer-store read of a dial', () => {
  it('answers as peerStore.get after every kind of write, at once', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    const peer = await randomPeerId()
    const configs = [await list(), await list(), await list()]
    const addr = multiaddr('/ip4/10.0.0.1/tcp/4001')
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['unknown peer', async () => {}],
      ['known, no config', async () => s.peerStore.merge(peer, { multiaddrs: [addr], protocols: ['/x'], metadata: { AgentVersion: Uint8Array.of(1) }, tags: { t: { value: 5 } } })],
      // the write the peer store emits no peer:update for
      ['merge into a known peer', async () => s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: configs[0] } })],
      ['merge of another value', async () => s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: configs[1] } })],
      ['merge that removes it', async () => s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: undefined } })],
      ['patch', async () => s.peerStore.patch(peer, { metadata: { [ECH_PEER_STORE_KEY]: configs[2] } })],
      ['patch without it', async () => s.peerStore.patch(peer, { metadata: { other: Uint8Array.of(2) } })],
      ['save', async () => s.peerStore.save(peer, { multiaddrs: [addr], metadata: { [ECH_PEER_STORE_KEY]: configs[0] } })],
      ['delete', async () => s.peerStore.delete(peer)],
      ['merge into an unknown peer', async () => s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: configs[1] } })]
    ]
    for (const [name, write] of steps) {
      await write()
      const expected = (await readStoredConfig(s.peerStore, peer)).value
      const got = await value(r, peer)
      expect(got == null ? 'none' : got, name).to.deep.equal(expected == null ? 'none' : expected)
    }
  })

  it('is proven by the node\'s own record, or by the first dialled peer that has one', async () => {
    const own = await withOwnRecord(await store())
    const byOwn = reader(own)
    await byOwn.read(await randomPeerId())
    expect(byOwn.isProven()).to.be.true()

    const bare = await store()
    const byPeer = reader(bare)
    const peer = await randomPeerId()
    await byPeer.read(peer)
    expect(byPeer.isProven()).to.be.false()
    await bare.peerStore.merge(peer, { protocols: ['/x'] })
    await byPeer.read(peer)
    expect(byPeer.isProven()).to.be.true()
  })

  it('records kept anywhere else than it looks: never proven, every config still found through the peer store', async () => {
    const s = await withOwnRecord(await store())
    // the records are in s.datastore; the reader looks in an empty one
    const r = reader(s, new MemoryDatastore())
    const configs = new PeerConfigStore({ peerStore: s.peerStore, provider: nodeProvider, log, read: async (peer) => r.read(peer) })
    const peer = await randomPeerId()
    expect((await configs.lookup(peer)).reason).to.equal('no-config')
    await s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: await list() } })
    expect((await configs.lookup(peer)).offer).to.exist()
    expect(r.isProven()).to.be.false()
  })

  it('a peer whose stored addresses may carry /ech comes with its record (the dial reads the config there), uncertified or certified', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const plain = multiaddr('/ip4/10.0.0.1/tcp/4001')
    const withEch = withEchComponent(plain, await list())
    await r.read(s.local)
    expect(r.isProven()).to.be.true()

    await s.peerStore.merge(peer, { multiaddrs: [plain] })
    expect((await r.read(peer)).record, 'no /ech address').to.be.undefined()
    await s.peerStore.merge(peer, { multiaddrs: [withEch] })
    expect((await r.read(peer)).record?.addresses.map(a => a.multiaddr.toString()), 'merged /ech address').to.include(withEch.toString())

    const signer = await generateKeyPair('Ed25519')
    const envelope = await RecordEnvelope.seal(new PeerRecord({ peerId: peerIdFromPrivateKey(signer), multiaddrs: [plain, withEchComponent(plain, await list())] }), signer)
    expect(await s.peerStore.consumePeerRecord(envelope.marshal(), { expectedPeer: peerIdFromPrivateKey(signer) })).to.be.true()
    const record = (await r.read(peerIdFromPrivateKey(signer))).record
    expect(record?.addresses.filter(a => a.isCertified === true && echConfigListFromMultiaddr(a.multiaddr) != null), 'certified /ech address').to.have.lengthOf(1)
  })

  it('a dial to a peer with neither a config nor an /ech address never waits for peerStore.get', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    await r.read(s.local)
    const peer = await randomPeerId()
    await s.peerStore.merge(peer, { multiaddrs: [multiaddr('/ip4/10.0.0.1/tcp/4001'), multiaddr('/ip4/10.0.0.2/udp/4001/quic-v1')], protocols: ['/x'] })
    let gets = 0
    const get = s.peerStore.get.bind(s.peerStore)
    s.peerStore.get = async (...args) => { gets++; return get(...args) }
    const configs = new PeerConfigStore({ peerStore: s.peerStore, provider: nodeProvider, log, read: async (p) => r.read(p) })
    const addressConfig = (record: Peer): Uint8Array | undefined => echConfigListFromAddresses(record.addresses.map(a => a.multiaddr))
    expect(await configs.lookup(peer, { addressConfig, find: false })).to.deep.equal({ reason: 'no-config' })
    expect(gets).to.equal(0)
    // an /ech address arrives: the very next lookup reads it (one get)
    const echList = await list()
    await s.peerStore.merge(peer, { multiaddrs: [withEchComponent(multiaddr('/ip4/10.0.0.1/tcp/4001'), echList)] })
    expect((await configs.lookup(peer, { addressConfig, find: false })).offer).to.exist()
    expect(gets).to.equal(1)
  })

  it('a dial to a peer with a usable config never waits for peerStore.get either; one whose stored config is unusable still finds the config in its addresses', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    await r.read(s.local)
    const peer = await randomPeerId()
    const addr = multiaddr('/ip4/10.0.0.1/tcp/4001')
    await s.peerStore.merge(peer, { multiaddrs: [addr], metadata: { [ECH_PEER_STORE_KEY]: await list() } })
    let gets = 0
    const get = s.peerStore.get.bind(s.peerStore)
    s.peerStore.get = async (...args) => { gets++; return get(...args) }
    const configs = new PeerConfigStore({ peerStore: s.peerStore, provider: nodeProvider, log, read: async (p) => r.read(p) })
    const addressConfig = (record: Peer): Uint8Array | undefined => echConfigListFromAddresses(record.addresses.map(a => a.multiaddr))
    expect((await configs.lookup(peer, { addressConfig, find: false })).offer).to.exist()
    expect(gets).to.equal(0)

    // a stored value that gives no offer: the record is read for its addresses
    await s.peerStore.merge(peer, { multiaddrs: [withEchComponent(addr, await list())], metadata: { [ECH_PEER_STORE_KEY]: Uint8Array.of(0, 1, 0xff) } })
    expect((await configs.lookup(peer, { addressConfig, find: false })).offer).to.exist()
    expect((await configs.lookup(peer, { find: false })).reason).to.equal('unusable-config')
  })

  it('reads the config and its announced expiry as peerStore.get does', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    await r.read(s.local)
    const peer = await randomPeerId()
    await s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: await list(), [ECH_ANNOUNCED_EXPIRY_KEY]: Uint8Array.of(1, 2, 3) } })
    const { value, announcedExpiry } = await readStoredConfig(s.peerStore, peer)
    const got = await r.read(peer)
    expect(got.value).to.deep.equal(value)
    expect(got.announcedExpiry).to.deep.equal(announcedExpiry)
  })

  it('a record it cannot read (not a Peer protobuf) goes to the peer store, which decides', async () => {
    const s = await withOwnRecord(await store())
    const r = reader(s)
    await r.read(s.local)
    const peer = await randomPeerId()
    await s.datastore.put(peerRecordKey(peer), Uint8Array.of(0x0f, 0xff))
    const settle = async (p: Promise<unknown>): Promise<unknown> => p.then(v => ({ value: v }), (err: Error) => ({ error: err.name }))
    expect(await settle(r.read(peer))).to.deep.equal(await settle(readStoredConfig(s.peerStore, peer)))
  })
})

/** Listens with echNoise; `announce` puts its configs in an `/ech` address, `learn` stores announced ones */
async function echNode (options: { announce?: boolean, learn?: boolean, keys?: Awaited<ReturnType<typeof generateEchKey>>[] } = {}): Promise<TestNode> {
  return createTestNode({
    encrypter: 'ech',
    ech: options.keys == null ? undefined : { keys: options.keys },
    announceFilter: options.announce === true ? (ech) => echAnnounceFilter(() => ech()?.getEchConfigList()) : undefined,
    services: options.learn === true ? { echAddrs: echAddressConfigs() } : {}
  })
}

describe('encrypter: a config written by any path is used by the next dial (TCP)', function () {
  this.timeout(30_000)

  const nodes = useNodes()
  const track = nodes.track

  /**
   * A dial with no config (stock Noise) that read "no config" from the
   * datastore, then `write`, then a new connection: accepted
   */
  async function nextDialAccepted (dialer: TestNode, listener: TestNode, write: () => Promise<unknown>, dial = async () => dialer.node.dial(listener.addr, { force: true })): Promise<void> {
    // the reader the dialer's encrypter uses: the node's own record proves it at its first read
    const reader = (dialer.ech as unknown as { reader: PeerStoreConfigReader }).reader
    expect((await reader.read(listener.node.peerId)).value).to.be.undefined()
    expect(reader.isProven()).to.be.true()
    const stock = nextEchEvent(dialer.ech!)
    await dialer.node.dial(listener.addr)
    expect(await stock).to.include({ outcome: 'fallback', reason: 'no-config' })
    await write()
    await dialer.node.hangUp(listener.node.peerId)
    const next = nextEchEvent(dialer.ech!)
    await dial()
    expect(await next).to.include({ outcome: 'accepted' })
  }

  const paths: Array<[string, (dialer: TestNode, listener: TestNode) => Promise<unknown>]> = [
    ['the application\'s merge into the known peer (no peer:update)', async (d, l) => shareConfig(d, l)],
    ['the application\'s patch', async (d, l) => d.node.peerStore.patch(l.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: l.ech!.getEchConfigList() } })],
    ['the application\'s save', async (d, l) => d.node.peerStore.save(l.node.peerId, { multiaddrs: [l.addr], metadata: { [ECH_PEER_STORE_KEY]: l.ech!.getEchConfigList() } })],
    ['importSignedConfigRecord', async (d, l) => d.ech!.importSignedConfigRecord(l.node.peerId, await l.ech!.getSignedConfigRecord())]
  ]
  for (const [name, write] of paths) {
    it(name, async () => {
      const listener = await nodes.create({ encrypter: 'ech' })
      const dialer = await nodes.create({ encrypter: 'ech' })
      await nextDialAccepted(dialer, listener, async () => write(dialer, listener))
    })
  }

  it('retry configs: a dial with a stale config learns them, the next dial is accepted', async () => {
    const listener = await nodes.create({ encrypter: 'ech' })
    const dialer = await nodes.create({ encrypter: 'ech' })
    await nextDialAccepted(dialer, listener, async () => {
      await shareConfig(dialer, listener, (await generateEchKey()).configList)
      const rejected = nextEchEvent(dialer.ech!)
      await dialer.node.dial(listener.addr, { force: true })
      expect(await rejected).to.include({ outcome: 'rejected', retryConfigsLearned: true })
    })
  })

  it('the config exchange service', async () => {
    const listener = track(await createExchangeNode())
    const dialer = track(await createExchangeNode())
    const stored = nextExchangeEvent(dialer.exchange!, 'ech:record-stored', listener.node.peerId)
    // the service fetches after identify on the first connection
    await nextDialAccepted(dialer, listener, async () => stored)
  })

  it('identify of the listener\'s /ech address', async () => {
    const listener = track(await echNode({ announce: true }))
    const dialer = track(await echNode({ learn: true }))
    listener.addr = listener.node.getMultiaddrs().find(ma => echConfigListFromMultiaddr(ma) == null) ?? listener.addr
    await nextDialAccepted(dialer, listener, async () => {
      const deadline = Date.now() + 5000
      while ((await readStoredConfig(dialer.node.peerStore, listener.node.peerId)).value == null && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    })
  })

  /** `write` leaves the config in the dialer's stored addresses for the listener only, never under ECH_PEER_STORE_KEY */
  async function onlyInAddresses (dialer: TestNode, listener: TestNode, write: () => Promise<unknown>): Promise<void> {
    await write()
    const stored = await readStoredConfig(dialer.node.peerStore, listener.node.peerId)
    expect(stored.value).to.be.undefined()
    expect(echConfigListFromAddresses(stored.record?.addresses.map(a => a.multiaddr) ?? [])).to.deep.equal(listener.ech!.getEchConfigList())
  }

  it('identify of the listener\'s /ech address, kept in its addresses only (no echAddressConfigs service)', async () => {
    const listener = track(await echNode({ announce: true }))
    const dialer = track(await echNode())
    listener.addr = listener.node.getMultiaddrs().find(ma => echConfigListFromMultiaddr(ma) == null) ?? listener.addr
    await nextDialAccepted(dialer, listener, async () => onlyInAddresses(dialer, listener, async () => {
      const deadline = Date.now() + 5000
      const hasEch = async (): Promise<boolean> => (await dialer.node.peerStore.get(listener.node.peerId)).addresses.some(a => echConfigListFromMultiaddr(a.multiaddr) != null)
      while (!await hasEch() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    }))
  })

  it('peerStore.merge of an /ech address (a bootstrap list, peer routing)', async () => {
    const listener = await nodes.create({ encrypter: 'ech' })
    const dialer = await nodes.create({ encrypter: 'ech' })
    await nextDialAccepted(dialer, listener, async () => onlyInAddresses(dialer, listener, async () =>
      dialer.node.peerStore.merge(listener.node.peerId, { multiaddrs: [withEchComponent(listener.addr, listener.ech!.getEchConfigList())] })))
  })

  it('a signed peer record with an /ech address (certified)', async () => {
    const listener = await nodes.create({ encrypter: 'ech' })
    const dialer = await nodes.create({ encrypter: 'ech' })
    await nextDialAccepted(dialer, listener, async () => onlyInAddresses(dialer, listener, async () => {
      const record = new PeerRecord({ peerId: listener.node.peerId, multiaddrs: [listener.addr, withEchComponent(listener.addr, listener.ech!.getEchConfigList())] })
      const envelope = await RecordEnvelope.seal(record, listener.privateKey)
      expect(await dialer.node.peerStore.consumePeerRecord(envelope.marshal(), { expectedPeer: listener.node.peerId })).to.be.true()
    }))
  })

  it('dialWithEch', async () => {
    const listener = await nodes.create({ encrypter: 'ech' })
    const dialer = await nodes.create({ encrypter: 'ech' })
    await nextDialAccepted(dialer, listener, async () => {}, async () => dialWithEch(dialer.node, withEchComponent(listener.addr, listener.ech!.getEchConfigList())))
  })
})
