/**
 * X-Wing ECH handshake cost: `echNoise` with an X-Wing key (HPKE KEM 0x647a)
 * against the stock `@chainsafe/libp2p-noise` encrypter and against
 * `echNoise` with a DHKEM(X25519) key, in one interleaved run, both ends in
 * one process over an in-memory `multiaddrConnectionPair()`.
 *
 * Run: `npx tsx benchmarks/xwing.ts [--handshakes 300] [--warmup 50] [--batch 10]`
 * (or env `BENCH_HANDSHAKES=...`).
 *
 * Handshake time: from calling `secureOutbound` + `secureInbound` until both
 * resolve (the CPU of both roles). Variants take turns in batches, the order
 * rotating each round, so machine noise hits all alike. Bytes on the wire: the
 * bytes each side passes to `send()` during the handshake (Noise frames with
 * their 2-byte length prefixes; no multistream-select, which this path does
 * not run). Timings are reported, never asserted; the target
 * (X-Wing ≤ 2.5x stock) is printed next to the measurement.
 */
import '../src/polyfill.js'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { ECH_PEER_STORE_KEY, echNoise, generateEchKey } from '../src/index.js'
import { components, fmt, identity, out, pair, quantile, sorted, table } from './setup.js'
import type { EchNoise } from '../src/index.js'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

