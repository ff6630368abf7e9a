/**
 * ECH outcomes between real TCP nodes: echNoise <-> echNoise, echNoise <->
 * stock noise() in both directions, and stale configs after key rotation
 * (retry configs, opportunistic and `require` initiator). Every connection
 * that comes up is checked with a ping and a 1 MiB echo, byte for byte.
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { ECH_PEER_STORE_KEY, generateEchKey, openSignedConfigRecord, parseEchConfigList } from '../../src/index.js'
import { CLOSED_ERRORS, assertWorks, collectEchEvents, nextEchEvent, openConnection, shareConfig, storedConfig, useNodes } from '../fixtures/nodes.js'
import { createCaptureProxy } from '../fixtures/proxy.js'
import { containsBytes, tcpPort } from '../fixtures/wire.js'
import type { EchRejectedError } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'

const APP_KEY = 'noise-ech-test/app'
const APP_VALUE = Uint8Array.from([1, 2, 3, 4])

/** Rotate the listener's ECH key (grace 0) and wait until the old key is gone */
async function rotateAndDropOldKey (listener: TestNode): Promise<number> {
  const ech = listener.ech!
  const oldIds = ech.keys.getKeys().map(k => k.config.configId)
  const expired = pEvent(ech.keys as unknown as EventTarget, 'ech:key-expired', { signal: AbortSignal.timeout(5000) })
  const key = await ech.keys.rotate()
  await expired
  const ids = ech.keys.getKeys().map(k => k.config.configId)
  expect(ids).to.deep.equal([key.config.configId])
  expect(oldIds).to.not.include(key.config.configId)
  return key.config.configId
}

function configIds (configList: Uint8Array): number[] {
  return parseEchConfigList(configList).usable.map(c => c.configId)
}

