/**
 * Handshake latency and bulk throughput of `echNoise` against the stock
 * `@chainsafe/libp2p-noise` encrypter, both ends in one process over an
 * in-memory `multiaddrConnectionPair()`.
 *
 * Run: `npx tsx benchmarks/handshake.ts [--handshakes 1000] [--warmup 100]
 * [--batch 10] [--mib 64] [--write-kib 64] [--reps 9] [--segments 16]
 * [--variants stock,ech-no-config,ech-accepted] [--only handshake|bulk]`
 * (or the same as env: `BENCH_HANDSHAKES=2000 npx tsx benchmarks/handshake.ts`).
 *
 * Variants, each with its own encrypter pair and peer stores:
 * - `stock`: `noise()` on both sides.
 * - `ech-no-config`: `echNoise()` on both sides; the initiator's peer store
 * has no ECH config for the responder, so outbound goes straight to stock and
 * inbound reads message 1, finds no outer hello and replays it to stock.
 * - `ech-accepted`: `echNoise()` on both sides; the initiator's peer store
 * holds the responder's ECHConfigList under `ECH_PEER_STORE_KEY`.
 *
 * Handshake: the time from calling `secureOutbound` + `secureInbound` until
 * both resolve (so the CPU of both roles), one connection at a time, as the
 * libp2p upgrader calls them (with an abort signal). Variants run round-robin
 * in small batches with a rotating order so machine noise hits all alike.
 *
 * Bulk: `--mib` MiB sent one way through one secured connection per variant
 * in `--write-kib` writes, waiting for the `'drain'` event whenever `send()`
 * returns false. The variants' connections take turns, `--mib / --segments`
 * MiB at a time; each turn is timed from its first write until the receiver
 * has its last byte, and a connection's time is the sum of its turns.
 *
 * Timings are reported, never asserted.
 */
import '../src/polyfill.js'
import crypto from 'node:crypto'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { pEvent } from 'p-event'
import { ECH_PEER_STORE_KEY, echNoise } from '../src/index.js'
import { components, fmt, identity, out, pair, quantile, sorted, table } from './setup.js'
import type { Identity } from './setup.js'
import type { EchConnectionInfo, EchNoise } from '../src/index.js'
import type { ConnectionEncrypter, MessageStream, SecuredConnection, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

// ---------------------------------------------------------------- options

const OPTIONS = {
  handshakes: { default: '1000', help: 'measured handshakes per variant' },
  warmup: { default: '100', help: 'unmeasured handshakes per variant first' },
  batch: { default: '10', help: 'handshakes per variant per round-robin turn' },
  mib: { default: '64', help: 'MiB per bulk transfer' },
  'write-kib': { default: '64', help: 'KiB per send() in the bulk transfer' },
  reps: { default: '9', help: 'measured bulk transfers per variant' },
  capacity: { default: '5', help: 'send-queue capacity of the in-memory pair, in messages' },
  segments: { default: '16', help: 'turns per bulk transfer (the variants alternate between them)' },
  only: { default: '', help: '"handshake" or "bulk" to run one part' },
  variants: { default: 'stock,ech-no-config,ech-accepted', help: 'comma-separated subset to run (stock is always kept)' }
} as const
type OptionName = keyof typeof OPTIONS

const { values } = parseArgs({
  options: {
    ...Object.fromEntries(Object.keys(OPTIONS).map(k => [k, { type: 'string' }])) as Record<OptionName, { type: 'string' }>,
    help: { type: 'boolean', short: 'h' }
  }
})

if (values.help === true) {
  process.stdout.write('npx tsx benchmarks/handshake.ts [options]   (each option also as env BENCH_<NAME>, e.g. BENCH_WRITE_KIB)\n')
  for (const [name, { default: value, help }] of Object.entries(OPTIONS)) {
    process.stdout.write(`  --${name.padEnd(11)} ${help}${value === '' ? '' : ` (default ${value})`}\n`)
  }
  process.exit(0)
}

function option (name: OptionName): string {
  const env = process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`]
  return values[name] ?? env ?? OPTIONS[name].default
}

function count (name: OptionName, min: number): number {
  const n = Number(option(name))
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} must be an integer >= ${min}`)
  }
  return n
}

const HANDSHAKES = count('handshakes', 1)
const WARMUP = count('warmup', 1)
const BATCH = count('batch', 1)
const MIB = count('mib', 1)
const WRITE_KIB = count('write-kib', 1)
const REPS = count('reps', 1)
const SEGMENTS = count('segments', 1)
const CAPACITY = count('capacity', 1)
const ONLY = option('only')
if (ONLY !== '' && ONLY !== 'handshake' && ONLY !== 'bulk') {
  throw new Error('--only must be "handshake" or "bulk"')
}

