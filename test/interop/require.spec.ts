/**
 * `require` mode refuses without revealing identities. A raw TCP capture
 * proxy between the nodes records which multistream-select lines and Noise
 * handshake messages crossed.
 */
import { expect } from 'aegir/chai'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { CLOSED_ERRORS, assertWorks, collectEchEvents, createTestNode, nextEchEvent, stopAll, trapUnhandled } from '../fixtures/nodes.js'
import { containsBytes, createCaptureProxy, tcpPort, topLevelFields } from '../fixtures/proxy.js'
import type { EchHandshakeError, EchRequiredError } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { CaptureProxy, CapturedFrame } from '../fixtures/proxy.js'

const decoder = new TextDecoder()

function multistreamLines (frames: CapturedFrame[], from: 'dialer' | 'listener'): string[] {
  return frames.filter(f => f.from === from && f.kind === 'multistream').map(f => decoder.decode(f.bytes))
}

describe('interop: require mode refuses without revealing identities', function () {
  this.timeout(20_000)
  trapUnhandled()

  let a: TestNode | undefined
  let b: TestNode | undefined
  let proxy: CaptureProxy | undefined

  afterEach(async () => {
    await proxy?.close()
    await stopAll(a, b)
    a = b = proxy = undefined
  })

  it('require on both sides without a config: the dialer refuses before message 1, nothing identifying crosses', async () => {
    a = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    b = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    proxy = await createCaptureProxy({ target: tcpPort(b.addr) })
    const aOutcomes = collectEchEvents(a.ech!)
    const bOutcomes = collectEchEvents(b.ech!)

    await expect(a.node.dial(proxy.addr(b.node.peerId))).to.eventually.be.rejected()
      .with.property('name', 'EncryptionFailedError')
    const failure = await a.nextFailure('outbound')
    expect(failure.error).to.have.property('name', 'EchRequiredError')

    // the dialer aborted the connection: the proxy saw it close
    await proxy.connections[0].closed
    const frames = proxy.connections[0].frames
    // multistream-select ran, then no Noise frame at all from either side
    expect(multistreamLines(frames, 'dialer')).to.deep.equal(['/multistream/1.0.0\n', '/noise\n'])
    expect(frames.filter(f => f.kind === 'noise')).to.be.empty()
    expect(aOutcomes).to.be.empty()
    expect(bOutcomes).to.be.empty()
    // the listener's handshake ended (the stream closed under it), and it sent nothing
    const bFailure = await b.nextFailure('inbound')
    expect(CLOSED_ERRORS).to.include(bFailure.error.name)
  })

  it('stock dialer -> require listener: only message 1 (no identity) crosses, the listener closes before message 2', async () => {
    a = await createTestNode({ encrypter: 'stock' })
    b = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    proxy = await createCaptureProxy({ target: tcpPort(b.addr) })
    const bError = nextEchEvent<EchHandshakeError>(b.ech!, 'ech:error')
    const bOutcomes = collectEchEvents(b.ech!)

    await expect(a.node.dial(proxy.addr(b.node.peerId))).to.eventually.be.rejected()
    expect(await bError).to.include({ direction: 'inbound', error: 'EchRequiredError' })
    const bFailure = await b.nextFailure('inbound')
    expect(bFailure.error).to.have.property('name', 'EchRequiredError')
    expect((bFailure.error as EchRequiredError).reason).to.be.a('string')

    await proxy.connections[0].closed
    const messages = proxy.noiseMessages()
    expect(messages.map(f => f.message)).to.deep.equal([1])
    // a stock message 1 is the 32-byte ephemeral key and an empty payload: no identity
    expect(messages[0].bytes.byteLength).to.equal(32)
    expect(containsBytes(messages[0].bytes, a.node.peerId.publicKey!.raw)).to.be.false()
    // the responder's identity never crossed either
    for (const f of proxy.connections[0].frames.filter(f => f.from === 'listener')) {
      expect(containsBytes(f.bytes, b.node.peerId.publicKey!.raw)).to.be.false()
    }
    expect(bOutcomes).to.be.empty()
    // the dialer learnt nothing about the listener's identity
    const aFailure = await a.nextFailure('outbound')
    expect(CLOSED_ERRORS).to.include(aFailure.error.name)
  })

  it('opportunistic echNoise dialer with a stale config -> require listener: closes before message 2', async () => {
    a = await createTestNode({ encrypter: 'ech' })
    b = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    // a config of a key b does not have
    const stale = await generateEchKey()
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: stale.configList } })
    proxy = await createCaptureProxy({ target: tcpPort(b.addr) })
    const bError = nextEchEvent<EchHandshakeError>(b.ech!, 'ech:error')
    const bOutcomes = collectEchEvents(b.ech!)
    const started = Date.now()

    await expect(a.node.dial(proxy.addr(b.node.peerId))).to.eventually.be.rejected()
    // refused promptly, not by a timeout
    expect(Date.now() - started).to.be.lessThan(2000)
    expect(await bError).to.include({ direction: 'inbound', error: 'EchRequiredError' })
    const bFailure = await b.nextFailure('inbound')
    expect(bFailure.error).to.have.property('name', 'EchRequiredError')
    expect(bFailure.error).to.have.property('reason', 'unknown-config')

    await proxy.connections[0].closed
    const messages = proxy.noiseMessages()
    expect(messages.map(f => f.message)).to.deep.equal([1])
    // message 1 = e || payload; the payload holds only the outer hello field (>= 1025)
    const fields = topLevelFields(messages[0].bytes.subarray(32))
    expect(fields).to.have.lengthOf(1)
    expect(fields[0]).to.be.at.least(1025)
    expect(containsBytes(messages[0].bytes, a.node.peerId.publicKey!.raw)).to.be.false()
    expect(bOutcomes).to.be.empty()
    const aFailure = await a.nextFailure('outbound')
    expect(CLOSED_ERRORS).to.include(aFailure.error.name)
  })

  it('require on both sides with a current config: accepted, works', async () => {
    a = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    b = await createTestNode({ encrypter: 'ech', ech: { mode: 'require' } })
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: await b.ech!.getSignedConfigRecord() } })
    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const conn = await a.node.dial(b.addr)
    await Promise.all([aAccepted, bAccepted])
    await assertWorks(a, b, conn)
  })
})
