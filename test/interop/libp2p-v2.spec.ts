/**
 * Backwards interop with the previous stack generation: stock libp2p 2 nodes
 * (`@chainsafe/libp2p-noise` 16, `@chainsafe/libp2p-yamux` 7, `@libp2p/tcp`
 * 10, `@libp2p/ping` 2) against libp2p 3 nodes running `echNoise`, over real
 * TCP on 127.0.0.1. Every working connection is checked with a ping and a
 * 1 MiB echo, compared byte for byte.
 *
 * Objects never cross the two trees: addresses and peer ids cross as
 * strings (see `test/fixtures/nodes-v2.ts`).
 */
import '../../src/polyfill.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { createTestNodeV2, echoBytesV2, multiaddrV2, nextHandshake } from '../fixtures/nodes-v2.js'
import { ONE_MIB, collectEchEvents, echoBytes, nextEchEvent, randomBytes, useNodes } from '../fixtures/nodes.js'
import type { TestNodeV2 } from '../fixtures/nodes-v2.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The v2 node as the libp2p 3 tree sees it: its peer id and address re-parsed by peer-id 6 / multiaddr 13 */
function asV3 (v2: TestNodeV2): { peerId: PeerId, addr: Multiaddr } {
  return { peerId: peerIdFromString(v2.node.peerId.toString()), addr: multiaddr(v2.addr.toString()) }
}