describe('interop: ECH outcomes over TCP', function () {
  this.timeout(20_000)

  const nodes = useNodes()

  it('echNoise <-> echNoise with a config: accepted on both sides', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'ech' })
    await shareConfig(a, b)
    const configId = b.ech!.keys.getKeys()[0].config.configId

    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const aOutcomes = collectEchEvents(a.ech!)
    const bOutcomes = collectEchEvents(b.ech!)
    const conn = await a.node.dial(b.addr)
    const [aInfo, bInfo] = await Promise.all([aAccepted, bAccepted])

    expect(conn.encryption).to.equal('/noise')
    expect(aInfo).to.include({ direction: 'outbound', outcome: 'accepted', configId })
    expect(aInfo.remotePeer?.equals(b.node.peerId)).to.be.true()
    expect(bInfo).to.include({ direction: 'inbound', outcome: 'accepted', configId })
    expect(bInfo.remotePeer?.equals(a.node.peerId)).to.be.true()

    await assertWorks(a, b, conn)

    // the per-connection record, looked up by the libp2p Connection on each side
    expect(a.ech!.getConnectionInfo(conn)).to.equal(aInfo)
    const bConn = openConnection(b, a.node.peerId)
    expect(b.ech!.getConnectionInfo(bConn)).to.equal(bInfo)
    expect(aOutcomes.map(i => i.outcome)).to.deep.equal(['accepted'])
    expect(bOutcomes.map(i => i.outcome)).to.deep.equal(['accepted'])
  })

  it('echNoise with a config -> stock noise() listener: works, rejected without retry configs on the dialer', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'stock' })
    // a config the stock listener cannot know about
    const key = await generateEchKey()
    await shareConfig(a, b, key.configList)

    const aRejected = nextEchEvent(a.ech!, 'ech:rejected')
    const conn = await a.node.dial(b.addr)
    const info = await aRejected
    expect(info).to.include({ direction: 'outbound', outcome: 'rejected', retryConfigsLearned: false })
    expect(info.remotePeer?.equals(b.node.peerId)).to.be.true()
    expect(a.ech!.getConnectionInfo(conn)).to.equal(info)

    await assertWorks(a, b, conn)
    // nothing learned: the application's config is still what is stored
    expect(await storedConfig(a, b.node.peerId)).to.equalBytes(key.configList)
    expect(b.failures).to.be.empty()
  })

  it('stock noise() dialer -> echNoise listener: works, not-offered on the listener', async () => {
    const a = await nodes.create({ encrypter: 'stock' })
    const b = await nodes.create({ encrypter: 'ech' })

    const bNotOffered = nextEchEvent(b.ech!, 'ech:not-offered')
    const conn = await a.node.dial(b.addr)
    const info = await bNotOffered
    expect(info).to.include({ direction: 'inbound', outcome: 'not-offered' })
    expect(info.remotePeer?.equals(a.node.peerId)).to.be.true()

    await assertWorks(a, b, conn)
    expect(b.ech!.getConnectionInfo(openConnection(b, a.node.peerId))).to.equal(info)
    expect(b.failures).to.be.empty()
  })

  it('echNoise without a config -> echNoise: stock fallback on the dialer, not-offered on the listener', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'ech' })

    const aOutcome = nextEchEvent(a.ech!)
    const bOutcome = nextEchEvent(b.ech!)
    const conn = await a.node.dial(b.addr)
    expect(await aOutcome).to.include({ direction: 'outbound', outcome: 'fallback', reason: 'no-config' })
    expect(await bOutcome).to.include({ direction: 'inbound', outcome: 'not-offered' })
    await assertWorks(a, b, conn)
  })

  it('stale config after key rotation: rejected with retry configs (merged into the peer store), then accepted', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'ech', ech: { keyManager: { gracePeriod: 0 } } })
    const staleList = await shareConfig(a, b)
    // other things the application keeps about this peer must survive the retry-config write
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [APP_KEY]: APP_VALUE }, tags: { 'noise-ech-test': { value: 42 } } })
    const newConfigId = await rotateAndDropOldKey(b)

    // first dial: offered with the stale config, rejected, retry configs learned
    const aFirst = nextEchEvent(a.ech!)
    const bFirst = nextEchEvent(b.ech!)
    const conn1 = await a.node.dial(b.addr)
    const [aInfo1, bInfo1] = await Promise.all([aFirst, bFirst])
    expect(aInfo1).to.include({ direction: 'outbound', outcome: 'rejected', retryConfigsLearned: true })
    expect(bInfo1).to.include({ direction: 'inbound', outcome: 'rejected' })
    expect(a.ech!.getConnectionInfo(conn1)).to.equal(aInfo1)
    await assertWorks(a, b, conn1)

    // the peer store now holds b's signed config record, written with merge
    const peer = await a.node.peerStore.get(b.node.peerId)
    const stored = peer.metadata.get(ECH_PEER_STORE_KEY)
    expect(stored).to.exist()
    expect(stored).to.not.equalBytes(staleList)
    expect(stored).to.equalBytes(await b.ech!.getSignedConfigRecord())
    expect(peer.metadata.get(APP_KEY)).to.equalBytes(APP_VALUE)
    expect(peer.tags.get('noise-ech-test')?.value).to.equal(42)

    // the next dial (a new connection) uses the retry configs
    await a.node.hangUp(b.node.peerId)
    const aSecond = nextEchEvent(a.ech!)
    const bSecond = nextEchEvent(b.ech!)
    const conn2 = await a.node.dial(b.addr, { force: true })
    expect(conn2.id).to.not.equal(conn1.id)
    const [aInfo2, bInfo2] = await Promise.all([aSecond, bSecond])
    expect(aInfo2).to.include({ direction: 'outbound', outcome: 'accepted', configId: newConfigId })
    expect(bInfo2).to.include({ direction: 'inbound', outcome: 'accepted', configId: newConfigId })
    expect(a.ech!.getConnectionInfo(conn2)).to.equal(aInfo2)
    await assertWorks(a, b, conn2)
  })

  it('require initiator vs opportunistic responder with a stale config: EchRejectedError with retry configs, stored, then accepted', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const b = await nodes.create({ encrypter: 'ech', ech: { keyManager: { gracePeriod: 0 } } })
    await shareConfig(a, b)
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [APP_KEY]: APP_VALUE } })
    const newConfigId = await rotateAndDropOldKey(b)
    const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr) }))

    const aRejected = nextEchEvent(a.ech!, 'ech:rejected')
    const aError = nextEchEvent(a.ech!, 'ech:error')
    await expect(a.node.dial(proxy.addr(b.node.peerId))).to.eventually.be.rejected()
      .with.property('name', 'EncryptionFailedError')

    const failure = await a.nextFailure('outbound')
    const err = failure.error as EchRejectedError
    expect(err).to.have.property('name', 'EchRejectedError')
    expect(err.retryRecord).to.be.an.instanceOf(Uint8Array)
    expect(err.retryRecord?.byteLength).to.be.greaterThan(0)
    expect(err.remotePeer?.equals(b.node.peerId)).to.be.true()
    expect(await aError).to.include({ direction: 'outbound', error: 'EchRejectedError' })
    expect(await aRejected).to.include({ direction: 'outbound', outcome: 'rejected', reason: 'require-refused' })

    // the retry configs were verified and merged; other metadata survives
    const peer = await a.node.peerStore.get(b.node.peerId)
    expect(peer.metadata.get(ECH_PEER_STORE_KEY)).to.equalBytes(err.retryRecord!)
    expect(peer.metadata.get(APP_KEY)).to.equalBytes(APP_VALUE)

    // on the wire: messages 1 and 2 only, and the initiator's identity never crossed
    await proxy.connections[0].closed
    expect(proxy.noiseMessages().map(f => f.message)).to.deep.equal([1, 2])
    const identity = a.node.peerId.publicKey!.raw
    for (const f of proxy.connections[0].frames.filter(f => f.from === 'dialer')) {
      expect(containsBytes(f.bytes, identity), 'initiator identity key on the wire').to.be.false()
    }
    // the responder's side failed too (no message 3), without an outcome
    const bFailure = await b.nextFailure('inbound')
    expect(CLOSED_ERRORS).to.include(bFailure.error.name)

    // the next dial uses the retry configs and is accepted
    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const conn = await a.node.dial(b.addr)
    expect(await aAccepted).to.include({ outcome: 'accepted', configId: newConfigId })
    expect(await bAccepted).to.include({ outcome: 'accepted', configId: newConfigId })
    await assertWorks(a, b, conn)
  })

  describe('retry configs stay current', () => {
    it('a signed config record cached for more than 48 h is not sent as retry configs', async () => {
      const a = await nodes.create({ encrypter: 'ech' })
      const b = await nodes.create({ encrypter: 'ech', ech: { keyManager: { gracePeriod: 0 } } })
      await shareConfig(a, b)
      await rotateAndDropOldKey(b)

      // b made its record 49 h ago (e.g. for an earlier retry) and has been up since
      const realNow = Date.now
      Date.now = () => realNow() - 49 * 60 * 60 * 1000
      let made: Promise<Uint8Array>
      try {
        made = b.ech!.getSignedConfigRecord()
      } finally {
        Date.now = realNow
      }
      await made

      const threats = collectEchEvents(a.ech!, 'ech:threat')
      const aOutcome = nextEchEvent(a.ech!)
      const conn = await a.node.dial(b.addr)
      const info = await aOutcome
      await assertWorks(a, b, conn)
      expect(info).to.include({ outcome: 'rejected' })
      // the retry configs b sends now must still be valid for a to use them
      expect(threats.map(t => t.error), 'threats the dialer raised over the retry configs').to.deep.equal([])
      expect(info.retryConfigsLearned).to.be.true()
      const record = await storedConfig(a, b.node.peerId)
      const opened = await openSignedConfigRecord(record!, b.node.peerId)
      expect(configIds(opened.configList)).to.deep.equal(configIds(b.ech!.getEchConfigList()))
    })

    it('retry configs list only live keys after a retired key expires', async () => {
      const a = await nodes.create({ encrypter: 'ech' })
      const b = await nodes.create({ encrypter: 'ech', ech: { keyManager: { gracePeriod: 0 } } })
      await shareConfig(a, b)
      const ech = b.ech!
      const expired = pEvent(ech.keys as unknown as EventTarget, 'ech:key-expired', { signal: AbortSignal.timeout(5000) })
      await ech.keys.rotate()
      // the record is asked for while the retired key is still live (e.g. a handshake in flight)
      const during = await ech.getSignedConfigRecord()
      expect(configIds((await openSignedConfigRecord(during, b.node.peerId)).configList)).to.deep.equal(configIds(ech.getEchConfigList()))
      await expired
      expect(ech.keys.getKeys()).to.have.lengthOf(1)

      const aOutcome = nextEchEvent(a.ech!)
      const conn = await a.node.dial(b.addr)
      expect(await aOutcome).to.include({ outcome: 'rejected', retryConfigsLearned: true })
      await assertWorks(a, b, conn)
      const opened = await openSignedConfigRecord((await storedConfig(a, b.node.peerId))!, b.node.peerId)
      // the retry configs must not advertise the key that was just dropped
      expect(configIds(opened.configList), 'config ids in the retry configs').to.deep.equal(configIds(ech.getEchConfigList()))
    })
  })
})