// ---------------------------------------------------------------- set-up

type VariantName = 'stock' | 'ech-no-config' | 'ech-accepted'

interface Variant {
  name: VariantName
  label: string
  initiator: ConnectionEncrypter
  responder: ConnectionEncrypter
  /** Expected outcome per side, checked through `getConnectionInfo` (ECH variants) */
  expect?: { outbound: string, inbound: string }
}

async function ech (id: Identity, c = components(id)): Promise<EchNoise> {
  const encrypter = echNoise()(c)
  await encrypter.start()
  return encrypter
}

/** The outcome both sides recorded for the last connection pair */
function outcomes (variant: Variant, a: MessageStream, b: MessageStream): { outbound?: EchConnectionInfo, inbound?: EchConnectionInfo } {
  return {
    outbound: (variant.initiator as EchNoise).getConnectionInfo(a),
    inbound: (variant.responder as EchNoise).getConnectionInfo(b)
  }
}

const A = await identity()
const B = await identity()

const stockVariant: Variant = {
  name: 'stock',
  label: 'stock noise()',
  initiator: noise()(components(A)),
  responder: noise()(components(B))
}

const noConfigVariant: Variant = {
  name: 'ech-no-config',
  label: 'echNoise, no config',
  initiator: await ech(A),
  responder: await ech(B),
  expect: { outbound: 'fallback', inbound: 'not-offered' }
}

const acceptedInitiatorComponents = components(A)
const acceptedInitiator = await ech(A, acceptedInitiatorComponents)
const acceptedResponder = await ech(B)
// as the application (or a retry config) would: the responder's list under ECH_PEER_STORE_KEY
await acceptedInitiatorComponents.peerStore.merge(B.peerId, {
  metadata: { [ECH_PEER_STORE_KEY]: acceptedResponder.getEchConfigList() }
})
const acceptedVariant: Variant = {
  name: 'ech-accepted',
  label: 'echNoise, ECH accepted',
  initiator: acceptedInitiator,
  responder: acceptedResponder,
  expect: { outbound: 'accepted', inbound: 'accepted' }
}

const SELECTED = new Set(['stock', ...option('variants').split(',').map(v => v.trim()).filter(v => v !== '')])
for (const name of SELECTED) {
  if (![stockVariant, noConfigVariant, acceptedVariant].some(v => v.name === name)) {
    throw new Error(`unknown variant ${name}`)
  }
}
const VARIANTS: Variant[] = [stockVariant, noConfigVariant, acceptedVariant].filter(v => SELECTED.has(v.name))

// ---------------------------------------------------------------- helpers

async function handshake (variant: Variant): Promise<{ ms: number, cpuMs: number, a: MessageStream, b: MessageStream, outbound: SecuredConnection, inbound: SecuredConnection }> {
  const [a, b] = pair(CAPACITY)
  // the libp2p upgrader always passes a per-connection deadline
  const signal = AbortSignal.timeout(30_000)
  const cpu = process.cpuUsage()
  const start = performance.now()
  const [outbound, inbound] = await Promise.all([
    variant.initiator.secureOutbound(a, { remotePeer: B.peerId, signal }),
    variant.responder.secureInbound(b, { signal })
  ])
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  const cpuMs = (used.user + used.system) / 1000
  if (!outbound.remotePeer.equals(B.peerId) || !inbound.remotePeer.equals(A.peerId)) {
    throw new Error(`${variant.name}: handshake authenticated the wrong peers`)
  }
  return { ms, cpuMs, a, b, outbound, inbound }
}

/** `n` sequential handshakes; the last one's ECH outcome is checked */
async function handshakes (variant: Variant, n: number): Promise<{ ms: number[], cpuMs: number[] }> {
  const ms: number[] = []
  const cpuMs: number[] = []
  for (let i = 0; i < n; i++) {
    const result = await handshake(variant)
    ms.push(result.ms)
    cpuMs.push(result.cpuMs)
    if (i === n - 1) { check(variant, result.a, result.b) }
    await dispose(result.a, result.b)
  }
  return { ms, cpuMs }
}

function check (variant: Variant, a: MessageStream, b: MessageStream): void {
  if (variant.expect == null) { return }
  const { outbound, inbound } = outcomes(variant, a, b)
  if (outbound?.outcome !== variant.expect.outbound || inbound?.outcome !== variant.expect.inbound) {
    throw new Error(`${variant.name}: expected ECH ${variant.expect.outbound}/${variant.expect.inbound}, got ${outbound?.outcome}/${inbound?.outcome}`)
  }
}

