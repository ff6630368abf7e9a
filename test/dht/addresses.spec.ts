/**
 * Configs found in a peer's stored addresses (`/noise/ech/…`, as a bootstrap
 * list, peer routing or a signed peer record put them in the peer store),
 * between real libp2p 3 nodes: the encrypter offers ECH without
 * `dialWithEch`; `require` mode takes certified (signed) addresses only; and
 * the kad-dht `peerInfoMapper` that keeps `/ech` out of DHT answers.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { removeEchAddressesMapper, withEchComponent } from '../../src/index.js'
import { rejection } from '../fixtures/errors.js'
import { useNodes } from '../fixtures/nodes.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** `target`'s listen address with its configs after `/noise`, as a bootstrap list would carry it */
function echAddress (target: TestNode): Multiaddr {
  return withEchComponent(target.addr, target.ech!.getEchConfigList())
}

describe('dht: configs in the peer store\'s addresses', function () {
  this.timeout(30_000)
  const nodes = useNodes()

  it('a dialer offers ECH to a peer whose stored (uncertified) address carries /noise/ech', async () => {
    const [a, b] = await Promise.all([nodes.create({ encrypter: 'ech' }), nodes.create({ encrypter: 'ech' })])
    await b.node.peerStore.merge(a.node.peerId, { multiaddrs: [a.addr, echAddress(a)] })
    const conn = await b.node.dial(a.node.peerId)
    expect(b.ech!.getConnectionInfo(conn)).to.include({ outcome: 'accepted', configId: a.ech!.keys.getKeys()[0].config.configId })
  })

  it('require mode does not take a config from an uncertified address', async () => {
    const [a, b] = await Promise.all([nodes.create({ encrypter: 'ech' }), nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })])
    await b.node.peerStore.merge(a.node.peerId, { multiaddrs: [a.addr, echAddress(a)] })
    await rejection(b.node.dial(a.node.peerId))
    const failure = await b.nextFailure('outbound')
    expect(failure.error).to.have.property('name', 'EchRequiredError')
    expect(failure.error).to.have.property('reason', 'no-config')
  })

  it('require mode takes the config from the peer\'s signed peer record (certified addresses)', async () => {
    const [a, b] = await Promise.all([nodes.create({ encrypter: 'ech' }), nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })])
    const record = new PeerRecord({ peerId: peerIdFromPrivateKey(a.privateKey), multiaddrs: [a.addr, echAddress(a)] })
    const envelope = await RecordEnvelope.seal(record, a.privateKey)
    expect(await b.node.peerStore.consumePeerRecord(envelope.marshal(), { expectedPeer: a.node.peerId })).to.equal(true)
    const conn = await b.node.dial(a.node.peerId)
    expect(b.ech!.getConnectionInfo(conn)).to.include({ outcome: 'accepted' })
  })

  it('a config the peer stored under ECH_PEER_STORE_KEY wins over one in its addresses', async () => {
    const [a, b, other] = await Promise.all([nodes.create({ encrypter: 'ech' }), nodes.create({ encrypter: 'ech' }), nodes.create({ encrypter: 'ech' })])
    // an address carrying someone else's configs: only used when nothing is stored
    await b.node.peerStore.merge(a.node.peerId, { multiaddrs: [a.addr, withEchComponent(a.addr, other.ech!.getEchConfigList())] })
    await b.node.peerStore.merge(a.node.peerId, { metadata: { 'libp2p-noise-ech': a.ech!.getEchConfigList() } })
    const conn = await b.node.dial(a.node.peerId)
    expect(b.ech!.getConnectionInfo(conn)).to.include({ outcome: 'accepted' })
  })

  it('removeEchAddressesMapper drops /ech (and its /noise) from DHT answers, once per address, after the next mapper', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const plain = multiaddr('/ip4/198.51.100.7/tcp/4001')
    const withEch = withEchComponent(plain, a.ech!.getEchConfigList())
    const dropTen = (info: PeerInfo): PeerInfo => ({ ...info, multiaddrs: info.multiaddrs.filter(ma => !ma.toString().startsWith('/ip4/10.')) })
    const mapped = removeEchAddressesMapper(dropTen)({ id: a.node.peerId, multiaddrs: [plain, withEch, multiaddr('/ip4/10.0.0.1/tcp/1')] })
    expect(mapped.multiaddrs.map(String)).to.deep.equal([plain.toString()])
    const untouched = { id: a.node.peerId, multiaddrs: [plain] }
    expect(removeEchAddressesMapper()(untouched)).to.equal(untouched)
  })
})
