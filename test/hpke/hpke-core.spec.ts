/**
 * Interop with hpke-js (`@hpke/core`): ours seals and theirs opens, theirs
 * seals and ours opens, and both export the same secret, for every suite we
 * implement and both providers.
 *
 * `@hpke/core` ships no ChaCha20-Poly1305, so suite 0x0003 uses the
 * `Chacha20Poly1305` from `@hpke/chacha20poly1305`: their AEAD, not ours.
 */
import crypto from 'node:crypto'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, ExportOnly, HkdfSha256 } from '@hpke/core'
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { setupBaseR, setupBaseS } from '../../src/hpke/hpke.js'
import { getKem } from '../../src/hpke/registry.js'
import type { AeadInterface } from '@hpke/core'

const toHex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex')

const suites = [
  { name: 'AES-128-GCM', aeadId: 0x0001, aead: (): AeadInterface => new Aes128Gcm() },
  { name: 'ChaCha20-Poly1305', aeadId: 0x0003, aead: (): AeadInterface => new Chacha20Poly1305() },
  { name: 'export-only', aeadId: 0xffff, aead: (): AeadInterface => new ExportOnly() }
]

const info = Uint8Array.from(Buffer.concat([Buffer.from('libp2p-noise-ech v1'), Buffer.of(0), crypto.randomBytes(64)]))
const aad = Uint8Array.from(Buffer.from('outer hello'))
const exporterContext = Uint8Array.from(Buffer.from('libp2p-noise-ech psk'))
const messages = [crypto.randomBytes(64), crypto.randomBytes(0), crypto.randomBytes(300)].map(b => Uint8Array.from(b))

describe('hpke interop with @hpke/core', () => {
  const kem = getKem(0x0020)
  if (kem == null) { throw new Error('DHKEM(X25519) is not registered') }

  for (const provider of [nodeProvider, nobleProvider]) {
    for (const s of suites) {
      describe(`${provider.name} provider, ${s.name}`, () => {
        const ours = { kemId: 0x0020, kdfId: 0x0001, aeadId: s.aeadId }
        const theirs = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: s.aead() })
        const canSeal = s.aeadId !== 0xffff

        it('ours seals, theirs opens; exports match', async () => {
          const rkp = await theirs.kem.generateKeyPair()
          const pkR = new Uint8Array(await theirs.kem.serializePublicKey(rkp.publicKey))
          const { enc, context } = setupBaseS(provider, ours, kem.importPublicKey(provider, pkR), info)
          const recipient = await theirs.createRecipientContext({ recipientKey: rkp, enc, info })
          if (canSeal) {
            for (const pt of messages) {
              const ct = context.seal(aad, pt)
              expect(toHex(await recipient.open(ct, aad))).to.equal(toHex(pt))
            }
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(await recipient.export(exporterContext, 32)))
        })

        it('theirs seals, ours opens; exports match', async () => {
          const skR = kem.generateKeyPair(provider)
          const pkR = await theirs.kem.deserializePublicKey(skR.publicKey)
          const sender = await theirs.createSenderContext({ recipientPublicKey: pkR, info })
          const context = setupBaseR(provider, ours, new Uint8Array(sender.enc), skR, info)
          if (canSeal) {
            for (const pt of messages) {
              const ct = new Uint8Array(await sender.seal(pt, aad))
              expect(toHex(context.open(aad, ct))).to.equal(toHex(pt))
            }
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(await sender.export(exporterContext, 32)))
        })

        it('same ephemeral and recipient keys give the same enc and ciphertext', async () => {
          const ikmE = crypto.randomBytes(32)
          const skR = kem.generateKeyPair(provider)
          const pkR = await theirs.kem.deserializePublicKey(skR.publicKey)
          const sender = await theirs.createSenderContext({ recipientPublicKey: pkR, info, ekm: await theirs.kem.deriveKeyPair(ikmE) })
          const { enc, context } = setupBaseS(provider, ours, kem.importPublicKey(provider, skR.publicKey), info, { ephemeral: kem.deriveKeyPair(provider, Uint8Array.from(ikmE)) })
          expect(toHex(enc)).to.equal(toHex(new Uint8Array(sender.enc)))
          if (canSeal) {
            expect(toHex(context.seal(aad, messages[0]))).to.equal(toHex(await sender.seal(messages[0], aad)))
          }
          expect(toHex(context.export(new Uint8Array(0), 64))).to.equal(toHex(await sender.export(new Uint8Array(0), 64)))
        })
      })
    }
  }
})
