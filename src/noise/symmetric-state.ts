/**
 * Noise `CipherState` (§5.1) and `SymmetricState` (§5.2), revision 34, for
 * `Noise_*_25519_ChaChaPoly_SHA256`: HASH = SHA-256, HKDF per §4.3 over
 * HMAC-SHA256, ChaChaPoly nonce = 4 zero bytes || 64-bit little-endian n
 * (§12.3). A direct port: spec names, no I/O, secrets wiped when replaced.
 */
import type { Aead, CryptoProvider } from '../crypto/provider.js'

export const HASHLEN = 32
const EMPTY = new Uint8Array(0)
const ONE = Uint8Array.of(0x01)
const TWO = Uint8Array.of(0x02)
const THREE = Uint8Array.of(0x03)
/** §5.1: 2^64-1 is reserved; a JS number counts exactly to 2^53-1, far beyond any connection */
const MAX_NONCE = Number.MAX_SAFE_INTEGER

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

/** Writes n as the 96-bit ChaChaPoly nonce: 32 zero bits || little-endian u64 (§12.3) */
export function writeNonce (nonce: DataView, n: number): void {
  nonce.setUint32(4, n >>> 0, true)
  nonce.setUint32(8, Math.floor(n / 0x100000000), true)
}

/** §5.1 CipherState: k and n */
export class CipherState {
  k: Uint8Array | undefined
  n = 0
  readonly #aead: Aead
  readonly #nonce = new Uint8Array(12)
  readonly #view = new DataView(this.#nonce.buffer)

  constructor (provider: CryptoProvider, k?: Uint8Array) {
    this.#aead = provider.aead('chacha20-poly1305')
    this.k = k
  }

  hasKey (): boolean {
    return this.k != null
  }

  /** InitializeKey(key): the previous key is wiped */
  initializeKey (key: Uint8Array): void {
    this.k?.fill(0)
    this.k = key
    this.n = 0
  }

  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k == null) { return plaintext }
    const ct = this.#aead.seal(this.k, this.#nextNonce(), ad, plaintext)
    this.n++
    return ct
  }

  /** On failure n is not advanced (§5.1), so a trial decryption leaves the state usable */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k == null) { return ciphertext }
    const pt = this.#aead.open(this.k, this.#nextNonce(), ad, ciphertext)
    this.n++
    return pt
  }

  /** Wipe k; the state can no longer encrypt */
  destroy (): void {
    this.k?.fill(0)
    this.k = undefined
  }

  #nextNonce (): Uint8Array {
    if (this.n >= MAX_NONCE) {
      throw new Error('Noise nonce exhausted; a new handshake is required')
    }
    writeNonce(this.#view, this.n)
    return this.#nonce
  }
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
