/**
 * Portable backend over `@noble/curves`, `@noble/hashes` and
 * `@noble/ciphers` (audited, pure JS). Slower than `node:crypto` (an X25519
 * DH is ~1 ms here) but runs anywhere.
 */
import { gcm } from '@noble/ciphers/aes.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { randomBytes } from '@noble/ciphers/utils.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { assertNonZeroSharedSecret, checkLength } from './bytes.js'
import type { Aead, AeadId, CryptoProvider, DhPrivateKey, DhPublicKey, NoiseCipher } from './provider.js'
import type { Uint8ArrayList } from 'uint8arraylist'

class NobleDhPrivateKey implements DhPrivateKey {
  readonly kind = 'x25519-private'
  readonly publicKey: Uint8Array
  #secret: Uint8Array | undefined

  constructor (secret: Uint8Array) {
    this.#secret = secret
    this.publicKey = x25519.getPublicKey(secret)
  }

  get secret (): Uint8Array {
    if (this.#secret == null) {
      throw new Error('X25519 private key was destroyed')
    }
    return this.#secret
  }

  exportSecret (): Uint8Array {
    return Uint8Array.from(this.secret)
  }

  destroy (): void {
    this.#secret?.fill(0)
    this.#secret = undefined
  }
}

function makeAead (id: AeadId): Aead {
  const keyLength = id === 'chacha20-poly1305' ? 32 : 16
  const make = id === 'chacha20-poly1305' ? chacha20poly1305 : gcm
  return {
    keyLength,
    nonceLength: 12,
    tagLength: 16,
    seal (key, nonce, aad, plaintext) {
      return make(key, nonce, aad).encrypt(plaintext)
    },
    open (key, nonce, aad, ciphertext) {
      return make(key, nonce, aad).decrypt(ciphertext)
    }
  }
}

/** Lists are joined once (`subarray`); noble ciphers take one array */
const noiseCipher: NoiseCipher = {
  seal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | Uint8ArrayList): Uint8Array {
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext.subarray())
  },
  open (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList): Uint8Array {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext.subarray())
  }
}

const aeads: Record<AeadId, Aead> = {
  'chacha20-poly1305': makeAead('chacha20-poly1305'),
  'aes-128-gcm': makeAead('aes-128-gcm')
}

/**
 * A portable, pure-JS crypto backend over `@noble/curves`, `@noble/hashes` and `@noble/ciphers`,
 * for runtimes without `node:crypto`
 */
export const nobleProvider: CryptoProvider = {
  name: 'noble',

  randomBytes (length) {
    return randomBytes(length)
  },

  sha256 (...parts) {
    const h = sha256.create()
    for (const p of parts) { h.update(p) }
    return h.digest()
  },

  hmacSha256 (key, ...parts) {
    const h = hmac.create(sha256, key)
    for (const p of parts) { h.update(p) }
    return h.digest()
  },

  x25519Generate () {
    return new NobleDhPrivateKey(x25519.utils.randomSecretKey())
  },

  x25519FromSecret (secret) {
    checkLength(secret, 32, 'X25519 private key')
    return new NobleDhPrivateKey(Uint8Array.from(secret))
  },

  x25519ImportPublic (publicKey): DhPublicKey {
    checkLength(publicKey, 32, 'X25519 public key')
    return { kind: 'x25519-public', bytes: Uint8Array.from(publicKey) }
  },

  x25519 (privateKey, publicKey) {
    if (!(privateKey instanceof NobleDhPrivateKey)) {
      throw new TypeError('private key is not a noble X25519 key')
    }
    const pub = publicKey instanceof Uint8Array ? publicKey : publicKey.bytes
    checkLength(pub, 32, 'X25519 public key')
    let shared: Uint8Array
    try {
      shared = x25519.getSharedSecret(privateKey.secret, pub)
    } catch {
      throw new Error('X25519 produced the all-zero shared secret')
    }
    assertNonZeroSharedSecret(shared)
    return shared
  },

  aead (id) {
    return aeads[id]
  },

  noiseCipher
}
