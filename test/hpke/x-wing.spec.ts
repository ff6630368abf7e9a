/**
 * X-Wing (HPKE KEM 0x647a, draft-connolly-cfrg-xwing-kem-06): the draft's
 * test vectors (test/fixtures/xwing-vectors.json, provenance inside), the
 * construction checked against `@noble/post-quantum`'s `ml_kem768_x25519`,
 * HPKE base mode round trips, and the failure paths with their typed errors.
 * Interop with `@hpke/hybridkem-x-wing` is in xwing-interop.spec.ts.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { shake256 } from '@noble/hashes/sha3.js'
import { ml_kem768_x25519 as nobleXWing } from '@noble/post-quantum/hybrid.js'
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { setupBaseR, setupBaseS } from '../../src/hpke/hpke.js'
import { KEM_ID } from '../../src/hpke/kem.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { encapDerand, xwing, xwingEncapsulationSeed } from '../../src/hpke/kems/x-wing.js'
import { getKem, getKemByName, importKem, supportedKems } from '../../src/hpke/registry.js'
import { thrown } from '../fixtures/errors.js'
import type { CryptoProvider } from '../../src/crypto/provider.js'

interface Vector { seed: string, sk: string, pk: string, eseed: string, ct: string, ss: string }
const FIXTURE = JSON.parse(readFileSync(path.resolve(process.cwd(), 'test/fixtures/xwing-vectors.json'), 'utf8')) as { vectors: Vector[] }

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const AES = { kemId: 0x647a, kdfId: 0x0001, aeadId: 0x0001 }
const CHACHA = { kemId: 0x647a, kdfId: 0x0001, aeadId: 0x0003 }
const info = new TextEncoder().encode('libp2p-noise-ech v1\0config')
const aad = Uint8Array.of(1, 2, 3)
const exporterContext = new TextEncoder().encode('libp2p-noise-ech psk')

function expectError (fn: () => unknown, name: string): Error {
  const err = thrown(fn)
  expect(err.name).to.equal(name, err.message)
  return err
}

function randomBytes (n: number): Uint8Array {
  return nodeProvider.randomBytes(n)
}

describe('hpke X-Wing (0x647a)', () => {
  // the registry imports X-Wing on first use (hpke/registry.ts); test/hpke/lazy-kem.spec.ts covers before it
  before(async () => {
    expect(await importKem('x-wing')).to.equal(xwing)
  })

  it('has the draft sizes and is registered by id and name', () => {
    expect(xwing).to.include({ id: 0x647a, name: 'x-wing', publicKeyLength: 1216, encLength: 1120, privateKeyLength: 32, sharedSecretLength: 32 })
    expect(KEM_ID.X_WING).to.equal(xwing.id)
    expect(getKem(0x647a)).to.equal(xwing)
    expect(getKemByName('x-wing')).to.equal(xwing)
    expect(supportedKems()).to.include(xwing)
  })

  it('the fixture holds the three draft vectors at their sizes', () => {
    expect(FIXTURE.vectors).to.have.lengthOf(3)
    for (const v of FIXTURE.vectors) {
      expect([v.seed, v.sk, v.pk, v.eseed, v.ct, v.ss].map(h => h.length / 2)).to.deep.equal([32, 32, 1216, 64, 1120, 32])
    }
  })

  it('@noble/post-quantum ml_kem768_x25519 reproduces the draft vectors (it is X-Wing)', () => {
    for (const v of FIXTURE.vectors) {
      const kp = nobleXWing.keygen(bytes(v.seed))
      expect(toHex(kp.publicKey)).to.equal(v.pk)
      expect(toHex(kp.secretKey)).to.equal(v.sk)
      const e = nobleXWing.encapsulate(bytes(v.pk), bytes(v.eseed))
      expect(toHex(e.cipherText)).to.equal(v.ct)
      expect(toHex(e.sharedSecret)).to.equal(v.ss)
      expect(toHex(nobleXWing.decapsulate(bytes(v.ct), bytes(v.sk)))).to.equal(v.ss)
    }
  })

  for (const provider of [nodeProvider, nobleProvider]) {
    describe(`${provider.name} provider`, () => {
      describe('draft vectors', () => {
        for (const [i, v] of FIXTURE.vectors.entries()) {
          it(`vector ${i}: keygen from seed, encap with eseed, decap`, () => {
            const sk = xwing.importPrivateKey(provider, bytes(v.seed))
            expect(toHex(sk.publicKey)).to.equal(v.pk)
            expect(toHex(sk.exportSecret())).to.equal(v.sk)
            expect(sk.kemId).to.equal(0x647a)

            const pk = xwing.importPublicKey(provider, bytes(v.pk))
            expect(toHex(pk.bytes)).to.equal(v.pk)
            const derand = encapDerand(provider, pk, bytes(v.eseed))
            expect(toHex(derand.enc)).to.equal(v.ct)
            expect(toHex(derand.sharedSecret)).to.equal(v.ss)

            // the same through encap's ephemeral (what setupBaseS passes down)
            const seeded = xwing.encap(provider, pk, xwingEncapsulationSeed(bytes(v.eseed)))
            expect(toHex(seeded.enc)).to.equal(v.ct)
            expect(toHex(seeded.sharedSecret)).to.equal(v.ss)

            expect(toHex(xwing.decap(provider, bytes(v.ct), sk))).to.equal(v.ss)
            sk.destroy()
          })
        }
      })

      it('agrees with noble ml_kem768_x25519 on random seeds and eseeds', () => {
        for (let i = 0; i < 4; i++) {
          const seed = randomBytes(32)
          const eseed = randomBytes(64)
          const sk = xwing.importPrivateKey(provider, seed)
          const reference = nobleXWing.keygen(seed)
          expect(toHex(sk.publicKey)).to.equal(toHex(reference.publicKey))
          const ours = encapDerand(provider, xwing.importPublicKey(provider, sk.publicKey), eseed)
          const theirs = nobleXWing.encapsulate(reference.publicKey, eseed)
          expect(toHex(ours.enc)).to.equal(toHex(theirs.cipherText))
          expect(toHex(ours.sharedSecret)).to.equal(toHex(theirs.sharedSecret))
          // a ciphertext from a random eseed decapsulates the same on both
          const fresh = nobleXWing.encapsulate(reference.publicKey)
          expect(toHex(xwing.decap(provider, fresh.cipherText, sk))).to.equal(toHex(fresh.sharedSecret))
        }
      })

      it('generateKeyPair / encap / decap round-trip with fresh randomness', () => {
        const sk = xwing.generateKeyPair(provider)
        expect(sk.publicKey).to.have.lengthOf(1216)
        const seed = sk.exportSecret()
        expect(seed).to.have.lengthOf(32)
        // the exported seed is a copy and rebuilds the same key
        expect(toHex(xwing.importPrivateKey(provider, seed).publicKey)).to.equal(toHex(sk.publicKey))
        seed.fill(0)
        expect(toHex(sk.exportSecret())).to.not.equal(toHex(seed))

        const pk = xwing.importPublicKey(provider, sk.publicKey)
        const a = xwing.encap(provider, pk)
        const b = xwing.encap(provider, pk)
        expect(a.enc).to.have.lengthOf(1120)
        expect(a.sharedSecret).to.have.lengthOf(32)
        expect(toHex(a.enc)).to.not.equal(toHex(b.enc))
        expect(toHex(xwing.decap(provider, a.enc, sk))).to.equal(toHex(a.sharedSecret))
        expect(toHex(xwing.decap(provider, b.enc, sk))).to.equal(toHex(b.sharedSecret))
        // the caller's public key bytes are copied on import
        const raw = Uint8Array.from(sk.publicKey)
        const imported = xwing.importPublicKey(provider, raw)
        raw.fill(0)
        expect(toHex(imported.bytes)).to.equal(toHex(sk.publicKey))
      })

      it('deriveKeyPair is GenerateKeyPairDerand(SHAKE256(ikm, 32)) (draft §5.6)', () => {
        for (const length of [32, 33, 64]) {
          const ikm = randomBytes(length)
          const sk = xwing.deriveKeyPair(provider, ikm)
          const seed = shake256(ikm, { dkLen: 32 })
          expect(toHex(sk.exportSecret())).to.equal(toHex(seed))
          expect(toHex(sk.publicKey)).to.equal(toHex(nobleXWing.keygen(seed).publicKey))
          expect(toHex(xwing.deriveKeyPair(provider, ikm).publicKey)).to.equal(toHex(sk.publicKey))
        }
        expectError(() => xwing.deriveKeyPair(provider, new Uint8Array(31)), 'HpkeInvalidInputError')
        expectError(() => xwing.deriveKeyPair(provider, 'ikm' as any), 'HpkeInvalidInputError')
      })

      for (const [name, suite] of [['AES-128-GCM', AES], ['ChaCha20-Poly1305', CHACHA]] as const) {
        it(`HPKE base mode, ${name}: seal / open / export round trip`, () => {
          const skR = xwing.generateKeyPair(provider)
          const { enc, context } = setupBaseS(provider, suite, xwing.importPublicKey(provider, skR.publicKey), info)
          expect(enc).to.have.lengthOf(1120)
          const recipient = setupBaseR(provider, suite, enc, skR, info)
          for (const pt of [new Uint8Array(0), randomBytes(64), randomBytes(1000)]) {
            const ct = context.seal(aad, pt)
            expect(toHex(recipient.open(aad, ct))).to.equal(toHex(pt))
          }
          expect(toHex(context.export(exporterContext, 32))).to.equal(toHex(recipient.export(exporterContext, 32)))
          // a wrong info gives a different key schedule: open fails, export differs
          const other = setupBaseR(provider, suite, enc, skR, new Uint8Array(0))
          expectError(() => other.open(aad, context.seal(aad, randomBytes(8))), 'HpkeOpenError')
          expect(toHex(other.export(exporterContext, 32))).to.not.equal(toHex(context.export(exporterContext, 32)))
        })
      }

      it('HPKE with a fixed eseed is deterministic', () => {
        const skR = xwing.deriveKeyPair(provider, new Uint8Array(32).fill(9))
        const pkR = xwing.importPublicKey(provider, skR.publicKey)
        const eseed = new Uint8Array(64).fill(5)
        const a = setupBaseS(provider, AES, pkR, info, { ephemeral: xwingEncapsulationSeed(eseed) })
        const b = setupBaseS(provider, AES, pkR, info, { ephemeral: xwingEncapsulationSeed(eseed) })
        expect(toHex(a.enc)).to.equal(toHex(b.enc))
        expect(toHex(a.context.seal(aad, aad))).to.equal(toHex(b.context.seal(aad, aad)))
      })

      it('a tampered ML-KEM ciphertext is rejected implicitly: another secret, then a failed open', () => {
        const skR = xwing.generateKeyPair(provider)
        const { enc, context } = setupBaseS(provider, AES, xwing.importPublicKey(provider, skR.publicKey), info)
        const ct = context.seal(aad, randomBytes(16))
        const bad = Uint8Array.from(enc)
        bad[10] ^= 1
        const good = xwing.decap(provider, enc, skR)
        expect(toHex(xwing.decap(provider, bad, skR))).to.not.equal(toHex(good))
        expectError(() => setupBaseR(provider, AES, bad, skR, info).open(aad, ct), 'HpkeOpenError')
        // a flipped X25519 half changes the secret too (ct_X is hashed)
        const badX = Uint8Array.from(enc)
        badX[1100] ^= 1
        expect(toHex(xwing.decap(provider, badX, skR))).to.not.equal(toHex(good))
      })
    })
  }

  it('the X25519 half runs on the provider: node and noble give the same results', () => {
    const providers: CryptoProvider[] = [nodeProvider, nobleProvider]
    const seed = randomBytes(32)
    const eseed = randomBytes(64)
    const [a, b] = providers.map(p => {
      const sk = xwing.importPrivateKey(p, seed)
      const e = encapDerand(p, xwing.importPublicKey(p, sk.publicKey), eseed)
      return { pk: toHex(sk.publicKey), enc: toHex(e.enc), ss: toHex(e.sharedSecret), dec: toHex(xwing.decap(p, e.enc, sk)) }
    })
    expect(a).to.deep.equal(b)
    expect(a.dec).to.equal(a.ss)
  })
})

describe('hpke X-Wing (0x647a) errors', () => {
  for (const provider of [nodeProvider, nobleProvider]) {
    describe(`${provider.name} provider`, () => {
      const skR = xwing.generateKeyPair(provider)
      const pkR = xwing.importPublicKey(provider, skR.publicKey)
      const { enc } = xwing.encap(provider, pkR)

      it('wrong-length or non-byte keys, enc and eseed are HpkeInvalidInputError', () => {
        for (const n of [0, 32, 1215, 1217]) {
          expectError(() => xwing.importPublicKey(provider, new Uint8Array(n)), 'HpkeInvalidInputError')
        }
        for (const n of [0, 31, 33, 64]) {
          expectError(() => xwing.importPrivateKey(provider, new Uint8Array(n)), 'HpkeInvalidInputError')
        }
        for (const n of [0, 32, 1119, 1121]) {
          expectError(() => xwing.decap(provider, new Uint8Array(n), skR), 'HpkeInvalidInputError')
          expectError(() => setupBaseR(provider, AES, new Uint8Array(n), skR, info), 'HpkeInvalidInputError')
        }
        for (const n of [0, 32, 63, 65]) {
          expectError(() => encapDerand(provider, pkR, new Uint8Array(n)), 'HpkeInvalidInputError')
          expectError(() => xwingEncapsulationSeed(new Uint8Array(n)), 'HpkeInvalidInputError')
        }
        expectError(() => xwing.importPublicKey(provider, Array.from(skR.publicKey) as any), 'HpkeInvalidInputError')
        expectError(() => xwing.decap(provider, Array.from(enc) as any, skR), 'HpkeInvalidInputError')
      })

      it('keys of another KEM are HpkeInvalidInputError', () => {
        const x25519 = dhkemX25519.generateKeyPair(provider)
        const x25519Public = dhkemX25519.importPublicKey(provider, x25519.publicKey)
        expectError(() => xwing.decap(provider, enc, x25519), 'HpkeInvalidInputError')
        expectError(() => xwing.encap(provider, x25519Public), 'HpkeInvalidInputError')
        expectError(() => encapDerand(provider, x25519Public, new Uint8Array(64)), 'HpkeInvalidInputError')
        // an X-Wing key pair is not an encapsulation seed, nor the reverse
        expectError(() => xwing.encap(provider, pkR, skR), 'HpkeInvalidInputError')
        expectError(() => xwing.decap(provider, enc, xwingEncapsulationSeed(new Uint8Array(64))), 'HpkeInvalidInputError')
        expectError(() => dhkemX25519.encap(provider, pkR as any), 'HpkeInvalidInputError')
        // and setupBaseS/R refuse a key of the wrong suite
        expectError(() => setupBaseS(provider, { ...AES, kemId: 0x0020 }, pkR, info), 'HpkeInvalidInputError')
        expectError(() => setupBaseR(provider, AES, new Uint8Array(1120), x25519, info), 'HpkeInvalidInputError')
      })

      it('an ML-KEM encapsulation key that fails the FIPS 203 §7.2 check is an HpkeEncapError', () => {
        const bad = Uint8Array.from(skR.publicKey)
        // first 12-bit coefficient = 0xfff >= q = 3329
        bad[0] = 0xff
        bad[1] |= 0x0f
        const err = expectError(() => xwing.encap(provider, xwing.importPublicKey(provider, bad)), 'HpkeEncapError')
        expect(err.cause).to.be.an('error').with.property('message').that.includes('modulus')
        expectError(() => setupBaseS(provider, AES, xwing.importPublicKey(provider, bad), info), 'HpkeEncapError')
      })

      it('a small-order X25519 half is refused: HpkeEncapError / HpkeDecapError', () => {
        const lowPk = Uint8Array.from(skR.publicKey)
        lowPk.fill(0, 1184)
        expectError(() => xwing.encap(provider, xwing.importPublicKey(provider, lowPk)), 'HpkeEncapError')
        const lowEnc = Uint8Array.from(enc)
        lowEnc.fill(0, 1088)
        expectError(() => xwing.decap(provider, lowEnc, skR), 'HpkeDecapError')
        expectError(() => setupBaseR(provider, AES, lowEnc, skR, info), 'HpkeDecapError')
      })

      it('a destroyed key or seed is HpkeDestroyedError', () => {
        const sk = xwing.generateKeyPair(provider)
        const { enc: e } = xwing.encap(provider, xwing.importPublicKey(provider, sk.publicKey))
        sk.destroy()
        sk.destroy()
        expectError(() => xwing.decap(provider, e, sk), 'HpkeDestroyedError')
        expectError(() => sk.exportSecret(), 'HpkeDestroyedError')

        const eseed = randomBytes(64)
        const seed = xwingEncapsulationSeed(eseed)
        expect(seed.publicKey).to.have.lengthOf(0)
        expect(seed.kemId).to.equal(0x647a)
        expect(toHex(seed.exportSecret())).to.equal(toHex(eseed))
        seed.destroy()
        expectError(() => seed.exportSecret(), 'HpkeDestroyedError')
        expectError(() => xwing.encap(provider, pkR, seed), 'HpkeDestroyedError')
      })
    })
  }
})