describe('interop: libp2p 2 (noise 16) <-> libp2p 3 (echNoise)', function () {
  this.timeout(30_000)

  const nodes = useNodes()

  it('libp2p 2 + noise 16 dialer -> libp2p 3 echNoise listener: works, listener outcome not-offered', async () => {
    const v3 = await nodes.create({ encrypter: 'ech' })
    const v2 = nodes.track(await createTestNodeV2())
    const listenerOutcome = nextEchEvent(v3.ech!)
    const target = await multiaddrV2(v3.addr)

    const connection = await v2.node.dial(target)
    expect(connection.remotePeer.toString()).to.equal(v3.node.peerId.toString())

    const info = await listenerOutcome
    expect(info).to.include({ direction: 'inbound', outcome: 'not-offered' })
    expect(info.remotePeer?.toString()).to.equal(v2.node.peerId.toString())
    expect(v2.handshakes).to.deep.equal([{ direction: 'outbound', remotePeer: v3.node.peerId.toString() }])

    const rtt = await v2.node.services.ping.ping(target)
    expect(rtt).to.be.a('number').and.at.least(0)

    const data = randomBytes(ONE_MIB)
    const back = await echoBytesV2(v2, target, data)
    expect(back).to.equalBytes(data)
  })

  it('libp2p 3 echNoise dialer without a config for the peer -> libp2p 2 listener: works, outcome fallback (no-config)', async () => {
    const v3 = await nodes.create({ encrypter: 'ech' })
    const v2 = nodes.track(await createTestNodeV2())
    const remote = asV3(v2)
    const dialerOutcome = nextEchEvent(v3.ech!)
    const listenerHandshake = nextHandshake(v2, { signal: AbortSignal.timeout(5000) })

    const connection = await v3.node.dial(remote.addr)
    expect(connection.remotePeer.equals(remote.peerId)).to.be.true()

    const info = await dialerOutcome
    expect(info).to.include({ direction: 'outbound', outcome: 'fallback', reason: 'no-config' })
    expect(info.remotePeer?.equals(remote.peerId)).to.be.true()
    expect(await listenerHandshake).to.deep.equal({ direction: 'inbound', remotePeer: v3.node.peerId.toString() })

    const rtt = await v3.node.services.ping.ping(remote.addr)
    expect(rtt).to.be.a('number').and.at.least(0)

    const data = randomBytes(ONE_MIB)
    const back = await echoBytes(v3, remote.peerId, data)
    expect(back).to.equalBytes(data)
  })

  it('libp2p 3 echNoise dialer with a config the v2 peer cannot use -> libp2p 2 listener: works, outcome rejected without retry configs', async () => {
    const v3 = await nodes.create({ encrypter: 'ech' })
    const v2 = nodes.track(await createTestNodeV2())
    const remote = asV3(v2)
    // a well-formed config whose key the v2 peer does not have (nor could use)
    const key = await generateEchKey()
    await v3.node.peerStore.merge(remote.peerId, { metadata: { [ECH_PEER_STORE_KEY]: key.configList } })
    const dialerOutcome = nextEchEvent(v3.ech!)
    const listenerHandshake = nextHandshake(v2, { signal: AbortSignal.timeout(5000) })

    // stock noise 16 reads the message-1 payload (the outer hello, field 1025) and ignores it
    const connection = await v3.node.dial(remote.addr)
    expect(connection.remotePeer.equals(remote.peerId)).to.be.true()

    const info = await dialerOutcome
    expect(info).to.include({ direction: 'outbound', outcome: 'rejected', retryConfigsLearned: false })
    // the config id that was offered (and not accepted)
    expect(info.configId).to.equal(key.config.configId)
    expect(info.remotePeer?.equals(remote.peerId)).to.be.true()
    expect(await listenerHandshake).to.deep.equal({ direction: 'inbound', remotePeer: v3.node.peerId.toString() })

    // no retry configs came back, so the stored config is untouched
    const stored = (await v3.node.peerStore.get(remote.peerId)).metadata.get(ECH_PEER_STORE_KEY)
    expect(stored).to.equalBytes(key.configList)

    const rtt = await v3.node.services.ping.ping(remote.addr)
    expect(rtt).to.be.a('number').and.at.least(0)

    const data = randomBytes(ONE_MIB)
    const back = await echoBytes(v3, remote.peerId, data)
    expect(back).to.equalBytes(data)
    key.privateKey.destroy()
  })

  it('libp2p 3 echNoise dialer in require mode with a config the v2 peer cannot use -> libp2p 2 listener: EchRejectedError before message 3', async () => {
    const v3 = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const v2 = nodes.track(await createTestNodeV2())
    const remote = asV3(v2)
    const key = await generateEchKey()
    await v3.node.peerStore.merge(remote.peerId, { metadata: { [ECH_PEER_STORE_KEY]: key.configList } })
    const outcomes = collectEchEvents(v3.ech!)
    const echError = nextEchEvent(v3.ech!, 'ech:error')
    const listenerHandshake = nextHandshake(v2, { signal: AbortSignal.timeout(10_000) })

    const err = await v3.node.dial(remote.addr).then(
      () => { throw new Error('the dial should have failed') },
      (err: Error) => err
    )

    // the encrypter's own typed error, as secureOutbound threw it: no retry
    // record (stock noise 16 sends none), the responder already authenticated
    const { error } = await v3.nextFailure('outbound')
    expect(error.name).to.equal('EchRejectedError')
    expect(error.retryRecord).to.be.undefined()
    expect(error.remotePeer?.equals(remote.peerId)).to.be.true()
    const reported = await echError
    expect(reported).to.include({ direction: 'outbound', error: 'EchRejectedError' })
    expect(reported.remotePeer?.equals(remote.peerId)).to.be.true()
    // what the dial itself rejects with: libp2p 3's upgrader rethrows encrypter
    // failures as EncryptionFailedError, keeping only the message
    expect(err.name).to.equal('EncryptionFailedError')
    expect(err.message).to.include(error.message)
    // the refusal is recorded once, as a rejection carrying the error, so
    // downgrade detection sees it
    expect(outcomes).to.have.lengthOf(1)
    expect(outcomes[0]).to.include({ direction: 'outbound', outcome: 'rejected', reason: 'require-refused', retryConfigsLearned: false, error: 'EchRejectedError' })

    // before message 3: the v2 listener's handshake died waiting for message 3
    // (the dialer closed the socket; a message 3 that arrived but failed would
    // be an InvalidCryptoExchangeError), it never authenticated the dialer,
    // has no connection to it and never learned its peer id (message 3 carries it)
    const seen = await listenerHandshake
    expect(seen.direction).to.equal('inbound')
    expect(seen.remotePeer).to.be.undefined()
    expect(seen.error).to.be.a('string').and.not.equal('InvalidCryptoExchangeError')
    expect(v2.node.getConnections()).to.be.empty()
    const known = (await v2.node.peerStore.all()).map(p => p.id.toString())
    expect(known).to.not.include(v3.node.peerId.toString())
    expect(v3.node.getConnections()).to.be.empty()
    key.privateKey.destroy()
  })
})
