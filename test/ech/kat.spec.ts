import fs from 'node:fs'
import path from 'node:path'
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { expect } from 'aegir/chai'
import { createEchConfig } from '../../src/config/create.js'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { performInitiatorHandshake } from '../../src/ech/handshake.js'
import { extractOuterHello, decodeInnerHello, encodeOuterHello } from '../../src/ech/outer-hello.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { SymmetricState } from '../../src/noise/symmetric-state.js'
import { createNode, lp, offerTo, pair, runResponder, extensions, log } from './helpers.js'
import { allKats, KAT_FIXTURE } from './kat.js'

// read from the source tree: the build does not copy JSON into dist/
const fixture = JSON.parse(fs.readFileSync(KAT_FIXTURE, 'utf8'))

describe('known-answer vectors (test/fixtures/handshake-kat.json)', () => {
  for (const provider of [nodeProvider, nobleProvider]) {
    it(`reproduces every transcript byte for byte (${provider.name} provider)`, async () => {
      const kats: any = await allKats(provider)
      for (const name of Object.keys(fixture.cases)) {
        expect(kats.cases[name], name).to.deep.equal(fixture.cases[name])
      }
      expect(kats.inputs).to.deep.equal(fixture.inputs)
    })
  }

  it('pins the outcomes and the frame shapes', () => {
    const { plain, accepted, rejected, grease } = fixture.cases
    expect([plain.initiator_outcome, plain.responder_outcome]).to.deep.equal(['not-offered', 'not-offered'])
    expect([accepted.initiator_outcome, accepted.responder_outcome]).to.deep.equal(['accepted', 'accepted'])
    expect([rejected.initiator_outcome, rejected.responder_outcome]).to.deep.equal(['rejected', 'rejected'])
    expect([grease.initiator_outcome, grease.responder_outcome]).to.deep.equal(['grease', 'rejected'])
    expect(rejected.retry_record_received).to.equal(fixture.inputs.retry_record)
    expect(grease.retry_record_received).to.equal(undefined)
    // a real offer and GREASE have the same message-1 size
    expect(accepted.message1.length).to.equal(grease.message1.length)
    // GREASE names the suite of an offer to a default key, and its enc is an X25519 public key (PROTOCOL §4.7)
    const greaseHello = extractOuterHello(Uint8Array.from(Buffer.from(grease.message1, 'hex')))
    expect([greaseHello?.kdfId, greaseHello?.aeadId]).to.deep.equal([1, 1])
    expect((greaseHello?.enc[31] ?? 0x80) & 0x80).to.equal(0)
    expect(plain.message1.length).to.equal(64)
    // the psk changes everything from message 2 on: same e, different encrypted s
    expect(accepted.message2.slice(0, 64)).to.equal(rejected.message2.slice(0, 64))
    expect(accepted.message2.slice(64, 160)).to.not.equal(rejected.message2.slice(64, 160))
  })
})

describe('docs/PROTOCOL.md §9 quotes the fixture', () => {
  const doc = fs.readFileSync(path.resolve(process.cwd(), 'docs/PROTOCOL.md'), 'utf8')
  const section = doc.slice(doc.indexOf('## 9. Known-answer vectors'))
  // the doc wraps and groups hex; without whitespace each quoted value is one run
  const compact = section.replace(/\s+/g, '')

  it('final h of every case; psk, keys, messages 2 and 3 of the accepted case; GREASE message 1', () => {
    expect(section.length).to.be.greaterThan(0)
    for (const [name, c] of Object.entries<any>(fixture.cases)) {
      expect(section, `${name}: final h`).to.include(c.handshake_hash)
    }
    const { accepted, plain, grease } = fixture.cases
    for (const value of [accepted.psk, accepted.k1_initiator_to_responder, accepted.k2_responder_to_initiator, plain.k1_initiator_to_responder, plain.k2_responder_to_initiator]) {
      expect(section).to.include(value)
    }
    expect(compact, 'accepted: message 2').to.include(accepted.message2)
    expect(compact, 'accepted: message 3').to.include(accepted.message3)
    expect(compact, 'GREASE: message 1').to.include(grease.message1)
  })
})

describe('independent HPKE cross-check (@hpke/core)', () => {
  it('@hpke/core opens our outer hello and exports the same psk', async () => {
    const bob = await createNode()
    const alice = await createNode()
    const echKey = dhkemX25519.generateKeyPair(nodeProvider)
    const config = createEchConfig({ configId: 3, kemId: 0x20, publicKey: echKey.publicKey, cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'ech.example' })
    const psks: Uint8Array[] = []
    const mix = SymmetricState.prototype.mixKeyAndHash
    SymmetricState.prototype.mixKeyAndHash = function (ikm) { psks.push(Uint8Array.from(ikm)); mix.call(this, ikm) }
    const frames: Uint8Array[] = []
    try {
      const [a, b] = pair()
      const connection = lp(a)
      const write = connection.write.bind(connection)
      connection.write = async (data, options) => { frames.push(Uint8Array.from(data.subarray())); return write(data, options) }
      const [i] = await Promise.all([
        performInitiatorHandshake({ connection, provider: nodeProvider, privateKey: alice.privateKey, staticKey: alice.staticKey, extensions, log, ech: offerTo(config, bob.peerId) }),
        runResponder(b, bob, { keys: [{ config, privateKey: echKey }] })
      ])
      expect(i.ech).to.equal('accepted')
    } finally {
      SymmetricState.prototype.mixKeyAndHash = mix
    }
    const hello = extractOuterHello(frames[0])
    if (hello == null) { throw new Error('no outer hello') }
    const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() })
    const recipientKey = await suite.kem.importKey('raw', Uint8Array.from(echKey.exportSecret()).buffer, false)
    const info = new Uint8Array([...new TextEncoder().encode('libp2p-noise-ech v1'), 0, ...config.raw])
    const recipient = await suite.createRecipientContext({ recipientKey, enc: hello.enc, info })
    const aad = new Uint8Array([...frames[0].subarray(0, 32), ...encodeOuterHello(hello, true)])
    const inner = decodeInnerHello(new Uint8Array(await recipient.open(hello.payload, aad)))
    expect(inner.targetPeer).to.deep.equal(bob.peerId.toMultihash().bytes)
    const psk = new Uint8Array(await recipient.export(new TextEncoder().encode('libp2p-noise-ech psk'), 32))
    expect(psks[0]).to.deep.equal(psk)
  })
})
