/**
 * `echNoise` against the stock `@chainsafe/libp2p-noise` encrypter, both ends
 * in one process over an in-memory `multiaddrConnectionPair()`: handshake
 * time, handshakes per second at several concurrency levels, bulk throughput
 * through one connection, and heap per secured connection. With `--baseline
 * DIR` the `echNoise` of another checkout runs in the same process as
 * `before-*` variants, so before and after are measured side by side.
 *
 * Run: `npx tsx benchmarks/handshake.ts --help` for every option (each also
 * as env `BENCH_<NAME>`). `benchmarks/README.md` says what each part
 * measures. Timings are reported, never asserted.
 */
import '../src/polyfill.js'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dialOpen } from './dial.js'
import { bulk, concurrent, heap, sequential, transfer } from './measure.js'
import { parseOptions } from './options.js'
import { fmt, identity, out, quantile, sorted, table } from './setup.js'
import { ciText, mean, median } from './stats.js'
import { ALL_VARIANTS, check, dispose, handshake, makeVariants, stopAll } from './variants.js'
import type { Samples } from './measure.js'
import type { EchModule, Variant, VariantName } from './variants.js'

const OPTIONS = {
  only: { default: 'handshake,concurrency,bulk,heap,dial', help: 'comma-separated parts to run' },
  variants: { default: 'stock,ech-no-config,ech-accepted,ech-xwing', help: `comma-separated subset of ${ALL_VARIANTS.join(',')} (stock is always kept)` },
  baseline: { default: '', help: 'another checkout whose src/index.ts gives the before-* variants (adds them unless --variants says otherwise)' },
  handshakes: { default: '1000', help: 'measured sequential handshakes per variant' },
  warmup: { default: '100', help: 'unmeasured sequential handshakes per variant first' },
  batch: { default: '10', help: 'sequential handshakes per variant per round-robin turn' },
  levels: { default: '1,16,64', help: 'concurrency levels (handshakes in flight)' },
  'conc-rounds': { default: '7', help: 'measured rounds per concurrency level (one sample per variant each)' },
  'conc-handshakes': { default: '128', help: 'handshakes per variant per round (at least the level)' },
  mib: { default: '64', help: 'MiB per bulk transfer' },
  'write-kib': { default: '64', help: 'KiB per send() in the bulk transfer' },
  reps: { default: '9', help: 'measured bulk transfers per variant' },
  segments: { default: '16', help: 'turns per bulk transfer (the variants alternate between them)' },
  capacity: { default: '64', help: 'send-queue capacity of the in-memory pair in the bulk part, in messages' },
  'heap-conns': { default: '200', help: 'connections held open per heap sample' },
  'heap-rounds': { default: '5', help: 'heap samples per variant' },
  dials: { default: '300', help: 'measured libp2p dials per variant in the dial part (TCP)' },
  'dial-warmup': { default: '30', help: 'unmeasured dials per variant first' },
  json: { default: '', help: 'also write the summary rows (and the load average) to this JSON file' }
} as const
const { option, count, list, given } = parseOptions('npx tsx benchmarks/handshake.ts [options]', OPTIONS)

const PARTS = new Set(list('only'))
for (const part of PARTS) {
  if (!['handshake', 'concurrency', 'bulk', 'heap', 'dial'].includes(part)) { throw new Error(`unknown part ${part}`) }
}
const BASELINE = option('baseline')
const requested = given('variants')
const names = new Set<VariantName>(['stock', ...(requested == null && BASELINE !== ''
  ? [...list('variants'), 'before-no-config', 'before-accepted']
  : list('variants')) as VariantName[]])
for (const name of names) {
  if (!ALL_VARIANTS.includes(name)) { throw new Error(`unknown variant ${name}`) }
}

// ---------------------------------------------------------------- set-up

const peers = { A: await identity(), B: await identity() }
const baseline = BASELINE === '' ? undefined : await import(path.resolve(BASELINE, 'src/index.ts')) as EchModule
const VARIANTS: Variant[] = await makeVariants(peers, names, baseline)
const summary: Array<{ metric: string, target: string, measured: string, ci: string }> = []
const began = performance.now()
const load = (): string => os.loadavg().map(l => l.toFixed(2)).join(' ')

out(`node ${process.version} ${os.platform()}/${os.arch()}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), load average ${load()}`)
out(`@chainsafe/libp2p-noise vs libp2p-noise-ech over multiaddrConnectionPair(); Ed25519 identities, no stream muxers${BASELINE === '' ? '' : `; before = ${BASELINE}`}`)

// one correctness pass per variant: outcome, and data through the channel both ways
for (const variant of VARIANTS) {
  const { a, b, outbound, inbound } = await handshake(variant, peers, 5)
  check(variant, a, b)
  const probe = Uint8Array.from(crypto.randomBytes(100_000))
  await transfer(outbound.connection, inbound.connection, probe, 3 * probe.byteLength + 123, true)
  await transfer(inbound.connection, outbound.connection, probe, probe.byteLength, true)
  await dispose(a, b)
}
out(`checked: data round-trips on every variant; ECH outcomes ${VARIANTS.filter(v => v.expect != null).map(v => `${v.name} = ${v.expect?.outbound}/${v.expect?.inbound}`).join(', ')}`)

