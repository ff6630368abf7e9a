/**
 * How long a responder takes to refuse an outer hello, by whether its
 * `config_id` names a live key (SECURITY.md §7: refusal timing must not tell
 * a prober which config_ids are live). A measurement, not a test: it prints
 * medians and asserts nothing.
 *
 * Run: `npx tsx test/ech/open-timing.ts [--n 400] [--provider node|noble]`
 *
 * The responder holds one X25519 key (config_id 7) and one X-Wing key
 * (config_id 9). Each hello is sealed to a key the responder does not hold
 * (so the open always fails), and names either the live config_id of its KEM
 * ("matching") or a dead one ("not matching"). Cases are interleaved in a
 * fresh random order each round, so drift and GC hit them alike.
 */
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createEchOffer } from '../../src/config/offer.js'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { decodeOuterHello } from '../../src/ech/outer-hello.js'
import { openOuterHello, sealOuterHello } from '../../src/ech/seal.js'
import { generateEchKey } from '../../src/keys/generate.js'
import type { EchOuterHello } from '../../src/ech/outer-hello.js'

const { values } = parseArgs({ options: { n: { type: 'string', default: '400' }, provider: { type: 'string', default: 'node' } } })
const N = Number(values.n)
const provider = values.provider === 'noble' ? nobleProvider : nodeProvider

const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const local = peer.toMultihash().bytes
const live = [
  await generateEchKey({ kem: 'x25519', configId: 7, provider }),
  await generateEchKey({ kem: 'x-wing', configId: 9, provider })
]
const keys = live.map(k => ({ config: k.config, privateKey: k.privateKey }))
const ePublic = provider.x25519Generate().publicKey

/** A hello sealed to a key nobody holds, naming `configId` */
async function hello (kem: string, configId: number): Promise<EchOuterHello> {
  const stranger = await generateEchKey({ kem, configId: 200, provider })
  const sealed = sealOuterHello(provider, ePublic, { offer: createEchOffer(provider, stranger.config), targetPeer: local })
  sealed.psk.fill(0)
  return { ...decodeOuterHello(sealed.hello), configId }
}

const cases = [
  { name: 'x25519, matching config_id', hello: await hello('x25519', 7) },
  { name: 'x25519, not matching', hello: await hello('x25519', 8) },
  { name: 'x-wing, matching config_id', hello: await hello('x-wing', 9) },
  { name: 'x-wing, not matching', hello: await hello('x-wing', 10) }
]
const samples: number[][] = cases.map(() => [])
for (let round = -20; round < N; round++) {
  const order = cases.map((_, i) => i).sort(() => Math.random() - 0.5)
  for (const i of order) {
    const c = cases[i]
    const start = process.hrtime.bigint()
    const result = openOuterHello(provider, ePublic, c.hello, keys, local)
    const elapsed = Number(process.hrtime.bigint() - start) / 1000
    if (result.accepted) { throw new Error('a hello to a stranger key was accepted') }
    // the first 20 rounds warm up the JIT and the lazily made keys
    if (round >= 0) { samples[i].push(elapsed) }
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
process.stdout.write(`openOuterHello refusal, ${provider.name} provider, median of ${N} (µs)\n`)
cases.forEach((c, i) => {
  const m = median(samples[i])
  process.stdout.write(`  ${c.name.padEnd(28)} ${m.toFixed(1).padStart(8)}\n`)
})
