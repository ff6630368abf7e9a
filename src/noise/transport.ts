/**
 * Transport-phase CipherStates (Noise §5.1 after Split, §12.3 ChaChaPoly)
 * with an empty ad. On the `node` provider frames under 1200 bytes go
 * through the WebAssembly ChaCha20-Poly1305 stock noise uses (a `node:crypto`
 * cipher object costs ~4 us to set up, as much as sealing 1 KB), larger ones
 * straight through `node:crypto`, feeding `Uint8ArrayList` chunks to the
 * cipher one by one so a fragmented frame is never concatenated. Other
 * providers use their AEAD.
 */
import crypto from 'node:crypto'
import { ChaCha20Poly1305, newInstance } from '@chainsafe/as-chacha20poly1305'
import { Uint8ArrayList } from 'uint8arraylist'
import { writeNonce } from './symmetric-state.js'
import type { CryptoProvider } from '../crypto/provider.js'

const TAGLEN = 16
const EMPTY = new Uint8Array(0)
const MAX_NONCE = Number.MAX_SAFE_INTEGER
/** Measured crossover between the WebAssembly and `node:crypto` ciphers (stock noise uses the same) */
const SMALL_FRAME = 1200

let wasm: ChaCha20Poly1305 | undefined
function small (): ChaCha20Poly1305 {
  wasm ??= new ChaCha20Poly1305(newInstance())
  return wasm
}

export interface TransportCipher {
  /** EncryptWithAd(zerolen, plaintext): ciphertext || tag */
  encrypt(plaintext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList
  /** DecryptWithAd(zerolen, ciphertext); throws on a bad tag. `dst` is a hint and may be ignored */
  decrypt(ciphertext: Uint8Array | Uint8ArrayList, dst?: Uint8Array): Uint8Array | Uint8ArrayList
  /** Wipe k */
  destroy(): void
}

abstract class CipherBase {
  protected k: Uint8Array
  protected n = 0
  protected readonly nonce = new Uint8Array(12)
  readonly #view = new DataView(this.nonce.buffer)

  constructor (k: Uint8Array) {
    this.k = k
  }

  /** Writes the nonce for n; `advance` moves on only after success (§5.1) */
  protected next (): void {
    if (this.n >= MAX_NONCE) {
      throw new Error('Noise nonce exhausted; a new handshake is required')
    }
    writeNonce(this.#view, this.n)
  }

  protected advance (): void {
    this.n++
  }

  destroy (): void {
    this.k.fill(0)
  }
}

class NodeTransportCipher extends CipherBase implements TransportCipher {
  encrypt (plaintext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
    this.next()
    this.advance()
    if (plaintext.byteLength < SMALL_FRAME) {
      return small().seal(this.k, this.nonce, plaintext.subarray(), EMPTY)
    }
    const c = crypto.createCipheriv('chacha20-poly1305', this.k, this.nonce, { authTagLength: TAGLEN })
    if (plaintext instanceof Uint8Array) {
      const body = c.update(plaintext)
      c.final()
      const tag = c.getAuthTag()
      const out = Buffer.allocUnsafe(body.byteLength + TAGLEN)
      out.set(body)
      out.set(tag, body.byteLength)
      return out
    }
    const out = new Uint8ArrayList()
    for (const chunk of plaintext) { out.append(c.update(chunk)) }
    c.final()
    out.append(c.getAuthTag())
    return out
  }

  decrypt (ciphertext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList {
    if (ciphertext.byteLength < TAGLEN) { throw new Error('ciphertext shorter than the tag') }
    this.next()
    if (ciphertext.byteLength < SMALL_FRAME) {
      const pt = small().open(this.k, this.nonce, ciphertext.subarray(), EMPTY)
      if (pt == null) { throw new Error('ChaCha20-Poly1305 authentication failed') }
      this.advance()
      return pt
    }
    const bodyLength = ciphertext.byteLength - TAGLEN
    const d = crypto.createDecipheriv('chacha20-poly1305', this.k, this.nonce, { authTagLength: TAGLEN })
    d.setAuthTag(ciphertext.subarray(bodyLength))
    if (ciphertext instanceof Uint8Array) {
      const body = d.update(ciphertext.subarray(0, bodyLength))
      d.final()
      this.advance()
      return body
    }
    const out = new Uint8ArrayList()
    for (const chunk of ciphertext.sublist(0, bodyLength)) { out.append(d.update(chunk)) }
    d.final()
    this.advance()
    return out
  }
}

class ProviderTransportCipher extends CipherBase implements TransportCipher {
  readonly #provider: CryptoProvider

  constructor (provider: CryptoProvider, k: Uint8Array) {
    super(k)
    this.#provider = provider
  }

  encrypt (plaintext: Uint8Array | Uint8ArrayList): Uint8Array {
    this.next()
    this.advance()
    return this.#provider.aead('chacha20-poly1305').seal(this.k, this.nonce, EMPTY, plaintext.subarray())
  }

  decrypt (ciphertext: Uint8Array | Uint8ArrayList): Uint8Array {
    if (ciphertext.byteLength < TAGLEN) { throw new Error('ciphertext shorter than the tag') }
    this.next()
    const pt = this.#provider.aead('chacha20-poly1305').open(this.k, this.nonce, EMPTY, ciphertext.subarray())
    this.advance()
    return pt
  }
}

/** A transport CipherState keyed with k (taken over; wiped by `destroy`) */
export function createTransportCipher (provider: CryptoProvider, k: Uint8Array): TransportCipher {
  return provider.name === 'node' ? new NodeTransportCipher(k) : new ProviderTransportCipher(provider, k)
}
