/**
 * HPKE base-mode throughput, KEM / HKDF-SHA256 / AES-128-GCM with KEM =
 * DHKEM(X25519, HKDF-SHA256) (0x0020) or X-Wing (0x647a): ours over
 * node:crypto, ours over `@noble/*`, and hpke-js (`@hpke/core`, with
 * `@hpke/hybridkem-x-wing` for X-Wing), which is the reference of each KEM's
 * "vs" column.
 *
 * Run: `npx tsx benchmarks/hpke.ts [--rounds 7] [--ms 300]`
 *
 * Operations, with the recipient public key imported once (as a client does
 * for a cached ECHConfig):
 * - sender: SetupBaseS + Seal(64-byte plaintext) + Export(32)
 * - recipient: SetupBaseR + Open + Export(32)
 *
 * Rounds alternate implementations after a warm-up round; each cell is the
 * median ops/s over the rounds.
 */
import crypto from 'node:crypto'
import { parseArgs } from 'node:util'
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { XWing } from '@hpke/hybridkem-x-wing'
import { nobleProvider } from '../src/crypto/noble.js'
import { nodeProvider } from '../src/crypto/node.js'
import { outerHelloLength } from '../src/ech/outer-hello.js'
import { setupBaseR, setupBaseS } from '../src/hpke/hpke.js'
import { getKem } from '../src/hpke/registry.js'
import type { CryptoProvider } from '../src/crypto/provider.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ms: { type: 'string', default: '300' }
  }
})
const ROUNDS = Number(values.rounds)
const SLICE_MS = Number(values.ms)

const info = Uint8Array.from(Buffer.concat([Buffer.from('libp2p-noise-ech v1'), Buffer.of(0), crypto.randomBytes(64)]))
const aad = Uint8Array.from(crypto.randomBytes(32))
const plaintext = Uint8Array.from(crypto.randomBytes(64))
const exporterContext = new TextEncoder().encode('libp2p-noise-ech psk')
// @hpke/core 1.9 has no ChaCha20-Poly1305 (a separate package), so the
// comparison runs AES-128-GCM on all three.
const X25519 = 0x0020
const X_WING = 0x647a
const suiteOf = (kemId: number): { kemId: number, kdfId: number, aeadId: number } => ({ kemId, kdfId: 0x0001, aeadId: 0x0001 })
const POOL = 16

interface Impl {
  name: string
  kemId: number
  sender(): unknown
  recipient(): unknown
}

function ours (provider: CryptoProvider, kemId = X25519): Impl {
  const SUITE = suiteOf(kemId)
  const kem = getKem(SUITE.kemId)
  if (kem == null) { throw new Error(`KEM 0x${kemId.toString(16)} is not registered`) }
  const skR = kem.generateKeyPair(provider)
  const pkR = kem.importPublicKey(provider, skR.publicKey)
  const pool = Array.from({ length: POOL }, () => {
    const { enc, context } = setupBaseS(provider, SUITE, pkR, info)
    return { enc, ct: context.seal(aad, plaintext) }
  })
  let i = 0
  return {
    name: `ours (${provider.name})`,
    kemId,
    sender: () => {
      const { enc, context } = setupBaseS(provider, SUITE, pkR, info)
      const ct = context.seal(aad, plaintext)
      const psk = context.export(exporterContext, 32)
      context.destroy()
      return [enc, ct, psk]
    },
    recipient: () => {
      const { enc, ct } = pool[i++ % POOL]
      const context = setupBaseR(provider, SUITE, enc, skR, info)
      const pt = context.open(aad, ct)
      const psk = context.export(exporterContext, 32)
      context.destroy()
      return [pt, psk]
    }
  }
}

