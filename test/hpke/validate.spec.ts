/**
 * KEM public-key validation (`Kem.validatePublicKey`): a key no
 * encapsulation can use is refused up front, before a dial depends on it.
 * X25519: the small-order points of RFC 7748 §6.1 and any key whose DH is
 * all zero (RFC 9180 §7.1.4); X-Wing: the ML-KEM-768 encapsulation-key
 * modulus check of FIPS 203 §7.2 plus the X25519 checks on `pk_X`.
 */
import { expect } from 'aegir/chai'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { xwing } from '../../src/hpke/kems/x-wing.js'
import { thrown } from '../fixtures/errors.js'
import { SMALL_ORDER_POINTS } from '../fixtures/x25519.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/** The same points with bit 255 set: X25519 ignores that bit (RFC 7748 §5), so only the DH check catches them */
const SMALL_ORDER_HIGH_BIT = [
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880'
]

/** ML-KEM-768: 3 polynomials of 256 12-bit coefficients (1152 bytes), then the 32-byte seed rho */
const T_HAT_BYTES = 1152

/** `pk` with the coefficient at `index` (0..767) of its ML-KEM-768 `t_hat` set to `value` */
function withCoefficient (pk: Uint8Array, index: number, value: number): Uint8Array {
  const out = Uint8Array.from(pk)
  const at = Math.floor(index / 2) * 3
  if (index % 2 === 0) {
    out[at] = value & 0xff
    out[at + 1] = (out[at + 1] & 0xf0) | (value >> 8)
  } else {
    out[at + 1] = (out[at + 1] & 0x0f) | ((value & 0x0f) << 4)
    out[at + 2] = value >> 4
  }
  return out
}

for (const provider of [nodeProvider, nobleProvider]) {
  describe(`KEM public-key validation (${provider.name} provider)`, () => {
    it('X25519: generated keys and the RFC 7748 §6.1 keys are valid', () => {
      dhkemX25519.validatePublicKey(provider, dhkemX25519.generateKeyPair(provider).publicKey)
      dhkemX25519.validatePublicKey(provider, hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'))
      dhkemX25519.validatePublicKey(provider, hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'))
    })

    for (const point of [...SMALL_ORDER_POINTS, ...SMALL_ORDER_HIGH_BIT]) {
      it(`X25519: the small-order point ${point.slice(0, 8)}…${point.slice(-2)} is HpkeInvalidInputError`, () => {
        expect(thrown(() => dhkemX25519.validatePublicKey(provider, hex(point))).name).to.equal('HpkeInvalidInputError')
      })
    }

    it('X25519: a wrong length is HpkeInvalidInputError', () => {
      for (const n of [0, 31, 33]) {
        expect(thrown(() => dhkemX25519.validatePublicKey(provider, new Uint8Array(n))).name).to.equal('HpkeInvalidInputError')
      }
    })

    describe('X-Wing', () => {
      const good = xwing.generateKeyPair(provider).publicKey

      it('a generated key is valid, whatever its seed rho', () => {
        xwing.validatePublicKey(provider, good)
        const rho = Uint8Array.from(good)
        rho.fill(0xff, T_HAT_BYTES, 1184)
        xwing.validatePublicKey(provider, rho)
      })

      it('coefficients of q - 1 are valid; q and above fail the FIPS 203 §7.2 modulus check', () => {
        for (const index of [0, 1, 383, 767]) {
          xwing.validatePublicKey(provider, withCoefficient(good, index, 3328))
          for (const value of [3329, 4095]) {
            expect(thrown(() => xwing.validatePublicKey(provider, withCoefficient(good, index, value))).name, `coefficient ${index} = ${value}`)
              .to.equal('HpkeInvalidInputError')
          }
        }
      })

      it('an all-0xff pk_M fails the modulus check', () => {
        const bad = Uint8Array.from(good)
        bad.fill(0xff, 0, 1184)
        expect(thrown(() => xwing.validatePublicKey(provider, bad)).name).to.equal('HpkeInvalidInputError')
      })

      for (const point of [SMALL_ORDER_POINTS[0], SMALL_ORDER_POINTS[2], SMALL_ORDER_HIGH_BIT[1]]) {
        it(`a small-order pk_X (${point.slice(0, 8)}…) is HpkeInvalidInputError`, () => {
          const bad = Uint8Array.from(good)
          bad.set(hex(point), 1184)
          expect(thrown(() => xwing.validatePublicKey(provider, bad)).name).to.equal('HpkeInvalidInputError')
        })
      }

      it('a wrong length is HpkeInvalidInputError', () => {
        for (const n of [0, 1184, 1215, 1217]) {
          expect(thrown(() => xwing.validatePublicKey(provider, new Uint8Array(n))).name).to.equal('HpkeInvalidInputError')
        }
      })
    })
  })
}
