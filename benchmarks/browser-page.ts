/**
 * The page of `benchmarks/browser.ts`, bundled for Chromium with the
 * package's browser backend. Two measurements, each returned as numbers:
 *
 * - `primitives()`: per primitive the Noise XX and HPKE engines use, the
 * `@noble/*` call the browser backend makes (synchronous) against the same
 * operation through WebCrypto (`crypto.subtle`, awaited one by one, as a
 * synchronous engine cannot use it), in µs per operation; `null` where
 * WebCrypto lacks the algorithm.
 * - `handshakes()`: `echNoise` (ECH accepted) against stock `noise()`, both
 * roles in this page over an in-memory `multiaddrConnectionPair()`,
 * interleaved in batches with a rotating order.
 */
import '../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { gcm } from '@noble/ciphers/aes.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { extract, expand } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { defaultProvider } from '../src/crypto/default.js'
import { ECH_PEER_STORE_KEY, echNoise } from '../src/index.js'
import { components, identity, pair } from './setup.js'
import type { EchNoise } from '../src/index.js'
import type { ConnectionEncrypter } from '@libp2p/interface'

const subtle = globalThis.crypto.subtle
const random = (n: number): Uint8Array<ArrayBuffer> => globalThis.crypto.getRandomValues(new Uint8Array(n))

/** Median µs per operation over `rounds` rounds of `n` calls */
async function time (n: number, rounds: number, op: () => unknown): Promise<number> {
  const results: number[] = []
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) { await op() }
    const us = (performance.now() - t0) * 1000 / n
    if (r > 0) { results.push(us) } // the first round warms up
  }
  results.sort((a, b) => a - b)
  return results[Math.floor(results.length / 2)]
}

/** WebCrypto's timing, or null when the browser lacks the algorithm */
async function timeSubtle (n: number, rounds: number, setup: () => Promise<() => Promise<unknown>>): Promise<number | null> {
  let op: () => Promise<unknown>
  try {
    op = await setup()
    await op()
  } catch {
    return null
  }
  return time(n, rounds, op)
}

interface Row { primitive: string, noble: number, webcrypto: number | null, note: string }

async function primitives (n = 200, rounds = 5): Promise<Row[]> {
  const rows: Row[] = []
  const m64 = random(64)
  const k1 = random(1024)
  const m100 = random(100)
  const m64k = random(65536)
  const key32 = random(32)
  const key16 = random(16)
  const nonce = random(12)

  rows.push({ primitive: 'SHA-256, 64 B', noble: await time(n, rounds, () => sha256(m64)), webcrypto: await timeSubtle(n, rounds, async () => async () => subtle.digest('SHA-256', m64)), note: '' })
  rows.push({ primitive: 'SHA-256, 1 KiB', noble: await time(n, rounds, () => sha256(k1)), webcrypto: await timeSubtle(n, rounds, async () => async () => subtle.digest('SHA-256', k1)), note: '' })
  rows.push({
    primitive: 'HMAC-SHA-256, 64 B, new key each call',
    noble: await time(n, rounds, () => hmac(sha256, key32, m64)),
    webcrypto: await timeSubtle(n, rounds, async () => async () => {
      const k = await subtle.importKey('raw', key32, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      return subtle.sign('HMAC', k, m64)
    }),
    note: 'Noise and HPKE key HMAC with a fresh chaining key each time'
  })
  rows.push({
    primitive: 'HKDF-SHA-256, 3 × 32 B out (Noise MixKey/Split)',
    noble: await time(n, rounds, () => expand(sha256, extract(sha256, key32, key32), undefined, 96)),
    webcrypto: await timeSubtle(n, rounds, async () => async () => {
      const k = await subtle.importKey('raw', key32, 'HKDF', false, ['deriveBits'])
      return subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: key32, info: new Uint8Array(0) }, k, 768)
    }),
    note: ''
  })
  const alice = x25519.utils.randomSecretKey()
  const bobPub = x25519.getPublicKey(x25519.utils.randomSecretKey())
  rows.push({
    primitive: 'X25519 DH, peer key imported each call',
    noble: await time(n, rounds, () => x25519.getSharedSecret(alice, bobPub)),
    webcrypto: await timeSubtle(n, rounds, async () => {
      const pair = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']) as CryptoKeyPair
      return async () => {
        const pub = await subtle.importKey('raw', bobPub, { name: 'X25519' }, false, [])
        return subtle.deriveBits({ name: 'X25519', public: pub }, pair.privateKey, 256)
      }
    }),
    note: 'every DH of a handshake is with a key that just arrived'
  })
  rows.push({
    primitive: 'X25519 key pair',
    noble: await time(n, rounds, () => x25519.getPublicKey(x25519.utils.randomSecretKey())),
    webcrypto: await timeSubtle(n, rounds, async () => async () => {
      const kp = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']) as CryptoKeyPair
      return subtle.exportKey('raw', kp.publicKey)
    }),
    note: 'one ephemeral per handshake; non-extractable on the WebCrypto side'
  })
  const edSecret = ed25519.utils.randomSecretKey()
  const edPub = ed25519.getPublicKey(edSecret)
  const sig = ed25519.sign(m64, edSecret)
  rows.push({
    primitive: 'Ed25519 sign, 64 B',
    noble: await time(n, rounds, () => ed25519.sign(m64, edSecret)),
    webcrypto: await timeSubtle(n, rounds, async () => {
      const kp = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
      return async () => subtle.sign('Ed25519', kp.privateKey, m64)
    }),
    note: 'identity signature: @libp2p/crypto, awaited; native where present'
  })
  rows.push({
    primitive: 'Ed25519 verify, 64 B',
    noble: await time(n, rounds, () => ed25519.verify(sig, m64, edPub)),
    webcrypto: await timeSubtle(n, rounds, async () => async () => {
      const k = await subtle.importKey('raw', edPub, 'Ed25519', false, ['verify'])
      return subtle.verify('Ed25519', k, sig, m64)
    }),
    note: 'as above'
  })
  for (const [label, data] of [['100 B', m100], ['64 KiB', m64k]] as const) {
    rows.push({
      primitive: `AES-128-GCM seal, ${label}`,
      noble: await time(n, rounds, () => gcm(key16, nonce).encrypt(data)),
      webcrypto: await timeSubtle(n, rounds, async () => {
        const k = await subtle.importKey('raw', key16, 'AES-GCM', false, ['encrypt'])
        return async () => subtle.encrypt({ name: 'AES-GCM', iv: nonce }, k, data)
      }),
      note: 'HPKE outer hello (one per offer)'
    })
    rows.push({
      primitive: `ChaCha20-Poly1305 seal, ${label}`,
      noble: await time(n, rounds, () => chacha20poly1305(key32, nonce).encrypt(data)),
      webcrypto: null,
      note: 'Noise handshake and transport frames; not in WebCrypto'
    })
  }
  rows.push({ primitive: 'random 32 B', noble: await time(n, rounds, () => defaultProvider.randomBytes(32)), webcrypto: await time(n, rounds, () => globalThis.crypto.getRandomValues(new Uint8Array(32))), note: 'the browser backend calls getRandomValues itself' })
  return rows
}

