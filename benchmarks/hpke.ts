/**
 * HPKE base-mode throughput, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM: ours over node:crypto, ours over
 * `@noble/*`, and `@hpke/core`.
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
import { setupBaseR, setupBaseS } from '../src/hpke/hpke.js'
import { nobleProvider } from '../src/hpke/provider-noble.js'
import { nodeProvider } from '../src/hpke/provider-node.js'
import { getKem } from '../src/hpke/registry.js'
import type { CryptoProvider } from '../src/hpke/provider.js'

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
const SUITE = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001 }
const POOL = 16

interface Impl {
  name: string
  sender(): unknown
  recipient(): unknown
}

function ours (provider: CryptoProvider): Impl {
  const kem = getKem(SUITE.kemId)
  if (kem == null) { throw new Error('DHKEM(X25519) is not registered') }
  const skR = kem.generateKeyPair(provider)
  const pkR = kem.importPublicKey(provider, skR.publicKey)
  const pool = Array.from({ length: POOL }, () => {
    const { enc, context } = setupBaseS(provider, SUITE, pkR, info)
    return { enc, ct: context.seal(aad, plaintext) }
  })
  let i = 0
  return {
    name: `ours (${provider.name})`,
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

async function hpkeCore (): Promise<Impl> {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() })
  const rkp = await suite.kem.generateKeyPair()
  const pkR = rkp.publicKey
  const pool = await Promise.all(Array.from({ length: POOL }, async () => {
    const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info })
    return { enc: sender.enc, ct: await sender.seal(plaintext, aad) }
  }))
  let i = 0
  return {
    name: '@hpke/core',
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

const impls = [ours(nodeProvider), ours(nobleProvider), await hpkeCore()]
const ops = ['sender', 'recipient'] as const
const samples = new Map<string, number[]>()

for (let round = -1; round < ROUNDS; round++) {
  // rotate the order each round so no implementation always runs first
  const order = impls.map((_, k) => impls[(k + Math.max(round, 0)) % impls.length])
  for (const impl of order) {
    for (const op of ops) {
      const rate = await slice(impl[op])
      if (round >= 0) {
        const key = `${impl.name}/${op}`
        samples.set(key, [...(samples.get(key) ?? []), rate])
      }
    }
  }
}

const reference = impls[impls.length - 1].name
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const lines = [
  `node ${process.version}, ${ROUNDS} rounds x ${SLICE_MS} ms, median ops/s; suite X25519/HKDF-SHA256/AES-128-GCM`,
  `info ${info.byteLength} B, plaintext ${plaintext.byteLength} B, aad ${aad.byteLength} B, export 32 B`,
  '',
  '| implementation | SetupS+Seal+Export | vs @hpke/core | SetupR+Open+Export | vs @hpke/core |',
  '|---|---:|---:|---:|---:|'
]
for (const impl of impls) {
  const cells = ops.flatMap(op => {
    const value = median(samples.get(`${impl.name}/${op}`) ?? [])
    const ref = median(samples.get(`${reference}/${op}`) ?? [])
    return [fmt(value), `${(value / ref).toFixed(2)}x`]
  })
  lines.push(`| ${impl.name} | ${cells.join(' | ')} |`)
}
process.stdout.write(lines.join('\n') + '\n')