/** The ratio of medians against stock, as the summary shows it */
function ratio (samples: Samples, name: VariantName): string {
  return samples.has(name) ? `${fmt(median(samples.get(name) ?? []) / median(samples.get('stock') ?? []))}x` : 'not run'
}

function summarize (samples: Samples, what: string, targets: Partial<Record<VariantName, string>>): void {
  for (const v of VARIANTS) {
    if (v.name === 'stock') { continue }
    summary.push({ metric: `${what}, ${v.label} / stock`, target: targets[v.name] ?? '—', measured: ratio(samples, v.name), ci: ciText(samples.get(v.name), samples.get('stock')) })
  }
}

if (PARTS.has('handshake')) {
  const t = performance.now()
  const { ms, cpuMs } = await sequential(VARIANTS, peers, { handshakes: count('handshakes', 1), warmup: count('warmup', 1), batch: count('batch', 1), capacity: 5 })
  out()
  out(`## Handshake, one at a time: ${count('handshakes', 1)} per variant after ${count('warmup', 1)} warm-up, round-robin batches of ${count('batch', 1)}; ${fmt((performance.now() - t) / 1000, 1)} s, load ${load()}`)
  out()
  const refCpu = median(cpuMs.get('stock') ?? [])
  table(
    ['variant', 'median ms', 'p90 ms', 'mean ms', 'min ms', 'median vs stock', '95% CI of ratio', 'median CPU ms', 'CPU vs stock'],
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    VARIANTS.map(v => {
      const xs = ms.get(v.name) ?? []
      const s = sorted(xs)
      const cpu = median(cpuMs.get(v.name) ?? [])
      return [v.label, fmt(quantile(s, 0.5)), fmt(quantile(s, 0.9)), fmt(mean(xs)), fmt(s[0]), ratio(ms, v.name),
        v.name === 'stock' ? '—' : ciText(xs, ms.get('stock')), fmt(cpu), `${fmt(cpu / refCpu)}x`]
    })
  )
  out()
  out('wall-clock ms from calling both sides until both resolve; CPU ms = process.cpuUsage() over the same span (all threads);')
  out('95% CI = bootstrap interval of the ratio of medians')
  summarize(ms, 'handshake time', { 'ech-no-config': '≤ 1.01x', 'ech-accepted': '≤ 0.35x', 'ech-xwing': '≤ 0.60x' })
}

if (PARTS.has('concurrency')) {
  const t = performance.now()
  const levels = list('levels').map(Number)
  const rates = await concurrent(VARIANTS, peers, { levels, rounds: count('conc-rounds', 1), perRound: count('conc-handshakes', 1), capacity: 5 })
  out()
  out(`## Handshakes per second with 1..n in flight: ${count('conc-rounds', 1)} rounds of ${count('conc-handshakes', 1)} per variant and level after one warm-up round; ${fmt((performance.now() - t) / 1000, 1)} s, load ${load()}`)
  out()
  table(
    ['variant', ...levels.flatMap(l => [`${l} in flight: median/s`, 'vs stock (95% CI)'])],
    ['---', ...levels.flatMap(() => ['---:', '---:'])],
    VARIANTS.map(v => [v.label, ...levels.flatMap(l => {
      const s = rates.get(l) ?? new Map()
      return [fmt(median(s.get(v.name) ?? []), 0), v.name === 'stock' ? '—' : `${ratio(s, v.name)} (${ciText(s.get(v.name), s.get('stock'))})`]
    })])
  )
  out()
  out('handshakes completed per second of wall time, both roles in this one process; higher is better')
  for (const level of levels) { summarize(rates.get(level) ?? new Map(), `handshakes/s at ${level} in flight`, {}) }
}