async function hpkeCore (kemId = X25519): Promise<Impl> {
  const suite = new CipherSuite({ kem: kemId === X_WING ? new XWing() : new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() })
  const rkp = await suite.kem.generateKeyPair()
  const pkR = rkp.publicKey
  const pool = await Promise.all(Array.from({ length: POOL }, async () => {
    const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info })
    return { enc: sender.enc, ct: await sender.seal(plaintext, aad) }
  }))
  let i = 0
  return {
    name: kemId === X_WING ? '@hpke/core + hybridkem-x-wing' : '@hpke/core',
    kemId,
    sender: async () => {
      const context = await suite.createSenderContext({ recipientPublicKey: pkR, info })
      const ct = await context.seal(plaintext, aad)
      return [context.enc, ct, await context.export(exporterContext, 32)]
    },
    recipient: async () => {
      const { enc, ct } = pool[i++ % POOL]
      const context = await suite.createRecipientContext({ recipientKey: rkp, enc, info })
      return [await context.open(ct, aad), await context.export(exporterContext, 32)]
    }
  }
}

/** ops/s of `fn` over one time slice (awaited only when it returns a promise) */
async function slice (fn: () => unknown): Promise<number> {
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < SLICE_MS) {
    for (let k = 0; k < 8; k++) {
      const r = fn()
      if (r instanceof Promise) { await r }
    }
    ops += 8
    now = performance.now()
  }
  return ops / ((now - start) / 1000)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const impls = [
  ours(nodeProvider), ours(nobleProvider), await hpkeCore(),
  ours(nodeProvider, X_WING), ours(nobleProvider, X_WING), await hpkeCore(X_WING)
]
const kemLabel = (kemId: number): string => kemId === X_WING ? 'X-Wing' : 'X25519'
const ops = ['sender', 'recipient'] as const
const samples = new Map<string, number[]>()

for (let round = -1; round < ROUNDS; round++) {
  // rotate the order each round so no implementation always runs first
  const order = impls.map((_, k) => impls[(k + Math.max(round, 0)) % impls.length])
  for (const impl of order) {
    for (const op of ops) {
      const rate = await slice(impl[op])
      if (round >= 0) {
        const key = `${kemLabel(impl.kemId)}/${impl.name}/${op}`
        samples.set(key, [...(samples.get(key) ?? []), rate])
      }
    }
  }
}

// the hpke-js row of the same KEM is each row's reference
const reference = (kemId: number): Impl => impls.filter(i => i.kemId === kemId).slice(-1)[0]
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const lines = [
  `node ${process.version}, ${ROUNDS} rounds x ${SLICE_MS} ms, median ops/s; suite KEM/HKDF-SHA256/AES-128-GCM`,
  `info ${info.byteLength} B, plaintext ${plaintext.byteLength} B, aad ${aad.byteLength} B, export 32 B`,
  '',
  '| KEM | implementation | SetupS+Seal+Export | vs hpke-js | SetupR+Open+Export | vs hpke-js |',
  '|---|---|---:|---:|---:|---:|'
]
for (const impl of impls) {
  const cells = ops.flatMap(op => {
    const value = median(samples.get(`${kemLabel(impl.kemId)}/${impl.name}/${op}`) ?? [])
    const ref = median(samples.get(`${kemLabel(impl.kemId)}/${reference(impl.kemId).name}/${op}`) ?? [])
    return [fmt(value), `${(value / ref).toFixed(2)}x`]
  })
  lines.push(`| ${kemLabel(impl.kemId)} | ${impl.name} | ${cells.join(' | ')} |`)
}
// Wire cost: the ECH outer hello with a 64-byte inner hello (an Ed25519 PeerId
// padded, see src/handshake/ech.ts) sealed with a 16-byte tag
lines.push('', '| KEM | enc | outer hello | public key in ECHConfig |', '|---|---:|---:|---:|')
for (const kemId of [X25519, X_WING]) {
  const kem = getKem(kemId)
  if (kem == null) { continue }
  lines.push(`| ${kemLabel(kemId)} | ${kem.encLength} B | ${outerHelloLength(kem.encLength, 64 + 16)} B | ${kem.publicKeyLength} B |`)
}
process.stdout.write(lines.join('\n') + '\n')