const { values } = parseArgs({
  options: {
    handshakes: { type: 'string' },
    warmup: { type: 'string' },
    batch: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})
if (values.help === true) {
  process.stdout.write('npx tsx benchmarks/xwing.ts [--handshakes 300] [--warmup 50] [--batch 10]   (or env BENCH_HANDSHAKES, BENCH_WARMUP, BENCH_BATCH)\n')
  process.exit(0)
}

function count (name: 'handshakes' | 'warmup' | 'batch', fallback: number, min: number): number {
  const raw = values[name] ?? process.env[`BENCH_${name.toUpperCase()}`]
  const n = raw == null ? fallback : Number(raw)
  if (!Number.isInteger(n) || n < min) { throw new Error(`--${name} must be an integer >= ${min}`) }
  return n
}

const HANDSHAKES = count('handshakes', 300, 1)
const WARMUP = count('warmup', 50, 0)
const BATCH = count('batch', 10, 1)
const TARGET_RATIO = 2.5

// ---------------------------------------------------------------- set-up (shared pieces in ./setup.ts)

type VariantName = 'stock' | 'ech-x25519' | 'ech-xwing'

interface Variant {
  name: VariantName
  label: string
  initiator: ConnectionEncrypter
  responder: ConnectionEncrypter
  configId?: number
}

const A = await identity()
const B = await identity()

/** An accepted-ECH pair whose responder holds one key of this KEM */
async function echVariant (name: VariantName, label: string, kem: string): Promise<Variant> {
  const key = await generateEchKey({ kem })
  const initiatorComponents = components(A)
  const initiator = echNoise()(initiatorComponents)
  const responder = echNoise({ keys: [key] })(components(B))
  await Promise.all([initiator.start(), responder.start()])
  await initiatorComponents.peerStore.merge(B.peerId, { metadata: { [ECH_PEER_STORE_KEY]: responder.getEchConfigList() } })
  return { name, label, initiator, responder, configId: key.config.configId }
}

const VARIANTS: Variant[] = [
  { name: 'stock', label: 'stock noise()', initiator: noise()(components(A)), responder: noise()(components(B)) },
  await echVariant('ech-x25519', 'echNoise, ECH DHKEM(X25519)', 'x25519'),
  await echVariant('ech-xwing', 'echNoise, ECH X-Wing', 'x-wing')
]

// ---------------------------------------------------------------- measuring

/** Count what `stream` sends from now on */
function countSends (stream: MessageStream): { bytes: number, frames: number[] } {
  const counter = { bytes: 0, frames: [] as number[] }
  const send = stream.send.bind(stream)
  stream.send = (data) => {
    counter.bytes += data.byteLength
    counter.frames.push(data.byteLength)
    return send(data)
  }
  return counter
}

interface Sample { ms: number, bytes: number, frames: number[] }

async function handshake (variant: Variant): Promise<Sample> {
  const [a, b] = pair()
  const sentA = countSends(a)
  const sentB = countSends(b)
  // the libp2p upgrader always passes a per-connection deadline
  const signal = AbortSignal.timeout(30_000)
  const start = performance.now()
  const [outbound, inbound] = await Promise.all([
    variant.initiator.secureOutbound(a, { remotePeer: B.peerId, signal }),
    variant.responder.secureInbound(b, { signal })
  ])
  const ms = performance.now() - start
  if (!outbound.remotePeer.equals(B.peerId) || !inbound.remotePeer.equals(A.peerId)) {
    throw new Error(`${variant.name}: handshake authenticated the wrong peers`)
  }
  if (variant.configId != null) {
    const o = (variant.initiator as EchNoise).getConnectionInfo(a)
    const i = (variant.responder as EchNoise).getConnectionInfo(b)
    if (o?.outcome !== 'accepted' || i?.outcome !== 'accepted' || o.configId !== variant.configId || i.configId !== variant.configId) {
      throw new Error(`${variant.name}: expected ECH accepted with config ${variant.configId}, got ${o?.outcome}/${i?.outcome}`)
    }
  }
  // initiator frames are messages 1 and 3, the responder's is message 2
  const frames = [sentA.frames[0], sentB.frames[0], sentA.frames[1]]
  const done = new Error('benchmark done')
  a.abort(done)
  b.abort(done)
  await new Promise(resolve => setImmediate(resolve))
  return { ms, bytes: sentA.bytes + sentB.bytes, frames }
}

// ---------------------------------------------------------------- run

out(`node ${process.version} ${os.platform()}/${os.arch()}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'})`)
out('stock noise() vs echNoise (DHKEM(X25519), X-Wing) over multiaddrConnectionPair(); Ed25519 identities, no stream muxers')

const samples = new Map<VariantName, Sample[]>(VARIANTS.map(v => [v.name, []]))
const warmRounds = Math.ceil(WARMUP / BATCH)
const rounds = Math.ceil(HANDSHAKES / BATCH)
const began = performance.now()
for (let round = -warmRounds; round < rounds; round++) {
  const turn = ((round % VARIANTS.length) + VARIANTS.length) % VARIANTS.length
  for (let k = 0; k < VARIANTS.length; k++) {
    const variant = VARIANTS[(k + turn) % VARIANTS.length]
    const n = round < 0 ? BATCH : Math.min(BATCH, HANDSHAKES - round * BATCH)
    for (let i = 0; i < n; i++) {
      const sample = await handshake(variant)
      if (round >= 0) { samples.get(variant.name)?.push(sample) }
    }
  }
}
const seconds = (performance.now() - began) / 1000

out()
out(`## Handshake time: ${HANDSHAKES} per variant after ${warmRounds * BATCH} warm-up, interleaved in batches of ${BATCH}, ${fmt(seconds, 1)} s`)
out()
const ms = (name: VariantName): number[] => (samples.get(name) ?? []).map(s => s.ms)
const stockMedian = quantile(sorted(ms('stock')), 0.5)
const x25519Median = quantile(sorted(ms('ech-x25519')), 0.5)
table(
  ['variant', 'median ms', 'p90 ms', 'min ms', 'median vs stock', 'median vs ECH X25519'],
  ['---', '---:', '---:', '---:', '---:', '---:'],
  VARIANTS.map(v => {
    const xs = ms(v.name)
    const med = quantile(sorted(xs), 0.5)
    return [v.label, fmt(med), fmt(quantile(sorted(xs), 0.9)), fmt(Math.min(...xs)), `${fmt(med / stockMedian, 2)}x`, `${fmt(med / x25519Median, 2)}x`]
  })
)
out()
out('wall-clock ms from calling both sides until both resolve (initiator and responder CPU in one process)')
out()

out('## Bytes on the wire per handshake (Noise frames incl. 2-byte length prefixes)')
out()
table(
  ['variant', 'msg 1', 'msg 2', 'msg 3', 'total', 'vs stock'],
  ['---', '---:', '---:', '---:', '---:', '---:'],
  VARIANTS.map(v => {
    const first = samples.get(v.name)?.[0]
    const all = new Set((samples.get(v.name) ?? []).map(s => s.bytes))
    if (first == null) { return [v.label, '', '', '', '', ''] }
    const stockBytes = samples.get('stock')?.[0]?.bytes ?? first.bytes
    // sizes are deterministic; say so if they ever were not
    const total = all.size === 1 ? `${first.bytes}` : `${Math.min(...all)}..${Math.max(...all)}`
    return [v.label, ...first.frames.map(String), total, `+${first.bytes - stockBytes}`]
  })
)
out()

const xwingRatio = quantile(sorted(ms('ech-xwing')), 0.5) / stockMedian
out('## Target (reported, not asserted)')
out()
table(['metric', 'target', 'measured', 'met'], ['---', '---:', '---:', ':---:'], [
  ['handshake time, ECH X-Wing / stock (medians)', `≤ ${TARGET_RATIO}x`, `${fmt(xwingRatio, 2)}x`, xwingRatio <= TARGET_RATIO ? 'yes' : 'no'],
  ['handshake time, ECH X25519 / stock (medians)', '—', `${fmt(x25519Median / stockMedian, 2)}x`, '']
])
out()

for (const v of VARIANTS) {
  await (v.initiator as Partial<EchNoise>).stop?.()
  await (v.responder as Partial<EchNoise>).stop?.()
}