async function dispose (...streams: MessageStream[]): Promise<void> {
  const done = new Error('benchmark done')
  for (const s of streams) { s.abort(done) }
  // let the aborts settle before the next timed section
  await new Promise(resolve => setImmediate(resolve))
}

/** Send `total` bytes from `sender` to `receiver`; resolves once all arrived with the wall and CPU ms it took */
async function bulk (sender: MessageStream, receiver: MessageStream, data: Uint8Array, total: number, verify = false): Promise<{ ms: number, cpuMs: number }> {
  let received = 0
  const copy = verify ? new Uint8Array(total) : undefined
  let onMessage: (evt: StreamMessageEvent) => void = () => {}
  let onClose: (evt: StreamCloseEvent) => void = () => {}
  const arrived = new Promise<void>((resolve, reject) => {
    onMessage = (evt) => {
      if (copy != null) {
        for (const chunk of (evt.data instanceof Uint8Array ? [evt.data] : evt.data)) {
          copy.set(chunk, received)
          received += chunk.byteLength
        }
      } else {
        received += evt.data.byteLength
      }
      if (received >= total) { resolve() }
    }
    onClose = (evt) => { reject(evt.error ?? new Error('receiver closed early')) }
  })
  arrived.catch(() => {})
  receiver.addEventListener('message', onMessage)
  receiver.addEventListener('close', onClose)
  const cpu = process.cpuUsage()
  const start = performance.now()
  try {
    for (let sent = 0; sent < total; sent += data.byteLength) {
      // wait for the 'drain' event itself: in @libp2p/utils 7.4.1 `onDrain()`
      // resolves at once after the first drain, so it stops applying backpressure
      if (!sender.send(sent + data.byteLength <= total ? data : data.subarray(0, total - sent))) {
        await pEvent(sender, 'drain', { rejectionEvents: ['close'] })
      }
    }
    await arrived
  } finally {
    receiver.removeEventListener('message', onMessage)
    receiver.removeEventListener('close', onClose)
  }
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  if (received !== total) {
    throw new Error(`received ${received} bytes, sent ${total}`)
  }
  if (copy != null) {
    for (let sent = 0; sent < total; sent += data.byteLength) {
      const part = copy.subarray(sent, Math.min(sent + data.byteLength, total))
      if (Buffer.compare(part, data.subarray(0, part.byteLength)) !== 0) {
        throw new Error(`bulk data corrupted at offset ${sent}`)
      }
    }
  }
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}

function median (xs: ArrayLike<number>): number {
  return quantile(sorted(xs), 0.5)
}

function mean (xs: number[]): number {
  return xs.reduce((sum, x) => sum + x, 0) / xs.length
}

/** 95% bootstrap interval of median(xs) / median(ref), seeded so runs are comparable */
function ratioInterval (xs: number[], ref: number[], resamples = 1000): [number, number] {
  let seed = 0x2545f491
  const rand = (): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
    return (seed >>> 0) / 0x100000000
  }
  const pick = (arr: number[], into: Float64Array): Float64Array => {
    for (let i = 0; i < into.length; i++) { into[i] = arr[Math.floor(rand() * arr.length)] }
    return into.sort()
  }
  const bx = new Float64Array(xs.length)
  const br = new Float64Array(ref.length)
  const ratios = new Float64Array(resamples)
  for (let i = 0; i < resamples; i++) {
    ratios[i] = quantile(pick(xs, bx), 0.5) / quantile(pick(ref, br), 0.5)
  }
  ratios.sort()
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)]
}

// ---------------------------------------------------------------- run

const began = performance.now()
out(`node ${process.version} ${os.platform()}/${os.arch()}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'})`)
out('@chainsafe/libp2p-noise vs libp2p-noise-ech over multiaddrConnectionPair(); Ed25519 identities, no stream muxers')
out()

// the ech:outcome events of the very first ECH handshake say it really was accepted
const firstOutcome = Promise.all([
  pEvent(acceptedInitiator, 'ech:outcome') as Promise<CustomEvent<EchConnectionInfo>>,
  pEvent(acceptedResponder, 'ech:outcome') as Promise<CustomEvent<EchConnectionInfo>>
])

