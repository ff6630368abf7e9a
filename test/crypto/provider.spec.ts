/**
 * The three crypto backends agree with each other and with known answers
 * (FIPS 180-2, RFC 4231, RFC 7748), and both refuse small-order X25519
 * public keys (RFC 7748 §6.1) and wrong-length inputs.
 */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { browserProvider } from '../../src/crypto/browser.js'
import { assertNonZeroSharedSecret, constantTimeEqual } from '../../src/crypto/bytes.js'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { SMALL_ORDER_POINTS } from '../fixtures/x25519.js'
import type { AeadId } from '../../src/crypto/provider.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

const providers = [nodeProvider, nobleProvider, browserProvider]

describe('crypto providers', () => {
  for (const provider of providers) {
    describe(provider.name, () => {
      it('sha256 matches FIPS 180-2 "abc" and hashes the concatenation of parts', () => {
        expect(toHex(provider.sha256(utf8('abc')))).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
        expect(toHex(provider.sha256(utf8('a'), utf8(''), utf8('bc')))).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
      })

      it('hmacSha256 matches RFC 4231 test cases 1 and 2', () => {
        expect(toHex(provider.hmacSha256(new Uint8Array(20).fill(0x0b), utf8('Hi There'))))
          .to.equal('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
        expect(toHex(provider.hmacSha256(utf8('Jefe'), utf8('what do ya want '), utf8('for nothing?'))))
          .to.equal('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
      })

      it('x25519 matches RFC 7748 §6.1', () => {
        const alice = provider.x25519FromSecret(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))
        const bob = provider.x25519FromSecret(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))
        expect(toHex(alice.publicKey)).to.equal('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
        const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
        expect(toHex(provider.x25519(alice, bob.publicKey))).to.equal(shared)
        expect(toHex(provider.x25519(bob, provider.x25519ImportPublic(alice.publicKey)))).to.equal(shared)
      })

      it('exportSecret round-trips and destroy makes the key unusable', () => {
        const key = provider.x25519Generate()
        const again = provider.x25519FromSecret(key.exportSecret())
        expect(toHex(again.publicKey)).to.equal(toHex(key.publicKey))
        key.destroy()
        expect(() => provider.x25519(key, again.publicKey)).to.throw()
        expect(() => key.exportSecret()).to.throw()
      })

      it('randomBytes returns fresh bytes of the asked length', () => {
        const a = provider.randomBytes(32)
        expect(a).to.have.lengthOf(32)
        expect(constantTimeEqual(a, provider.randomBytes(32))).to.equal(false)
      })

      for (const point of SMALL_ORDER_POINTS) {
        it(`x25519 rejects the small-order public key ${point.slice(0, 8)}…`, () => {
          const sk = provider.x25519Generate()
          expect(() => provider.x25519(sk, hex(point))).to.throw()
        })
      }

      it('wrong lengths throw TypeError', () => {
        const sk = provider.x25519Generate()
        expect(() => provider.x25519FromSecret(new Uint8Array(31))).to.throw(TypeError)
        expect(() => provider.x25519ImportPublic(new Uint8Array(33))).to.throw(TypeError)
        expect(() => provider.x25519(sk, new Uint8Array(31))).to.throw(TypeError)
      })

      it('refuses the other backend\'s private key', () => {
        const other = providers.find(p => p !== provider) ?? provider
        const foreign = other.x25519Generate()
        expect(() => provider.x25519(foreign, foreign.publicKey)).to.throw(TypeError)
      })
    })
  }

  it('node and noble agree on X25519 for random keys, in both directions', () => {
    for (let i = 0; i < 16; i++) {
      const a = nodeProvider.x25519Generate()
      const b = nobleProvider.x25519Generate()
      const aAsNoble = nobleProvider.x25519FromSecret(a.exportSecret())
      const bAsNode = nodeProvider.x25519FromSecret(b.exportSecret())
      expect(toHex(aAsNoble.publicKey)).to.equal(toHex(a.publicKey))
      const viaNode = nodeProvider.x25519(a, nodeProvider.x25519ImportPublic(b.publicKey))
      const viaNoble = nobleProvider.x25519(b, a.publicKey)
      expect(toHex(viaNode)).to.equal(toHex(viaNoble))
      expect(toHex(nodeProvider.x25519(bAsNode, a.publicKey))).to.equal(toHex(viaNoble))
    }
  })

  for (const id of ['aes-128-gcm', 'chacha20-poly1305'] as AeadId[]) {
    it(`node and noble agree on ${id}, sealing with one and opening with the other`, () => {
      const node = nodeProvider.aead(id)
      const noble = nobleProvider.aead(id)
      expect([node.keyLength, node.nonceLength, node.tagLength]).to.deep.equal([noble.keyLength, noble.nonceLength, noble.tagLength])
      for (const length of [0, 1, 64, 1000]) {
        const key = nodeProvider.randomBytes(node.keyLength)
        const nonce = nodeProvider.randomBytes(12)
        const aad = nodeProvider.randomBytes(length % 7)
        const pt = nodeProvider.randomBytes(length)
        const ct = node.seal(key, nonce, aad, pt)
        expect(toHex(noble.seal(key, nonce, aad, pt))).to.equal(toHex(ct))
        expect(toHex(noble.open(key, nonce, aad, ct))).to.equal(toHex(pt))
        expect(toHex(node.open(key, nonce, aad, ct))).to.equal(toHex(pt))
        const bad = Uint8Array.from(ct)
        bad[0] ^= 1
        expect(() => node.open(key, nonce, aad, bad)).to.throw()
        expect(() => noble.open(key, nonce, aad, bad)).to.throw()
      }
      const key = new Uint8Array(node.keyLength)
      expect(() => node.open(key, new Uint8Array(12), new Uint8Array(0), new Uint8Array(15))).to.throw()
      expect(() => noble.open(key, new Uint8Array(12), new Uint8Array(0), new Uint8Array(15))).to.throw()
    })
  }

  // RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 example
  it('noiseCipher matches RFC 8439 §2.8.2 on both backends, for one array and for a list of chunks', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
    const nonce = hex('070000004041424344454647')
    const ad = hex('50515253c0c1c2c3c4c5c6c7')
    const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
    const expected = 'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691'
    for (const provider of providers) {
      expect(toHex(provider.noiseCipher!.seal(key, nonce, ad, plaintext)), provider.name).to.equal(expected)
      const list = new Uint8ArrayList(plaintext.subarray(0, 7), plaintext.subarray(7, 50), plaintext.subarray(50))
      expect(toHex(provider.noiseCipher!.seal(key, nonce, ad, list).subarray()), `${provider.name} list`).to.equal(expected)
      expect(toHex(provider.noiseCipher!.open(key, nonce, ad, hex(expected))), provider.name).to.equal(toHex(plaintext))
    }
  })

  for (const size of [0, 1, 1199, 1200, 1201, 65519]) {
    it(`noiseCipher: node and noble agree at ${size} bytes (both sides of the node backend's 1200-byte switch), with and without ad, split or whole`, () => {
      const key = nodeProvider.randomBytes(32)
      const nonce = nodeProvider.randomBytes(12)
      const plaintext = nodeProvider.randomBytes(size)
      for (const ad of [new Uint8Array(0), nodeProvider.randomBytes(32)]) {
        const fromNode = nodeProvider.noiseCipher!.seal(key, nonce, ad, plaintext)
        expect(toHex(nobleProvider.noiseCipher!.seal(key, nonce, ad, plaintext))).to.equal(toHex(fromNode))
        const half = Math.floor(fromNode.byteLength / 2)
        const split = new Uint8ArrayList(fromNode.subarray(0, half), fromNode.subarray(half))
        expect(toHex(nodeProvider.noiseCipher!.open(key, nonce, ad, split).subarray())).to.equal(toHex(plaintext))
        expect(toHex(nobleProvider.noiseCipher!.open(key, nonce, ad, fromNode))).to.equal(toHex(plaintext))
      }
    })
  }

  it('noiseCipher refuses a flipped bit, a wrong ad and a ciphertext shorter than the tag, on both backends', () => {
    const key = nodeProvider.randomBytes(32)
    const nonce = new Uint8Array(12)
    for (const size of [10, 2000]) {
      const ct = nodeProvider.noiseCipher!.seal(key, nonce, new Uint8Array(0), new Uint8Array(size))
      const flipped = Uint8Array.from(ct)
      flipped[3] ^= 1
      for (const provider of providers) {
        expect(() => provider.noiseCipher!.open(key, nonce, new Uint8Array(0), flipped), `${provider.name} ${size}`).to.throw()
        expect(() => provider.noiseCipher!.open(key, nonce, Uint8Array.of(1), ct), `${provider.name} ${size} ad`).to.throw()
        expect(() => provider.noiseCipher!.open(key, nonce, new Uint8Array(0), new Uint8Array(15)), `${provider.name} short`).to.throw()
      }
    }
  })

  it('assertNonZeroSharedSecret refuses only the all-zero output', () => {
    expect(() => { assertNonZeroSharedSecret(new Uint8Array(32)) }).to.throw()
    expect(() => { assertNonZeroSharedSecret(Uint8Array.of(...new Uint8Array(31), 1)) }).to.not.throw()
  })

  it('constantTimeEqual compares contents and lengths', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).to.equal(true)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).to.equal(false)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1))).to.equal(false)
  })
})
