/**
 * `node:crypto` backend: synchronous and native. Private keys stay
 * `KeyObject`s for their whole life, so each DH costs one scalar
 * multiplication rather than a DER import plus one.
 */
import crypto from 'node:crypto'
import { ChaCha20Poly1305, newInstance } from '@chainsafe/as-chacha20poly1305'
import { Uint8ArrayList } from 'uint8arraylist'
import { assertNonZeroSharedSecret, checkLength } from './bytes.js'
import type { Aead, AeadId, CryptoProvider, DhPrivateKey, DhPublicKey, NoiseCipher } from './provider.js'

// Keys cross the JS boundary as JWK (RFC 8037 OKP): measured here, a JWK
// import or export costs 1-26 us where the DER (SPKI/PKCS#8) route costs
// 65-480 us, more than the scalar multiplication itself.

class NodeDhPrivateKey implements DhPrivateKey {
  readonly kind = 'x25519-private'
  readonly publicKey: Uint8Array
  #key: crypto.KeyObject | undefined

  constructor (key: crypto.KeyObject, publicKey: Uint8Array) {
    this.#key = key
    this.publicKey = publicKey
  }

  get keyObject (): crypto.KeyObject {
    if (this.#key == null) {
      throw new Error('X25519 private key was destroyed')
    }
    return this.#key
  }

  exportSecret (): Uint8Array {
    const jwk = this.keyObject.export({ format: 'jwk' })
    return new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'))
  }

  destroy (): void {
    // A KeyObject's memory cannot be zeroed from JS; dropping the only
    // reference is the most that can be done.
    this.#key = undefined
  }
}

class NodeDhPublicKey implements DhPublicKey {
  readonly kind = 'x25519-public'
  readonly bytes: Uint8Array
  readonly keyObject: crypto.KeyObject

  constructor (bytes: Uint8Array, keyObject: crypto.KeyObject) {
    this.bytes = bytes
    this.keyObject = keyObject
  }
}

