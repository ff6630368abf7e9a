/**
 * RFC 9180 Appendix A known-answer tests (the CFRG JSON vectors, commit
 * 5f503c5), every base-mode DHKEM(X25519, HKDF-SHA256) vector, on both
 * providers: DeriveKeyPair, Encap/Decap, every key-schedule value, every
 * encryption step (Seal and Open) and every export.
 */
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { setupBaseR, setupBaseS } from '../../src/hpke/hpke.js'
import { keySchedule, resolveSuite } from '../../src/hpke/key-schedule.js'
import { getKem } from '../../src/hpke/registry.js'
import { baseModeX25519Vectors, hpkeVectors } from '../fixtures/vectors.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// Only mode_base (0x00) with KEM 0x0020 is implemented: the file also holds
// PSK/auth modes (1-3) and DHKEM(P-256) (0x0010), which are filtered out.
// All three AEADs are kept: AES-128-GCM, ChaCha20-Poly1305 and export-only.
const all = hpkeVectors()
const vectors = baseModeX25519Vectors()

describe('hpke RFC 9180 vectors', () => {
  it('runs exactly the three base-mode X25519 vectors (AES-128-GCM, ChaCha20-Poly1305, export-only)', () => {
    expect(all).to.have.lengthOf(24)
    expect(vectors.map(v => v.aead_id)).to.have.members([0x0001, 0x0003, 0xffff])
  })

  for (const provider of [nodeProvider, nobleProvider]) {
    describe(`${provider.name} provider`, () => {
      const kem = getKem(0x0020)
      if (kem == null) { throw new Error('DHKEM(X25519) is not registered') }

      for (const v of vectors) {
        const suite = { kemId: v.kem_id, kdfId: v.kdf_id, aeadId: v.aead_id }

        describe(`aead 0x${v.aead_id.toString(16)}`, () => {
          it('DeriveKeyPair gives skEm/pkEm/skRm/pkRm', () => {
            const e = kem.deriveKeyPair(provider, hex(v.ikmE))
            const r = kem.deriveKeyPair(provider, hex(v.ikmR))
            expect(toHex(e.exportSecret())).to.equal(v.skEm)
            expect(toHex(e.publicKey)).to.equal(v.pkEm)
            expect(toHex(r.exportSecret())).to.equal(v.skRm)
            expect(toHex(r.publicKey)).to.equal(v.pkRm)
          })

          it('Encap/Decap give enc and shared_secret; imported keys match', () => {
            const skE = kem.importPrivateKey(provider, hex(v.skEm))
            const skR = kem.importPrivateKey(provider, hex(v.skRm))
            expect(toHex(skR.publicKey)).to.equal(v.pkRm)
            const { enc, sharedSecret } = kem.encap(provider, kem.importPublicKey(provider, hex(v.pkRm)), skE)
            expect(toHex(enc)).to.equal(v.enc)
            expect(toHex(sharedSecret)).to.equal(v.shared_secret)
            expect(toHex(kem.decap(provider, hex(v.enc), skR))).to.equal(v.shared_secret)
          })

          it('key schedule gives key_schedule_context, secret, key, base_nonce, exporter_secret', () => {
            const ks = keySchedule(provider, resolveSuite(provider, suite), hex(v.shared_secret), hex(v.info))
            expect(toHex(ks.keyScheduleContext)).to.equal(v.key_schedule_context)
            expect(toHex(ks.secret)).to.equal(v.secret)
            expect(toHex(ks.key)).to.equal(v.key)
            expect(toHex(ks.baseNonce)).to.equal(v.base_nonce)
            expect(toHex(ks.exporterSecret)).to.equal(v.exporter_secret)
          })

          it(`every encryption (${v.encryptions.length}) and export (${v.exports.length}) step`, () => {
            const skE = kem.deriveKeyPair(provider, hex(v.ikmE))
            const skR = kem.deriveKeyPair(provider, hex(v.ikmR))
            const { enc, context: sender } = setupBaseS(provider, suite, kem.importPublicKey(provider, skR.publicKey), hex(v.info), { ephemeral: skE })
            expect(toHex(enc)).to.equal(v.enc)
            const recipient = setupBaseR(provider, suite, enc, skR, hex(v.info))

            for (const [seq, step] of v.encryptions.entries()) {
              const ct = sender.seal(hex(step.aad), hex(step.pt))
              expect(toHex(ct), `seal seq ${seq}`).to.equal(step.ct)
              const pt = recipient.open(hex(step.aad), hex(step.ct))
              expect(toHex(pt), `open seq ${seq}`).to.equal(step.pt)
            }

            for (const ex of v.exports) {
              const ctx = hex(ex.exporter_context)
              expect(toHex(sender.export(ctx, ex.L)), `sender export ${ex.exporter_context}`).to.equal(ex.exported_value)
              expect(toHex(recipient.export(ctx, ex.L)), `recipient export ${ex.exporter_context}`).to.equal(ex.exported_value)
            }
          })
        })
      }
    })
  }
})
