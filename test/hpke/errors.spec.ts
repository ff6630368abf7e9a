/**
 * HPKE failure paths: each surfaces as its own error class (checked by
 * `err.name`), wrapping the lower-level failure as `cause`.
 */
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { setSequenceNumber } from '../../src/hpke/context.js'
import * as errors from '../../src/hpke/errors.js'
import { setupBaseR, setupBaseS } from '../../src/hpke/hpke.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { i2osp, labeledExpand } from '../../src/hpke/labeled.js'
import { getKem, getKemByName, isSupportedCipherSuite, supportedKems } from '../../src/hpke/registry.js'
import { thrown } from '../fixtures/errors.js'

const AES = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001 }
const CHACHA = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0003 }
const EXPORT_ONLY = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0xffff }
const info = new TextEncoder().encode('libp2p-noise-ech v1\0config')
const aad = Uint8Array.of(1, 2, 3)
const pt = new Uint8Array(64).fill(7)
const ZERO_POINT = new Uint8Array(32)
const ORDER_8_POINT = Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'))

describe('hpke errors', () => {
  const kem = dhkemX25519

  it('every HPKE error class has its own name, a default message, and is an HpkeError', () => {
    const classes = Object.values(errors)
    expect(classes).to.have.length.greaterThan(5)
    const names = new Set<string>()
    for (const ErrorClass of classes) {
      const err = new ErrorClass()
      expect(err).to.be.an.instanceOf(errors.HpkeError)
      expect(err.name).to.equal(ErrorClass.name)
      expect(err.message).to.not.equal('')
      names.add(err.name)
    }
    expect(names.size).to.equal(classes.length)
  })

  it('registry knows DHKEM(X25519) by id and name and the supported suites', () => {
    expect(getKem(0x0020)).to.equal(kem)
    expect(getKemByName('x25519')).to.equal(kem)
    expect(getKemByName('nope')).to.equal(undefined)
    expect(supportedKems()).to.include(kem)
    expect(isSupportedCipherSuite(CHACHA)).to.equal(true)
    expect(isSupportedCipherSuite(EXPORT_ONLY)).to.equal(false)
    expect(isSupportedCipherSuite({ kdfId: 2, aeadId: 1 })).to.equal(false)
  })

  for (const provider of [nodeProvider, nobleProvider]) {
    describe(`${provider.name} provider`, () => {
      const skR = kem.generateKeyPair(provider)

      function pair (suite = CHACHA): ReturnType<typeof setupBaseS> & { recipient: ReturnType<typeof setupBaseR> } {
        const s = setupBaseS(provider, suite, kem.importPublicKey(provider, skR.publicKey), info)
        return { ...s, recipient: setupBaseR(provider, suite, s.enc, skR, info) }
      }

      it('a fresh ephemeral key per setup gives a fresh enc', () => {
        expect(Buffer.from(pair().enc).equals(Buffer.from(pair().enc))).to.equal(false)
      })

      it('the wrong recipient key → HpkeOpenError with the AEAD failure as cause', () => {
        const { enc, context } = pair()
        const wrong = setupBaseR(provider, CHACHA, enc, kem.generateKeyPair(provider), info)
        const err = thrown(() => wrong.open(aad, context.seal(aad, pt)))
        expect(err.name).to.equal('HpkeOpenError')
        expect(err.cause).to.be.an('error')
      })

      it('different info → HpkeOpenError', () => {
        const { enc, context } = pair(AES)
        const other = setupBaseR(provider, AES, enc, skR, Uint8Array.of(0))
        expect(thrown(() => other.open(aad, context.seal(aad, pt))).name).to.equal('HpkeOpenError')
      })

      it('tampered ciphertext, tag or aad → HpkeOpenError, and a failed Open does not advance seq', () => {
        const { context, recipient } = pair()
        const ct = context.seal(aad, pt)
        for (const index of [0, ct.length - 1]) {
          const bad = Uint8Array.from(ct)
          bad[index] ^= 0x80
          expect(thrown(() => recipient.open(aad, bad)).name).to.equal('HpkeOpenError')
        }
        expect(thrown(() => recipient.open(Uint8Array.of(1, 2, 4), ct)).name).to.equal('HpkeOpenError')
        expect(thrown(() => recipient.open(aad, ct.subarray(0, 10))).name).to.equal('HpkeOpenError')
        expect(Buffer.from(recipient.open(aad, ct)).equals(Buffer.from(pt))).to.equal(true)
      })

      it('messages must be opened in order (RFC 9180 §5.2 seq)', () => {
        const { context, recipient } = pair(AES)
        context.seal(aad, pt)
        const second = context.seal(aad, pt)
        expect(thrown(() => recipient.open(aad, second)).name).to.equal('HpkeOpenError')
      })

      it('seq 2^96 - 2 is the last message; the next → HpkeMessageLimitError (RFC 9180 §5.2)', () => {
        const { context, recipient } = pair()
        // Crossing a byte boundary: 2^96 - 2 = ff..fe; the carry must reach the top byte
        setSequenceNumber(context, 2n ** 96n - 2n)
        setSequenceNumber(recipient, 2n ** 96n - 2n)
        const last = context.seal(aad, pt)
        expect(Buffer.from(recipient.open(aad, last)).equals(Buffer.from(pt))).to.equal(true)
        expect(thrown(() => context.seal(aad, pt)).name).to.equal('HpkeMessageLimitError')
        expect(thrown(() => recipient.open(aad, last)).name).to.equal('HpkeMessageLimitError')
      })

      it('seq carries across bytes (255 → 256)', () => {
        const { context, recipient } = pair()
        setSequenceNumber(context, 255n)
        setSequenceNumber(recipient, 256n)
        context.seal(aad, pt)
        expect(Buffer.from(recipient.open(aad, context.seal(aad, pt))).equals(Buffer.from(pt))).to.equal(true)
      })

      it('setSequenceNumber refuses a foreign object', () => {
        expect(thrown(() => { setSequenceNumber({ export: () => new Uint8Array(0), destroy: () => {} }, 1n) }).name).to.equal('HpkeInvalidInputError')
      })

      it('a wrong-length enc → HpkeInvalidInputError', () => {
        for (const length of [0, 31, 33]) {
          expect(thrown(() => setupBaseR(provider, CHACHA, new Uint8Array(length), skR, info)).name).to.equal('HpkeInvalidInputError')
          expect(thrown(() => kem.decap(provider, new Uint8Array(length), skR)).name).to.equal('HpkeInvalidInputError')
        }
      })

      for (const [name, point] of [['zero', ZERO_POINT], ['order-8', ORDER_8_POINT]] as const) {
        it(`a ${name} enc → HpkeDecapError; a ${name} public key → HpkeEncapError (RFC 9180 §7.1.4)`, () => {
          const decap = thrown(() => setupBaseR(provider, CHACHA, point, skR, info))
          expect(decap.name).to.equal('HpkeDecapError')
          expect(decap.cause).to.be.an('error')
          const encap = thrown(() => setupBaseS(provider, CHACHA, kem.importPublicKey(provider, point), info))
          expect(encap.name).to.equal('HpkeEncapError')
        })
      }

      it('wrong-length or foreign keys → HpkeInvalidInputError', () => {
        expect(thrown(() => kem.importPublicKey(provider, new Uint8Array(31))).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => kem.importPrivateKey(provider, new Uint8Array(33))).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => kem.deriveKeyPair(provider, new Uint8Array(31))).name).to.equal('HpkeInvalidInputError')
        const foreignPk = { kemId: 0x0020, bytes: new Uint8Array(32) }
        expect(thrown(() => kem.encap(provider, foreignPk)).name).to.equal('HpkeInvalidInputError')
        const foreignSk = { kemId: 0x0020, publicKey: new Uint8Array(32), exportSecret: () => new Uint8Array(32), destroy: () => {} }
        expect(thrown(() => kem.decap(provider, new Uint8Array(32), foreignSk)).name).to.equal('HpkeInvalidInputError')
      })

      it('unsupported KEM, KDF or AEAD, or a key of another KEM → HpkeInvalidInputError', () => {
        const pk = kem.importPublicKey(provider, skR.publicKey)
        const enc = pair().enc
        for (const suite of [{ ...AES, kemId: 0x0010 }, { ...AES, kdfId: 0x0002 }, { ...AES, aeadId: 0x0002 }]) {
          expect(thrown(() => setupBaseS(provider, suite, pk, info)).name).to.equal('HpkeInvalidInputError')
          expect(thrown(() => setupBaseR(provider, suite, enc, skR, info)).name).to.equal('HpkeInvalidInputError')
        }
        expect(thrown(() => setupBaseS(provider, AES, { kemId: 0x0010, bytes: pk.bytes }, info)).name).to.equal('HpkeInvalidInputError')
      })

      it('non-Uint8Array inputs → HpkeInvalidInputError', () => {
        const { context, recipient } = pair()
        const notBytes = 'abc' as unknown as Uint8Array
        expect(thrown(() => setupBaseS(provider, AES, kem.importPublicKey(provider, skR.publicKey), notBytes)).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => setupBaseR(provider, AES, notBytes, skR, info)).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => context.seal(notBytes, pt)).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => recipient.open(aad, notBytes)).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => context.export(notBytes, 32)).name).to.equal('HpkeInvalidInputError')
      })

      it('export lengths outside 1..255*Nh → HpkeInvalidInputError', () => {
        const { context } = pair()
        expect(context.export(new Uint8Array(0), 255 * 32)).to.have.lengthOf(8160)
        for (const length of [0, 8161, 1.5, -1]) {
          expect(thrown(() => context.export(new Uint8Array(0), length)).name).to.equal('HpkeInvalidInputError')
        }
      })

      it('an export-only context cannot seal or open', () => {
        const { context, recipient } = pair(EXPORT_ONLY)
        expect(thrown(() => context.seal(aad, pt)).name).to.equal('HpkeInvalidInputError')
        expect(thrown(() => recipient.open(aad, pt)).name).to.equal('HpkeInvalidInputError')
        expect(context.export(aad, 32)).to.deep.equal(recipient.export(aad, 32))
      })

      it('destroy wipes the context; later use → HpkeDestroyedError', () => {
        const { context, recipient } = pair()
        const ct = context.seal(aad, pt)
        context.destroy()
        context.destroy()
        recipient.destroy()
        expect(thrown(() => context.seal(aad, pt)).name).to.equal('HpkeDestroyedError')
        expect(thrown(() => recipient.open(aad, ct)).name).to.equal('HpkeDestroyedError')
        expect(thrown(() => context.export(aad, 32)).name).to.equal('HpkeDestroyedError')
      })

      it('a caller-supplied ephemeral key is not destroyed by encap', () => {
        const skE = kem.generateKeyPair(provider)
        const pk = kem.importPublicKey(provider, skR.publicKey)
        const first = setupBaseS(provider, AES, pk, info, { ephemeral: skE })
        const second = setupBaseS(provider, AES, pk, info, { ephemeral: skE })
        expect(first.enc).to.deep.equal(second.enc)
        skE.destroy()
        expect(() => setupBaseS(provider, AES, pk, info, { ephemeral: skE })).to.throw()
      })
    })
  }

  it('I2OSP and LabeledExpand refuse out-of-range lengths', () => {
    expect(i2osp(0x0102, 2)).to.deep.equal(Uint8Array.of(1, 2))
    expect(() => i2osp(65536, 2)).to.throw(RangeError)
    expect(() => i2osp(-1, 2)).to.throw(RangeError)
    const prk = new Uint8Array(32)
    expect(() => labeledExpand(nodeProvider, new Uint8Array(0), prk, new Uint8Array(0), new Uint8Array(0), 0)).to.throw(RangeError)
    expect(() => labeledExpand(nodeProvider, new Uint8Array(0), prk, new Uint8Array(0), new Uint8Array(0), 8161)).to.throw(RangeError)
  })
})
