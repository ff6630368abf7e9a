/**
 * Noise `CipherState` (§5.1) for ChaChaPoly (§12.3): the key `k` and the
 * nonce `n`, one class for the handshake (inside the SymmetricState, with
 * `h` as ad) and for transport after Split (empty ad). Nonce = 4 zero bytes
 * || 64-bit little-endian n; n advances only after a successful operation,
 * so a failed trial decryption leaves the state usable (§5.1).
 */
import { noiseCipherOf } from '../crypto/provider.js'
import type { CryptoProvider, NoiseCipher } from '../crypto/provider.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** §5.1: 2^64-1 is reserved; a JS number counts exactly to 2^53-1, far beyond any connection */
const MAX_NONCE = Number.MAX_SAFE_INTEGER
const EMPTY = new Uint8Array(0)

/**
 * One nonce buffer for every CipherState: it is written just before each
 * seal or open and the cipher takes it synchronously, so no two operations
 * ever share it, and a connection holds no buffer of its own for it (two
 * CipherStates a connection end). Bytes 0..3 stay zero.
 */
const NONCE = new Uint8Array(12)
const NONCE_VIEW = new DataView(NONCE.buffer)

/** Writes n as the 96-bit ChaChaPoly nonce: 32 zero bits || little-endian u64 (§12.3) */
export function writeNonce (nonce: DataView, n: number): void {
  nonce.setUint32(4, n >>> 0, true)
  nonce.setUint32(8, Math.floor(n / 0x100000000), true)
}

export class CipherState {
  k: Uint8Array | undefined
  n = 0
  readonly #cipher: NoiseCipher

  constructor (provider: CryptoProvider, k?: Uint8Array) {
    this.#cipher = noiseCipherOf(provider)
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

  /** EncryptWithAd(ad, plaintext); without a key the plaintext is returned (§5.1) */
  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k == null) { return plaintext }
    const ct = this.#cipher.seal(this.k, this.#nextNonce(), ad, plaintext)
    this.n++
    return ct
  }

  /** DecryptWithAd(ad, ciphertext); throws on a bad tag without advancing n */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k == null) { return ciphertext }
    const pt = this.#cipher.open(this.k, this.#nextNonce(), ad, ciphertext)
    this.n++
    return pt
  }

  /** Transport: EncryptWithAd(zerolen, frame) on one array or a list of chunks */
  encrypt (plaintext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
    const ct = this.#cipher.seal(this.#key(), this.#nextNonce(), EMPTY, plaintext)
    this.n++
    return ct
  }

  /** Transport: DecryptWithAd(zerolen, frame); throws on a bad tag */
  decrypt (ciphertext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
    const pt = this.#cipher.open(this.#key(), this.#nextNonce(), EMPTY, ciphertext)
    this.n++
    return pt
  }

  /** Wipe k; the state can no longer encrypt */
  destroy (): void {
    this.k?.fill(0)
    this.k = undefined
  }

  #key (): Uint8Array {
    if (this.k == null) { throw new Error('CipherState has no key') }
    return this.k
  }

  #nextNonce (): Uint8Array {
    if (this.n >= MAX_NONCE) {
      throw new Error('Noise nonce exhausted; a new handshake is required')
    }
    writeNonce(NONCE_VIEW, this.n)
    return NONCE
  }
}