function rawPublicKey (key: crypto.KeyObject): Uint8Array {
  const b = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url')
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

function importPublic (publicKey: Uint8Array): NodeDhPublicKey {
  checkLength(publicKey, 32, 'X25519 public key')
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url')
  const keyObject = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' })
  return new NodeDhPublicKey(Uint8Array.from(publicKey), keyObject)
}

function makeAead (id: AeadId): Aead {
  const cipher = id === 'chacha20-poly1305' ? 'chacha20-poly1305' : 'aes-128-gcm'
  const keyLength = id === 'chacha20-poly1305' ? 32 : 16

  return {
    keyLength,
    nonceLength: 12,
    tagLength: 16,
    seal (key, nonce, aad, plaintext) {
      const c = crypto.createCipheriv(cipher as crypto.CipherGCMTypes, key, nonce, { authTagLength: 16 })
      c.setAAD(aad, { plaintextLength: plaintext.byteLength })
      const body = c.update(plaintext)
      c.final()
      const out = new Uint8Array(body.byteLength + 16)
      out.set(body)
      out.set(c.getAuthTag(), body.byteLength)
      return out
    },
    open (key, nonce, aad, ciphertext) {
      if (ciphertext.byteLength < 16) {
        throw new Error('ciphertext shorter than the tag')
      }
      const d = crypto.createDecipheriv(cipher as crypto.CipherGCMTypes, key, nonce, { authTagLength: 16 })
      const bodyLength = ciphertext.byteLength - 16
      d.setAAD(aad, { plaintextLength: bodyLength })
      d.setAuthTag(ciphertext.subarray(bodyLength))
      const body = d.update(ciphertext.subarray(0, bodyLength))
      d.final()
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
    }
  }
}

const TAG_LENGTH = 16
/**
 * Below this many bytes the WebAssembly ChaCha20-Poly1305 that stock noise
 * uses wins (a `node:crypto` cipher object costs ~4 us to set up, as much as
 * sealing 1 KB); from it on, `node:crypto` (stock noise's crossover too).
 */
const SMALL_INPUT = 1200

let wasm: ChaCha20Poly1305 | undefined
function small (): ChaCha20Poly1305 {
  wasm ??= new ChaCha20Poly1305(newInstance())
  return wasm
}

/**
 * Small inputs through the WebAssembly cipher, large ones through
 * `node:crypto`, feeding a list's chunks to the cipher one by one so a
 * fragmented frame is never concatenated.
 */
const noiseCipher: NoiseCipher = {
  seal (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | Uint8ArrayList): any {
    if (plaintext.byteLength < SMALL_INPUT) {
      return small().seal(key, nonce, plaintext.subarray(), ad)
    }
    const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
    if (ad.byteLength > 0) { c.setAAD(ad, { plaintextLength: plaintext.byteLength }) }
    if (plaintext instanceof Uint8Array) {
      const body = c.update(plaintext)
      c.final()
      const out = Buffer.allocUnsafe(body.byteLength + TAG_LENGTH)
      out.set(body)
      out.set(c.getAuthTag(), body.byteLength)
      return out
    }
    const out = new Uint8ArrayList()
    for (const chunk of plaintext) { out.append(c.update(chunk)) }
    c.final()
    out.append(c.getAuthTag())
    return out
  },

  open (key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList): any {
    if (ciphertext.byteLength < TAG_LENGTH) { throw new Error('ciphertext shorter than the tag') }
    if (ciphertext.byteLength < SMALL_INPUT) {
      const plaintext = small().open(key, nonce, ciphertext.subarray(), ad)
      if (plaintext == null) { throw new Error('ChaCha20-Poly1305 authentication failed') }
      return plaintext
    }
    const bodyLength = ciphertext.byteLength - TAG_LENGTH
    const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
    if (ad.byteLength > 0) { d.setAAD(ad, { plaintextLength: bodyLength }) }
    d.setAuthTag(ciphertext.subarray(bodyLength))
    if (ciphertext instanceof Uint8Array) {
      const body = d.update(ciphertext.subarray(0, bodyLength))
      d.final()
      return body
    }
    const out = new Uint8ArrayList()
    for (const chunk of ciphertext.sublist(0, bodyLength)) { out.append(d.update(chunk)) }
    d.final()
    return out
  }
}

const aeads: Record<AeadId, Aead> = {
  'chacha20-poly1305': makeAead('chacha20-poly1305'),
  'aes-128-gcm': makeAead('aes-128-gcm')
}

/**
 * The default crypto backend: `node:crypto` (native X25519, SHA-256, HMAC, AES-GCM,
 * ChaCha20-Poly1305); synchronous
 */
export const nodeProvider: CryptoProvider = {
  name: 'node',

  randomBytes (length) {
    return new Uint8Array(crypto.randomBytes(length))
  },

  sha256 (...parts) {
    const h = crypto.createHash('sha256')
    for (const p of parts) { h.update(p) }
    return new Uint8Array(h.digest())
  },

  hmacSha256 (key, ...parts) {
    const h = crypto.createHmac('sha256', key)
    for (const p of parts) { h.update(p) }
    return new Uint8Array(h.digest())
  },

  x25519Generate () {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('x25519')
    return new NodeDhPrivateKey(privateKey, rawPublicKey(publicKey))
  },

  x25519FromSecret (secret) {
    checkLength(secret, 32, 'X25519 private key')
    // node requires `x` to be a string but derives the public key from `d`;
    // it is read back from the key rather than trusted.
    const d = Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength).toString('base64url')
    const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' })
    return new NodeDhPrivateKey(key, rawPublicKey(key))
  },

  x25519ImportPublic (publicKey) {
    return importPublic(publicKey)
  },

  x25519 (privateKey, publicKey) {
    if (!(privateKey instanceof NodeDhPrivateKey)) {
      throw new TypeError('private key is not a node:crypto X25519 key')
    }
    const pub = publicKey instanceof NodeDhPublicKey ? publicKey : importPublic(publicKey instanceof Uint8Array ? publicKey : publicKey.bytes)
    let shared: Buffer
    try {
      shared = crypto.diffieHellman({ privateKey: privateKey.keyObject, publicKey: pub.keyObject })
    } catch {
      // OpenSSL refuses an all-zero result (small-order point)
      throw new Error('X25519 produced the all-zero shared secret')
    }
    const out = new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength)
    assertNonZeroSharedSecret(out)
    return out
  },

  aead (id) {
    return aeads[id]
  },

  noiseCipher
}
