import { expect } from 'aegir/chai'
import { fromString, toString } from 'uint8arrays'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { CipherState } from '../../src/noise/cipher-state.js'
import { SymmetricState, hkdf } from '../../src/noise/symmetric-state.js'
import { XXHandshakeState } from '../../src/noise/xx.js'
import { cacophonyXX as v } from '../fixtures/noise-xx-cacophony.js'
import type { CryptoProvider } from '../../src/crypto/provider.js'

/** h after message 3 for the vector's inputs, as computed by stock `@chainsafe/libp2p-noise` 17.0.0 */
const FINAL_H = 'c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e'
const hex = (s: string): Uint8Array => fromString(s, 'base16')
const toHex = (b: Uint8Array | { subarray(): Uint8Array }): string => toString(b instanceof Uint8Array ? b : b.subarray(), 'base16')

for (const provider of [nodeProvider, nobleProvider] as CryptoProvider[]) {
  describe(`Noise XX state machine (${provider.name})`, () => {
    it('reproduces the cacophony Noise_XX_25519_ChaChaPoly_SHA256 vector', () => {
      const init = new XXHandshakeState({ provider, initiator: true, prologue: hex(v.init_prologue), s: provider.x25519FromSecret(hex(v.init_static)), e: provider.x25519FromSecret(hex(v.init_ephemeral)) })
      const resp = new XXHandshakeState({ provider, initiator: false, prologue: hex(v.resp_prologue), s: provider.x25519FromSecret(hex(v.resp_static)), e: provider.x25519FromSecret(hex(v.resp_ephemeral)) })
      const [m1, m2, m3, ...transport] = v.messages

      const c1 = init.writeMessageA(hex(m1.payload))
      expect(toHex(c1)).to.equal(m1.ciphertext)
      expect(toHex(resp.readMessageA(c1))).to.equal(m1.payload)

      const c2 = resp.writeMessageB(hex(m2.payload))
      expect(toHex(c2)).to.equal(m2.ciphertext)
      const b = init.readMessageB(c2)
      expect(toHex(b.payload)).to.equal(m2.payload)
      expect(b.state).to.equal(0)
      // see the fixture: this copy's handshake_hash is h after message 2
      expect(toHex(init.ss.h)).to.equal(v.handshake_hash)

      const c3 = init.writeMessageC(hex(m3.payload))
      expect(toHex(c3)).to.equal(m3.ciphertext)
      expect(toHex(resp.readMessageC(c3))).to.equal(m3.payload)

      const hi = toHex(init.ss.h)
      const hr = toHex(resp.ss.h)

      const [i1, i2] = init.split()
      const [r1, r2] = resp.split()
      const iSend = new CipherState(provider, i1)
      const iRecv = new CipherState(provider, i2)
      const rSend = new CipherState(provider, r2)
      const rRecv = new CipherState(provider, r1)
      transport.forEach((m, i) => {
        // messages keep alternating: responder first after the initiator's message 3
        const [send, recv] = i % 2 === 0 ? [rSend, iRecv] : [iSend, rRecv]
        const ct = send.encrypt(hex(m.payload))
        expect(toHex(ct)).to.equal(m.ciphertext)
        expect(toHex(recv.decrypt(ct))).to.equal(m.payload)
      })
      expect(hi).to.equal(FINAL_H)
      expect(hr).to.equal(FINAL_H)
    })

    it('wipes ck, h and the handshake key on split and destroys e', () => {
      let destroyed = 0
      const e = provider.x25519Generate()
      const destroy = e.destroy.bind(e)
      e.destroy = () => { destroyed++; destroy() }
      const init = new XXHandshakeState({ provider, initiator: true, prologue: new Uint8Array(0), s: provider.x25519Generate(), e })
      const resp = new XXHandshakeState({ provider, initiator: false, prologue: new Uint8Array(0), s: provider.x25519Generate() })
      resp.readMessageA(init.writeMessageA(new Uint8Array(0)))
      init.readMessageB(resp.writeMessageB(new Uint8Array(0)))
      resp.readMessageC(init.writeMessageC(new Uint8Array(0)))
      const { ck, h, cs } = init.ss
      const k = cs.k
      init.split()
      expect(destroyed).to.be.greaterThan(0)
      expect(init.e).to.equal(undefined)
      expect(ck.every(b => b === 0)).to.equal(true)
      expect(h.every(b => b === 0)).to.equal(true)
      expect(k?.every(b => b === 0)).to.equal(true)
    })

    it('MixKeyAndHash follows Noise §5.2 (HKDF with three outputs)', () => {
      const ss = new SymmetricState(provider, new TextEncoder().encode(v.protocol_name))
      const ck0 = Uint8Array.from(ss.ck)
      const h0 = Uint8Array.from(ss.h)
      const psk = new Uint8Array(32).fill(7)
      ss.mixKeyAndHash(psk)
      const [ck, tempH, tempK] = hkdf(provider, ck0, psk, 3)
      expect(toHex(ss.ck)).to.equal(toHex(ck))
      expect(toHex(ss.h)).to.equal(toHex(provider.sha256(h0, tempH)))
      expect(toHex(ss.cs.k ?? new Uint8Array(0))).to.equal(toHex(tempK))
    })

    it('trial-decrypts message 2 under several states, computing ee once', () => {
      const s = provider.x25519Generate()
      const init = new XXHandshakeState({ provider, initiator: true, prologue: new Uint8Array(0), s })
      const resp = new XXHandshakeState({ provider, initiator: false, prologue: new Uint8Array(0), s: provider.x25519Generate() })
      resp.readMessageA(init.writeMessageA(new Uint8Array(0)))
      const echState = init.ss.clone()
      echState.mixKeyAndHash(new Uint8Array(32).fill(1))
      const plain = init.ss
      const m2 = resp.writeMessageB(Uint8Array.of(1, 2, 3))
      const result = init.readMessageB(m2, [echState, plain])
      expect(result.state).to.equal(1)
      expect([...result.payload]).to.deep.equal([1, 2, 3])
      expect(echState.ck.every(b => b === 0)).to.equal(true)
    })
  })
}
