/**
 * The browser backend (`default.browser.ts` selects it through package.json's
 * `browser` map): the platform where a primitive can be called synchronously,
 * `@noble/*` everywhere else.
 *
 * The Noise XX and HPKE state machines call `CryptoProvider` synchronously,
 * once or more per handshake message, as stock `@chainsafe/libp2p-noise`
 * calls its crypto (its browser backend is pure-JS `@noble/*` too,
 * `dist/src/crypto/js.js`). WebCrypto's `crypto.subtle` answers only with
 * promises, so it cannot sit under a synchronous interface without turning
 * the engine async. Per primitive:
 *
 * - random bytes: `crypto.getRandomValues`, native and synchronous;
 * - SHA-256, HMAC-SHA-256 (and HKDF over it, RFC 5869), X25519 (RFC 7748) and
 * AES-128-GCM (HPKE): `@noble/*`. All four are in `crypto.subtle` in current
 * Chromium and Firefox, but promise-only, and the handshake needs each
 * synchronously;
 * - ChaCha20-Poly1305 (Noise §12.3, HPKE): `@noble/ciphers`, as stock Noise
 * does in browsers; WebCrypto has no ChaCha20-Poly1305 at all;
 * - key handles: X25519 private keys hold their scalar in a `Uint8Array` that
 * `destroy()` zeroes. A non-extractable `CryptoKey` could be used only through
 * `subtle.deriveBits`, a promise, so the handshake could not use it; ECH
 * keys are therefore not non-extractable `CryptoKey`s.
 *
 * What native WebCrypto would buy per primitive, measured in Chromium
 * (`benchmarks/browser-primitives.ts`), is in README.md "Browsers".
 */
import { nobleProvider } from './noble.js'
import type { CryptoProvider } from './provider.js'

/** `getRandomValues` fills at most 65536 bytes per call (WebCrypto §10.1.1 QuotaExceededError) */
const RANDOM_QUOTA = 65536

function randomBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let offset = 0; offset < length; offset += RANDOM_QUOTA) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + RANDOM_QUOTA)))
  }
  return out
}

/**
 * The browser backend: `crypto.getRandomValues` for randomness, `@noble/*`
 * for SHA-256, HMAC, X25519, AES-128-GCM and ChaCha20-Poly1305 (WebCrypto's
 * are promise-only; the engine is synchronous). Also runs on Node and in
 * workers: nothing in it needs a DOM.
 */
export const browserProvider: CryptoProvider = {
  ...nobleProvider,
  name: 'browser',
  randomBytes
}
