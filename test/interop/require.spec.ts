/**
 * `require` mode refuses without revealing identities. A raw TCP capture
 * proxy between the nodes records which multistream-select lines and Noise
 * handshake messages crossed.
 */
import { expect } from 'aegir/chai'
import { generateEchKey } from '../../src/index.js'
import { CLOSED_ERRORS, assertWorks, collectEchEvents, nextEchEvent, shareConfig, useNodes } from '../fixtures/nodes.js'
import { createCaptureProxy } from '../fixtures/proxy.js'
import { containsBytes, tcpPort, topLevelFields } from '../fixtures/wire.js'
import type { EchRequiredError } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { CaptureProxy, CapturedFrame } from '../fixtures/proxy.js'

const decoder = new TextDecoder()

function multistreamLines (frames: CapturedFrame[], from: 'dialer' | 'listener'): string[] {
  return frames.filter(f => f.from === from && f.kind === 'multistream').map(f => decoder.decode(f.bytes))
}

describe('interop: require mode refuses without revealing identities', function () {
  this.timeout(20_000)

  const nodes = useNodes()

  it('require on both sides without a config: the dialer refuses before message 1, nothing identifying crosses', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const b = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr) }))
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

  /**
   * `a` dials the `require` listener `b` through a capture proxy: the dial
   * fails, `b` refuses with EchRequiredError (also as `ech:error`) before
   * message 2 and records no outcome, only message 1 crosses and it does not
   * hold `a`'s identity, and `a`'s handshake dies with the connection
   */
  async function refusedBeforeMessage2 (a: TestNode, b: TestNode): Promise<{ error: EchRequiredError, message1: Uint8Array, proxy: CaptureProxy, dialerError: any }> {
    const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr) }))
    const bError = nextEchEvent(b.ech!, 'ech:error')
    const bOutcomes = collectEchEvents(b.ech!)

    await expect(a.node.dial(proxy.addr(b.node.peerId))).to.eventually.be.rejected()
    expect(await bError).to.include({ direction: 'inbound', error: 'EchRequiredError' })
    const bFailure = await b.nextFailure('inbound')
    expect(bFailure.error).to.have.property('name', 'EchRequiredError')

    await proxy.connections[0].closed
    const messages = proxy.noiseMessages()
    expect(messages.map(f => f.message)).to.deep.equal([1])
    expect(containsBytes(messages[0].bytes, a.node.peerId.publicKey!.raw)).to.be.false()
    expect(bOutcomes).to.be.empty()
    // the dialer learnt nothing about the listener's identity
    const aFailure = await a.nextFailure('outbound')
    return { error: bFailure.error, message1: messages[0].bytes, proxy, dialerError: aFailure.error }
  }

  it('stock dialer -> require listener: only message 1 (no identity) crosses, the listener closes before message 2', async () => {
    const a = await nodes.create({ encrypter: 'stock' })
    const b = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const { error, message1, proxy, dialerError } = await refusedBeforeMessage2(a, b)
    expect(error.reason).to.be.a('string')
    // stock Noise: the stream closed under it
    expect(CLOSED_ERRORS).to.include(dialerError.name)
    // a stock message 1 is the 32-byte ephemeral key and an empty payload: no identity
    expect(message1.byteLength).to.equal(32)
    // the responder's identity never crossed either
    for (const f of proxy.connections[0].frames.filter(f => f.from === 'listener')) {
      expect(containsBytes(f.bytes, b.node.peerId.publicKey!.raw)).to.be.false()
    }
  })

  it('opportunistic echNoise dialer with a stale config -> require listener: closes before message 2', async () => {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    // a config of a key b does not have
    const stale = await generateEchKey()
    await shareConfig(a, b, stale.configList)
    const { error, message1, dialerError } = await refusedBeforeMessage2(a, b)
    expect(error).to.have.property('reason', 'unknown-config')
    // the dialer knows what happened: closed right after its outer hello, before any message 2 (not a
    // timeout, not a bare reset) - a require-mode responder that cannot open it, or a Noise that takes none
    expect(dialerError.name).to.equal('EchRefusedError')
    expect(CLOSED_ERRORS).to.include(dialerError.cause?.name)
    // message 1 = e || payload; the payload holds only the outer hello field (>= 1025)
    const fields = topLevelFields(message1.subarray(32))
    expect(fields).to.have.lengthOf(1)
    expect(fields[0]).to.be.at.least(1025)
  })

  it('require on both sides with a current config: accepted, works', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    const b = await nodes.create({ encrypter: 'ech', ech: { mode: 'require' } })
    await shareConfig(a, b, await b.ech!.getSignedConfigRecord())
    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const conn = await a.node.dial(b.addr)
    await Promise.all([aAccepted, bAccepted])
    await assertWorks(a, b, conn)
  })
})