// one correctness pass per variant: outcome, and data through the channel both ways
for (const variant of VARIANTS) {
  const { a, b, outbound, inbound } = await handshake(variant)
  check(variant, a, b)
  const probe = Uint8Array.from(crypto.randomBytes(100_000))
  await bulk(outbound.connection, inbound.connection, probe, 3 * probe.byteLength + 123, true)
  await bulk(inbound.connection, outbound.connection, probe, probe.byteLength, true)
  await dispose(a, b)
}
if (SELECTED.has('ech-accepted')) {
  const [outboundEvt, inboundEvt] = await firstOutcome
  if (outboundEvt.detail.outcome !== 'accepted' || inboundEvt.detail.outcome !== 'accepted') {
    throw new Error(`first ECH handshake was ${outboundEvt.detail.outcome}/${inboundEvt.detail.outcome}, not accepted`)
  }
  out(`first ech-accepted handshake: ech:outcome outbound=${outboundEvt.detail.outcome} (config id ${outboundEvt.detail.configId}), inbound=${inboundEvt.detail.outcome} (config id ${inboundEvt.detail.configId})`)
}
out(`checked: data round-trips on every variant; ECH outcomes ${VARIANTS.filter(v => v.expect != null).map(v => `${v.name} = ${v.expect?.outbound}/${v.expect?.inbound}`).join(', ')}`)

const summary: Array<{ metric: string, target: string, measured: string, ci: string }> = []

function ciText (xs: number[] | undefined, ref: number[] | undefined): string {
  if (xs == null || ref == null || xs.length === 0) { return '' }
  const [lo, hi] = ratioInterval(xs, ref)
  return `${fmt(lo)}–${fmt(hi)}`
}

if (ONLY !== 'bulk') {
  const samples = new Map<VariantName, number[]>(VARIANTS.map(v => [v.name, []]))
  const cpuSamples = new Map<VariantName, number[]>(VARIANTS.map(v => [v.name, []]))
  const rounds = Math.ceil(HANDSHAKES / BATCH)
  const warmRounds = Math.ceil(WARMUP / BATCH)

  const hsStart = performance.now()
  for (let round = -warmRounds; round < rounds; round++) {
    const turn = ((round % VARIANTS.length) + VARIANTS.length) % VARIANTS.length
    const order = VARIANTS.map((_, k) => VARIANTS[(k + turn) % VARIANTS.length])
    for (const variant of order) {
      const n = round < 0 ? BATCH : Math.min(BATCH, HANDSHAKES - round * BATCH)
      const batch = await handshakes(variant, n)
      if (round >= 0) {
        samples.get(variant.name)?.push(...batch.ms)
        cpuSamples.get(variant.name)?.push(...batch.cpuMs)
      }
    }
  }
  const hsSeconds = (performance.now() - hsStart) / 1000

  out()
  out(`## Handshake (both roles, one process): ${HANDSHAKES} per variant after ${warmRounds * BATCH} warm-up, round-robin batches of ${BATCH}, ${fmt(hsSeconds, 1)} s`)
  out()

  const ref = samples.get('stock') ?? []
  const refMedian = median(ref)
  const refCpu = median(cpuSamples.get('stock') ?? [])
  const rows = VARIANTS.map(v => {
    const xs = samples.get(v.name) ?? []
    const s = sorted(xs)
    const cpu = median(cpuSamples.get(v.name) ?? [])
    return [
      v.label, fmt(quantile(s, 0.5)), fmt(quantile(s, 0.9)), fmt(mean(xs)), fmt(s[0]),
      `${fmt(quantile(s, 0.5) / refMedian)}x`, v.name === 'stock' ? '—' : ciText(xs, ref),
      fmt(cpu), `${fmt(cpu / refCpu)}x`
    ]
  })
  table(
    ['variant', 'median ms', 'p90 ms', 'mean ms', 'min ms', 'median vs stock', '95% CI of ratio', 'median CPU ms', 'CPU vs stock'],
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    rows
  )
  out()
  out('wall-clock ms from calling both sides until both resolve; CPU ms = process.cpuUsage() over the same span (all threads),')
  out('less sensitive to other load on the machine; 95% CI = bootstrap interval of the ratio of medians')
  out()

  const ratio = (name: VariantName): string => SELECTED.has(name) ? `${fmt(median(samples.get(name) ?? []) / refMedian)}x` : 'not run'
  summary.push({ metric: 'handshake time, ECH accepted / stock (medians)', target: '≤ 1.00x', measured: ratio('ech-accepted'), ci: ciText(samples.get('ech-accepted'), ref) })
  summary.push({ metric: 'handshake time, no config / stock (medians)', target: '≤ 1.03x', measured: ratio('ech-no-config'), ci: ciText(samples.get('ech-no-config'), ref) })
}

