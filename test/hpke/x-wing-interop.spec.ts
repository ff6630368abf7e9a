/**
 * X-Wing interop with hpke-js: `@hpke/hybridkem-x-wing` (its own ML-KEM from
 * the `mlkem` package, not noble's) in an `@hpke/core` CipherSuite with
 * HKDF-SHA256 and AES-128-GCM or ChaCha20-Poly1305 (`@hpke/chacha20poly1305`).
 * Ours seals and theirs opens, theirs seals and ours opens, exports match,
 * DeriveKeyPair agrees, and a fixed eseed gives byte-identical enc and
 * ciphertexts - on both providers.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import { Aes128Gcm, CipherSuite, HkdfSha256 } from '@hpke/core'
import { XWing } from '@hpke/hybridkem-x-wing'
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { setupBaseR, setupBaseS } from '../../src/hpke/hpke.js'
import { xwing, xwingEncapsulationSeed } from '../../src/hpke/kems/x-wing.js'
import { loadKem } from '../../src/hpke/registry.js'
import type { AeadInterface } from '@hpke/core'

const toHex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex')
const random = (n: number): Uint8Array => nodeProvider.randomBytes(n)

const suites = [
  { name: 'AES-128-GCM', aeadId: 0x0001, aead: (): AeadInterface => new Aes128Gcm() },
  { name: 'ChaCha20-Poly1305', aeadId: 0x0003, aead: (): AeadInterface => new Chacha20Poly1305() }
]

const info = Uint8Array.from([...new TextEncoder().encode('libp2p-noise-ech v1'), 0, ...random(64)])
const aad = new TextEncoder().encode('outer hello')
const exporterContext = new TextEncoder().encode('libp2p-noise-ech psk')
const messages = [random(64), new Uint8Array(0), random(300)]

describe('hpke X-Wing interop with @hpke/hybridkem-x-wing', () => {
  // setupBaseS/R find X-Wing through the registry, which imports it on first use
  before(async () => {
    await loadKem('x-wing')
  })

  for (const provider of [nodeProvider, nobleProvider]) {
    for (const s of suites) {
      describe(`${provider.name} provider, ${s.name}`, () => {
        const ours = { kemId: 0x647a, kdfId: 0x0001, aeadId: s.aeadId }
        const theirs = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: s.aead() })

        it('ours seals, theirs opens; exports match', async () => {
          const rkp = await theirs.kem.generateKeyPair()
          const pkR = new Uint8Array(await theirs.kem.serializePublicKey(rkp.publicKey))
          const { enc, context } = setupBaseS(provider, ours, xwing.importPublicKey(provider, pkR), info)
          expect(enc).to.have.lengthOf(1120)
          const recipient = await theirs.createRecipientContext({ recipientKey: rkp, enc, info })
          for (const pt of messages) {
            const ct = context.seal(aad, pt)
            expect(toHex(await recipient.open(ct, aad))).to.equal(toHex(pt))
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(await recipient.export(exporterContext, 32)))
        })

        it('theirs seals, ours opens; exports match', async () => {
          const skR = xwing.generateKeyPair(provider)
          const pkR = await theirs.kem.deserializePublicKey(skR.publicKey)
          const sender = await theirs.createSenderContext({ recipientPublicKey: pkR, info })
          const context = setupBaseR(provider, ours, new Uint8Array(sender.enc), skR, info)
          for (const pt of messages) {
            const ct = new Uint8Array(await sender.seal(pt, aad))
            expect(toHex(context.open(aad, ct))).to.equal(toHex(pt))
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(await sender.export(exporterContext, 32)))
        })

        it('our private key opens for theirs after a serialize round trip (Nsk = 32-byte seed)', async () => {
          const skR = xwing.generateKeyPair(provider)
          const theirKey = await theirs.kem.deserializePrivateKey(skR.exportSecret())
          const { enc, context } = setupBaseS(provider, ours, xwing.importPublicKey(provider, skR.publicKey), info)
          const recipient = await theirs.createRecipientContext({ recipientKey: theirKey, enc, info })
          expect(toHex(await recipient.open(context.seal(aad, messages[0]), aad))).to.equal(toHex(messages[0]))
        })

        it('DeriveKeyPair matches theirs', async () => {
          const ikm = random(32)
          const rkp = await theirs.kem.deriveKeyPair(ikm)
          const sk = xwing.deriveKeyPair(provider, ikm)
          expect(toHex(sk.exportSecret())).to.equal(toHex(await theirs.kem.serializePrivateKey(rkp.privateKey)))
          expect(toHex(sk.publicKey)).to.equal(toHex(await theirs.kem.serializePublicKey(rkp.publicKey)))
        })

        it('the same eseed gives the same enc, ciphertexts and export', async () => {
          const eseed = random(64)
          const skR = xwing.generateKeyPair(provider)
          const pkR = await theirs.kem.deserializePublicKey(skR.publicKey)
          const sender = await theirs.createSenderContext({ recipientPublicKey: pkR, info, ekm: eseed })
          const { enc, context } = setupBaseS(provider, ours, xwing.importPublicKey(provider, skR.publicKey), info, { ephemeral: xwingEncapsulationSeed(eseed) })
          expect(toHex(enc)).to.equal(toHex(new Uint8Array(sender.enc)))
          for (const pt of messages) {
            expect(toHex(context.seal(aad, pt))).to.equal(toHex(await sender.seal(pt, aad)))
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(await sender.export(exporterContext, 32)))
        })
      })
    }
  }
})