interface Variant { name: 'stock' | 'ech-accepted', initiator: ConnectionEncrypter, responder: ConnectionEncrypter, ms: number[] }

async function handshakes (count = 300, warmup = 30, batch = 10): Promise<{ provider: string, results: Record<string, { median: number, perSecond: number }>, checked: string[] }> {
  const A = await identity()
  const B = await identity()
  const stock: Variant = { name: 'stock', initiator: noise()(components(A)), responder: noise()(components(B)), ms: [] }
  const ca = components(A)
  const initiator: EchNoise = echNoise()(ca)
  const responder: EchNoise = echNoise()(components(B))
  await Promise.all([initiator.start(), responder.start()])
  await ca.peerStore.merge(B.peerId, { metadata: { [ECH_PEER_STORE_KEY]: responder.getEchConfigList() } })
  const ech: Variant = { name: 'ech-accepted', initiator, responder, ms: [] }
  const checked: string[] = []

  const once = async (v: Variant, record: boolean): Promise<void> => {
    const [a, b] = pair()
    const signal = AbortSignal.timeout(10_000)
    const t0 = performance.now()
    await Promise.all([v.initiator.secureOutbound(a, { remotePeer: B.peerId, signal }), v.responder.secureInbound(b, { signal })])
    const ms = performance.now() - t0
    if (record) { v.ms.push(ms) }
    if (v === ech && (checked.length === 0 || !record)) {
      checked.push(`${initiator.getConnectionInfo(a)?.outcome}/${responder.getConnectionInfo(b)?.outcome}`)
    }
    await Promise.all([a.close(), b.close()])
  }
  for (let i = 0; i < warmup; i++) { await once(stock, false); await once(ech, false) }
  for (let done = 0, turn = 0; done < count; done += batch, turn++) {
    const order = turn % 2 === 0 ? [stock, ech] : [ech, stock]
    for (const v of order) {
      for (let i = 0; i < Math.min(batch, count - done); i++) { await once(v, true) }
    }
  }
  await Promise.all([initiator.stop(), responder.stop()])
  const results: Record<string, { median: number, perSecond: number }> = {}
  for (const v of [stock, ech]) {
    const sorted = [...v.ms].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]
    results[v.name] = { median, perSecond: 1000 * v.ms.length / v.ms.reduce((a, b) => a + b, 0) }
  }
  return { provider: defaultProvider.name, results, checked: [...new Set(checked)] }
}

Object.assign(globalThis, { bench: { primitives, handshakes } })