if (ONLY !== 'handshake') {
  const total = MIB * 1024 * 1024
  const segment = Math.ceil(total / SEGMENTS / (WRITE_KIB * 1024)) * WRITE_KIB * 1024
  const data = Uint8Array.from(crypto.randomBytes(WRITE_KIB * 1024))
  const rates = new Map<VariantName, number[]>(VARIANTS.map(v => [v.name, []]))
  const cpuRates = new Map<VariantName, number[]>(VARIANTS.map(v => [v.name, []]))

  const bulkStart = performance.now()
  for (let rep = -1; rep < REPS; rep++) {
    // one fresh secured connection per variant; they take turns sending a
    // segment each, so a burst of outside load lands on all of them
    const conns = []
    for (const variant of VARIANTS) {
      conns.push({ variant, ...await handshake(variant), ms: 0, cpuMs: 0 })
    }
    // the warm-up round moves a quarter of the data
    const bytes = rep < 0 ? Math.max(data.byteLength, total >> 2) : total
    for (let sent = 0, turn = 0; sent < bytes; sent += segment, turn++) {
      const size = Math.min(segment, bytes - sent)
      for (let k = 0; k < conns.length; k++) {
        const conn = conns[(k + turn + Math.max(rep, 0)) % conns.length]
        const t = await bulk(conn.outbound.connection, conn.inbound.connection, data, size)
        conn.ms += t.ms
        conn.cpuMs += t.cpuMs
      }
    }
    for (const conn of conns) {
      if (rep >= 0) {
        rates.get(conn.variant.name)?.push((bytes / 1024 / 1024) / (conn.ms / 1000))
        cpuRates.get(conn.variant.name)?.push((bytes / 1024 / 1024) / (conn.cpuMs / 1000))
      }
      await dispose(conn.a, conn.b)
    }
  }
  const bulkSeconds = (performance.now() - bulkStart) / 1000

  if (ONLY === 'bulk') { out() }
  out(`## Bulk: ${MIB} MiB one way through one connection per variant and repetition, ${WRITE_KIB} KiB writes; ${REPS} repetitions after 1 warm-up, the variants taking turns in ${fmt(segment / 1024 / 1024, 1)} MiB segments; ${fmt(bulkSeconds, 1)} s`)
  out()
  const ref = median(rates.get('stock') ?? [])
  const refCpu = median(cpuRates.get('stock') ?? [])
  const rows = VARIANTS.map(v => {
    const xs = sorted(rates.get(v.name) ?? [])
    const cpu = median(cpuRates.get(v.name) ?? [])
    return [
      v.label, fmt(median(xs), 1), fmt(xs[0], 1), fmt(xs[xs.length - 1], 1), `${fmt(median(xs) / ref)}x`,
      v.name === 'stock' ? '—' : ciText(rates.get(v.name), rates.get('stock')), fmt(cpu, 1), `${fmt(cpu / refCpu)}x`
    ]
  })
  table(
    ['variant', 'median MiB/s', 'min MiB/s', 'max MiB/s', 'median vs stock', '95% CI of ratio', 'median MiB per CPU-s', 'CPU-s vs stock'],
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    rows
  )
  out()
  out('MiB/s over the wall-clock time of the sends (first write until the receiver has the last byte), summed over segments;')
  out('MiB per CPU-s over process.cpuUsage() for the same spans. `echNoise, no config` hands both ends to the stock encrypter,')
  out('so its channel is the stock channel: its ratio shows the run-to-run noise.')
  out()
  const ratio = (name: VariantName): string => SELECTED.has(name) ? `${fmt(median(rates.get(name) ?? []) / ref)}x` : 'not run'
  summary.push({ metric: 'throughput, ECH accepted / stock (median MiB/s)', target: '≥ 1.00x', measured: ratio('ech-accepted'), ci: ciText(rates.get('ech-accepted'), rates.get('stock')) })
  summary.push({ metric: 'throughput, no config / stock (median MiB/s)', target: '≥ 1.00x', measured: ratio('ech-no-config'), ci: ciText(rates.get('ech-no-config'), rates.get('stock')) })
}

out('## Targets (reported, not asserted)')
out()
table(['metric', 'target', 'measured', '95% CI'], ['---', '---:', '---:', '---:'], summary.map(s => [s.metric, s.target, s.measured, s.ci]))
out()
out(`total ${fmt((performance.now() - began) / 1000, 1)} s`)

for (const v of VARIANTS) {
  await (v.initiator as Partial<EchNoise>).stop?.()
  await (v.responder as Partial<EchNoise>).stop?.()
}
