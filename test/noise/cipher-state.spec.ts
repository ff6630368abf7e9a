/**
 * The one Noise CipherState (§5.1), as the handshake uses it (with ad) and
 * as transport uses it (empty ad, lists of chunks), on both backends.
 */
import { expect } from 'aegir/chai'
import { Uint8ArrayList } from 'uint8arraylist'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { CipherState } from '../../src/noise/cipher-state.js'

const toHex = (b: Uint8Array | Uint8ArrayList): string => Buffer.from(b.subarray()).toString('hex')

for (const provider of [nodeProvider, nobleProvider]) {
  describe(`noise CipherState (${provider.name})`, () => {
    it('without a key, EncryptWithAd and DecryptWithAd return their input (§5.1)', () => {
      const cs = new CipherState(provider)
      const data = Uint8Array.of(1, 2, 3)
      expect(cs.hasKey()).to.be.false()
      expect(cs.encryptWithAd(new Uint8Array(0), data)).to.equal(data)
      expect(cs.decryptWithAd(new Uint8Array(0), data)).to.equal(data)
      expect(cs.n).to.equal(0)
    })

    it('n advances on success only, so a failed trial decryption leaves the state usable', () => {
      const key = provider.randomBytes(32)
      const sender = new CipherState(provider, Uint8Array.from(key))
      const receiver = new CipherState(provider, Uint8Array.from(key))
      const ad = Uint8Array.of(9)
      const ct = sender.encryptWithAd(ad, Uint8Array.of(1, 2, 3))
      expect(sender.n).to.equal(1)
      expect(() => receiver.decryptWithAd(Uint8Array.of(8), ct)).to.throw()
      expect(receiver.n).to.equal(0)
      expect([...receiver.decryptWithAd(ad, ct)]).to.deep.equal([1, 2, 3])
      expect(receiver.n).to.equal(1)
    })

    it('transport frames: the handshake form with an empty ad, a list of chunks in, the same bytes out', () => {
      const key = provider.randomBytes(32)
      const a = new CipherState(provider, Uint8Array.from(key))
      const b = new CipherState(provider, Uint8Array.from(key))
      const frame = provider.randomBytes(3000)
      const viaTransport = a.encrypt(new Uint8ArrayList(frame.subarray(0, 1000), frame.subarray(1000)))
      expect(toHex(viaTransport)).to.equal(toHex(b.encryptWithAd(new Uint8Array(0), frame)))
      const reader = new CipherState(provider, Uint8Array.from(key))
      expect(toHex(reader.decrypt(viaTransport))).to.equal(toHex(frame))
    })

    it('uses the 96-bit nonce 0^32 || LE64(n) (§12.3): the same key at n = 2^32 differs from n = 0', () => {
      const key = provider.randomBytes(32)
      const at0 = new CipherState(provider, Uint8Array.from(key))
      const at32 = new CipherState(provider, Uint8Array.from(key))
      at32.n = 2 ** 32
      const pt = Uint8Array.of(0)
      const c0 = toHex(at0.encrypt(pt))
      const c32 = toHex(at32.encrypt(pt))
      expect(c32).to.not.equal(c0)
      const reader = new CipherState(provider, Uint8Array.from(key))
      reader.n = 2 ** 32
      expect(toHex(reader.decrypt(Buffer.from(c32, 'hex')))).to.equal('00')
    })

    it('states used in turn each seal under their own n: the same bytes as the AEAD with the nonce 0^32 || LE64(n) built apart', () => {
      const aead = provider.aead('chacha20-poly1305')
      const nonce = (n: number): Uint8Array => {
        const out = new Uint8Array(12)
        new DataView(out.buffer).setBigUint64(4, BigInt(n), true)
        return out
      }
      const keys = [provider.randomBytes(32), provider.randomBytes(32)]
      const states = keys.map(k => new CipherState(provider, Uint8Array.from(k)))
      states[1].n = 2 ** 40 + 5
      const pt = provider.randomBytes(40)
      const big = provider.randomBytes(2000)
      const expected: string[] = []
      const got: string[] = []
      for (let round = 0; round < 3; round++) {
        for (const [i, cs] of states.entries()) {
          const data = round === 1 ? big : pt
          expected.push(toHex(aead.seal(keys[i], nonce(cs.n), new Uint8Array(0), data)))
          got.push(toHex(cs.encrypt(data)))
        }
      }
      expect(got).to.deep.equal(expected)
    })

    it('refuses to reuse a nonce past the counter and to run without a key', () => {
      const cs = new CipherState(provider, provider.randomBytes(32))
      cs.n = Number.MAX_SAFE_INTEGER
      expect(() => cs.encrypt(Uint8Array.of(1))).to.throw()
      const keyless = new CipherState(provider)
      expect(() => keyless.encrypt(Uint8Array.of(1))).to.throw()
    })

    it('a provider without noiseCipher (written before it existed) gets one built from its ChaCha20-Poly1305 AEAD', () => {
      const { noiseCipher, ...older } = provider
      const key = provider.randomBytes(32)
      const modern = new CipherState(provider, Uint8Array.from(key))
      const legacy = new CipherState(older, Uint8Array.from(key))
      const frame = new Uint8ArrayList(Uint8Array.of(1, 2), Uint8Array.of(3))
      const ct = legacy.encrypt(frame)
      expect(toHex(ct)).to.equal(toHex(modern.encrypt(frame)))
      expect(toHex(new CipherState(older, Uint8Array.from(key)).decrypt(ct))).to.equal('010203')
      expect(noiseCipher).to.not.equal(undefined)
    })

    it('destroy wipes k', () => {
      const k = provider.randomBytes(32)
      const cs = new CipherState(provider, k)
      cs.destroy()
      expect(k.every(b => b === 0)).to.be.true()
      expect(cs.hasKey()).to.be.false()
    })
  })
}
