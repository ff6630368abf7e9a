/**
 * Noise `SymmetricState` (§5.2), revision 34, for
 * `Noise_*_25519_ChaChaPoly_SHA256`: HASH = SHA-256, HKDF per §4.3 over
 * HMAC-SHA256, and a `CipherState` (cipher-state.ts). A direct port: spec
 * names, no I/O, secrets wiped when replaced.
 */
import { CipherState } from './cipher-state.js'
import type { CryptoProvider } from '../crypto/provider.js'

export const HASHLEN = 32
const EMPTY = new Uint8Array(0)
const ONE = Uint8Array.of(0x01)
const TWO = Uint8Array.of(0x02)
const THREE = Uint8Array.of(0x03)

/**
 * HKDF(chaining_key, input_key_material, num_outputs) (§4.3). Returns 2 or 3
 * outputs of HASHLEN bytes; temp_key is wiped.
 */
export function hkdf (provider: CryptoProvider, ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = provider.hmacSha256(ck, ikm)
  const output1 = provider.hmacSha256(tempKey, ONE)
  const output2 = provider.hmacSha256(tempKey, output1, TWO)
  const out = [output1, output2]
  if (outputs === 3) {
    out.push(provider.hmacSha256(tempKey, output2, THREE))
  }
  tempKey.fill(0)
  return out
}

/** §5.2 SymmetricState: a CipherState plus ck and h */
export class SymmetricState {
  ck: Uint8Array
  h: Uint8Array
  readonly cs: CipherState
  readonly #provider: CryptoProvider

  /** InitializeSymmetric(protocol_name) when `protocolName` is given; otherwise a blank for `clone` */
  constructor (provider: CryptoProvider, protocolName?: Uint8Array) {
    this.#provider = provider
    this.cs = new CipherState(provider)
    if (protocolName == null) {
      this.h = new Uint8Array(HASHLEN)
    } else if (protocolName.byteLength <= HASHLEN) {
      this.h = new Uint8Array(HASHLEN)
      this.h.set(protocolName)
    } else {
      this.h = provider.sha256(protocolName)
    }
    this.ck = Uint8Array.from(this.h)
  }

  /** MixKey(input_key_material) */
  mixKey (ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.#provider, this.ck, ikm, 2)
    this.ck.fill(0)
    this.ck = ck
    this.cs.initializeKey(tempK)
  }

  /** MixHash(data): h = HASH(h || data) */
  mixHash (data: Uint8Array): void {
    this.h = this.#provider.sha256(this.h, data)
  }

  /** MixKeyAndHash(input_key_material) (§5.2), used for the ECH psk */
  mixKeyAndHash (ikm: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.#provider, this.ck, ikm, 3)
    this.ck.fill(0)
    this.ck = ck
    this.mixHash(tempH)
    tempH.fill(0)
    this.cs.initializeKey(tempK)
  }

  encryptAndHash (plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cs.encryptWithAd(this.h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  decryptAndHash (ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cs.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return plaintext
  }

  /** Split(): two transport keys (k1 initiator→responder, k2 responder→initiator); ck, h, k wiped */
  split (): [Uint8Array, Uint8Array] {
    const [k1, k2] = hkdf(this.#provider, this.ck, EMPTY, 2)
    this.destroy()
    return [k1, k2]
  }

  /** An independent copy (the initiator's ECH trial state, forked after message 1) */
  clone (): SymmetricState {
    const copy = new SymmetricState(this.#provider)
    copy.ck = Uint8Array.from(this.ck)
    copy.h = Uint8Array.from(this.h)
    if (this.cs.k != null) {
      copy.cs.initializeKey(Uint8Array.from(this.cs.k))
      copy.cs.n = this.cs.n
    }
    return copy
  }

  destroy (): void {
    this.ck.fill(0)
    this.h.fill(0)
    this.cs.destroy()
  }
}