if (PARTS.has('bulk')) {
  const t = performance.now()
  const total = count('mib', 1) * 1048576
  const writeBytes = count('write-kib', 1) * 1024
  const segment = Math.ceil(total / count('segments', 1) / writeBytes) * writeBytes
  const { rates, cpuRates } = await bulk(VARIANTS, peers, { total, segment, data: Uint8Array.from(crypto.randomBytes(writeBytes)), reps: count('reps', 1), capacity: count('capacity', 1) })
  out()
  out(`## Bulk: ${count('mib', 1)} MiB one way through one connection per variant and repetition, ${count('write-kib', 1)} KiB writes, pair capacity ${count('capacity', 1)}; ${count('reps', 1)} repetitions after 1 warm-up, the variants taking turns in ${fmt(segment / 1048576, 1)} MiB segments; ${fmt((performance.now() - t) / 1000, 1)} s, load ${load()}`)
  out()
  const refCpu = median(cpuRates.get('stock') ?? [])
  table(
    ['variant', 'median MiB/s', 'min MiB/s', 'max MiB/s', 'median vs stock', '95% CI of ratio', 'median MiB per CPU-s', 'CPU-s vs stock'],
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    VARIANTS.map(v => {
      const xs = sorted(rates.get(v.name) ?? [])
      const cpu = median(cpuRates.get(v.name) ?? [])
      return [v.label, fmt(median(xs), 1), fmt(xs[0], 1), fmt(xs[xs.length - 1], 1), ratio(rates, v.name),
        v.name === 'stock' ? '—' : ciText(rates.get(v.name), rates.get('stock')), fmt(cpu, 1), `${fmt(cpu / refCpu)}x`]
    })
  )
  out()
  out('MiB/s over the wall-clock time of the sends (first write until the receiver has the last byte), summed over segments;')
  out('MiB per CPU-s over process.cpuUsage() for the same spans. The no-config variants hand both ends to the stock')
  out('encrypter, so their channel is the stock channel: their ratio shows the run-to-run noise.')
  summarize(rates, 'bulk MiB/s', { 'ech-accepted': '≥ 1.30x' })
}

if (PARTS.has('heap')) {
  const t = performance.now()
  const kib = await heap(VARIANTS, peers, { connections: count('heap-conns', 1), rounds: count('heap-rounds', 1) })
  out()
  out(`## Heap per secured connection (both ends): ${count('heap-conns', 1)} held open per sample, ${count('heap-rounds', 1)} samples per variant, after GC, the same number of unsecured pairs subtracted; ${fmt((performance.now() - t) / 1000, 1)} s`)
  out()
  const ref = median(kib.get('stock') ?? [])
  table(['variant', 'median KiB', 'min KiB', 'max KiB', 'vs stock'], ['---', '---:', '---:', '---:', '---:'],
    VARIANTS.map(v => {
      const xs = sorted(kib.get(v.name) ?? [])
      return [v.label, fmt(median(xs), 1), fmt(xs[0], 1), fmt(xs[xs.length - 1], 1), v.name === 'stock' ? '—' : `${median(xs) - ref >= 0 ? '+' : ''}${fmt(median(xs) - ref, 1)} KiB`]
    }))
  for (const v of VARIANTS) {
    if (v.name === 'stock') { continue }
    const xs = sorted(kib.get(v.name) ?? [])
    summary.push({ metric: `heap per connection, ${v.label} − stock`, target: v.name === 'ech-accepted' || v.name === 'ech-no-config' ? '≤ +1.0 KiB' : '—', measured: `${fmt(median(xs) - ref, 1)} KiB`, ci: `${fmt(xs[0] - ref, 1)} to ${fmt(xs[xs.length - 1] - ref, 1)} (range)` })
  }
}

if (PARTS.has('dial')) {
  const t = performance.now()
  const ms = await dialOpen(VARIANTS.map(v => v.name), { dials: count('dials', 1), warmup: count('dial-warmup', 0), batch: count('batch', 1) })
  const dialled = VARIANTS.filter(v => ms.has(v.name))
  out()
  out(`## libp2p dial→open over TCP on 127.0.0.1: ${count('dials', 1)} per variant after ${count('dial-warmup', 0)} warm-up, round-robin batches of ${count('batch', 1)}; ${fmt((performance.now() - t) / 1000, 1)} s, load ${load()}`)
  out()
  table(['variant', 'median ms', 'p90 ms', 'min ms', 'median vs stock', '95% CI of ratio'], ['---', '---:', '---:', '---:', '---:', '---:'],
    dialled.map(v => {
      const s = sorted(ms.get(v.name) ?? [])
      return [v.label, fmt(quantile(s, 0.5)), fmt(quantile(s, 0.9)), fmt(s[0]), ratio(ms, v.name), v.name === 'stock' ? '—' : ciText(ms.get(v.name), ms.get('stock'))]
    }))
  out()
  out('two libp2p 3 nodes per variant (TCP, yamux, ping, no identify); from dial(addr) until it resolves, the close untimed')
  for (const v of dialled) {
    if (v.name !== 'stock') { summary.push({ metric: `dial→open (TCP), ${v.label} / stock`, target: '—', measured: ratio(ms, v.name), ci: ciText(ms.get(v.name), ms.get('stock')) }) }
  }
}

out()
out(`## Summary (reported, not asserted); load average at the end ${load()}`)
out()
table(['metric', 'target', 'measured', '95% CI'], ['---', '---', '---:', '---:'], summary.map(s => [s.metric, s.target, s.measured, s.ci]))
out()
out(`total ${fmt((performance.now() - began) / 1000, 1)} s`)
if (option('json') !== '') {
  fs.writeFileSync(option('json'), JSON.stringify({ script: 'handshake', load: os.loadavg(), summary }, null, 2))
}
await stopAll(VARIANTS)
