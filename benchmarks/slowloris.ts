/**
 * Slowloris on Noise message 1 (SECURITY.md §4.4): N raw TCP sockets from
 * 127.0.0.2 (and up, with `--sources`) negotiate `/noise` and then send
 * message 1 one byte a second, reconnecting when dropped, while M real libp2p
 * dialers on 127.0.0.1 dial the listener again and again (a 5 s deadline per
 * dial, a ping, a hang-up, a pause). The attacker is in
 * `test/operations/slowloris-attack.ts`.
 *
 * Run: `npx tsx benchmarks/slowloris.ts [--seconds 20] [--sockets 200]
 * [--dialers 4] [--sources 1] [--stage message1|negotiation]
 * [--listeners stock,ech,ech-require] [--settings default,recommended]`
 * (or the same as env: `BENCH_SECONDS=30 npx tsx benchmarks/slowloris.ts`).
 *
 * Each listener kind (stock `noise()`, `echNoise()` opportunistic,
 * `echNoise({ mode: 'require' })` with dialers that hold its configs) runs
 * under libp2p's default connection manager and under the settings
 * RUNBOOK.md §1d recommends for an exposed node, one run at a time with fresh
 * nodes. Reported, never asserted: legitimate dials made and succeeded, their
 * median time to connect (before and during the attack), attacker
 * connections made and accepted, how long the listener held them, the most
 * held at once, and the listener's threat counters; ratios against stock
 * under the same settings in the same run.
 */
import '../src/polyfill.js'
import os from 'node:os'
import { createTestNode, stopAll } from '../test/fixtures/nodes.js'
import { EXPOSED_NODE_CONNECTION_MANAGER, Slowloris, createListener, giveConfigs, legitDial, peakConcurrent } from '../test/operations/slowloris-attack.js'
import { parseOptions } from './options.js'
import { fmt, out, quantile, sorted, table } from './setup.js'
import type { AttackStage, DialOutcome, ListenerKind } from '../test/operations/slowloris-attack.js'

// ---------------------------------------------------------------- options

const OPTIONS = {
  seconds: { default: '20', help: 'attack length per run' },
  ramp: { default: '3', help: 'seconds of attack before the dialers start' },
  sockets: { default: '200', help: 'attacker sockets kept up at once' },
  sources: { default: '1', help: 'attacker source addresses (127.0.0.2 and up)' },
  stage: { default: 'message1', help: '"message1" (trickle Noise message 1) or "negotiation" (stall in multistream-select: trickle a protocol line)' },
  dialers: { default: '4', help: 'legitimate dialers, dialling in parallel' },
  'dial-timeout': { default: '5000', help: 'ms per legitimate dial (connect and ping)' },
  pause: { default: '1000', help: 'ms a dialer waits between its dials (keeps 127.0.0.1 under 5 new connections/s)' },
  listeners: { default: 'stock,ech,ech-require', help: 'listener kinds to run' },
  settings: { default: 'default,recommended', help: 'connection-manager settings to run' }
} as const
type OptionName = keyof typeof OPTIONS
const options = parseOptions('npx tsx benchmarks/slowloris.ts [options]', OPTIONS)
const { count } = options

function list<T extends string> (name: OptionName, allowed: readonly T[]): T[] {
  const picked = options.list(name)
  for (const p of picked) {
    if (!allowed.includes(p as T)) { throw new Error(`--${name}: "${p}" is not one of ${allowed.join(', ')}`) }
  }
  return picked as T[]
}

type Settings = 'default' | 'recommended'

const SECONDS = count('seconds', 2)
const RAMP = count('ramp', 0)
const SOCKETS = count('sockets', 1)
const SOURCES = Array.from({ length: count('sources', 1) }, (_, i) => `127.0.0.${i + 2}`)
const STAGE = list<AttackStage>('stage', ['message1', 'negotiation'])[0] ?? 'message1'
const DIALERS = count('dialers', 1)
const DIAL_TIMEOUT = count('dial-timeout', 1)
const PAUSE = count('pause', 0)
const LISTENERS = list<ListenerKind>('listeners', ['stock', 'ech', 'ech-require'])
const SETTINGS = list<Settings>('settings', ['default', 'recommended'])
if (RAMP >= SECONDS) { throw new Error('--ramp must be shorter than --seconds') }
if (SOURCES.length > 250) { throw new Error('--sources must be at most 250') }

const LABELS: Record<ListenerKind, string> = { stock: 'stock noise()', ech: 'echNoise()', 'ech-require': 'echNoise require' }

// ---------------------------------------------------------------- one run

interface Run {
  kind: ListenerKind
  settings: Settings
  baseline: DialOutcome[]
  dials: DialOutcome[]
  attempts: number
  accepted: number
  peak: number
  /** ms each accepted attacker connection was held open */
  held: Float64Array
  threats?: Record<string, number>
  stalls?: number
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** One dialer's dials until `end` (performance.now()), a pause after each */
async function dialUntil (dial: () => Promise<DialOutcome>, end: number): Promise<DialOutcome[]> {
  const outcomes: DialOutcome[] = []
  while (performance.now() < end) {
    outcomes.push(await dial())
    await sleep(PAUSE)
  }
  return outcomes
}

async function run (kind: ListenerKind, settings: Settings): Promise<Run> {
  const listener = await createListener(kind, settings === 'recommended' ? EXPOSED_NODE_CONNECTION_MANAGER : undefined)
  const dialers = await Promise.all(Array.from({ length: DIALERS }, async () => createTestNode({ encrypter: kind === 'stock' ? 'stock' : 'ech' })))
  const attack = new Slowloris({ port: listener.port, sockets: SOCKETS, sources: SOURCES, stage: STAGE })
  try {
    await Promise.all(dialers.map(async d => { await giveConfigs(d.node, listener) }))
    const dial = async (d: typeof dialers[number]): Promise<DialOutcome> => legitDial(d.node, listener.addr, { timeoutMs: DIAL_TIMEOUT })
    const baseline: DialOutcome[] = []
    for (const d of dialers) { baseline.push(await dial(d)) }

    const start = performance.now()
    attack.start()
    await sleep(RAMP * 1000)
    const dials = (await Promise.all(dialers.map(async d => dialUntil(async () => dial(d), start + SECONDS * 1000)))).flat()
    attack.ceaseFire()
    // what the listener still holds goes at its deadline: at most libp2p's upgrade timeout
    await attack.drained(15_000).catch(() => {})

    const held = attack.sockets.filter(s => s.acceptedAt != null && s.closedBy === 'listener')
    const counters = listener.ech?.monitor.getCounters()
    return {
      kind,
      settings,
      baseline,
      dials,
      attempts: attack.attempts,
      accepted: held.length,
      peak: peakConcurrent(held),
      held: sorted(held.map(s => (s.closedAt ?? 0) - s.openedAt)),
      threats: counters?.threats,
      stalls: counters == null ? undefined : counters.stalls.message1 + counters.stalls.handshake
    }
  } finally {
    await attack.close()
    await stopAll(listener, ...dialers)
  }
}

// ---------------------------------------------------------------- report

const okCount = (dials: DialOutcome[]): number => dials.filter(d => d.ok).length

function medianConnect (dials: DialOutcome[]): string {
  const times = sorted(dials.filter(d => d.ok).map(d => d.connectMs ?? 0))
  return times.length === 0 ? '—' : fmt(quantile(times, 0.5), 0)
}

function ratio (a: number, b: number | undefined): string {
  if (b === 0) { return a === 0 ? '—' : 'stock 0' }
  return b == null || !Number.isFinite(a / b) ? '—' : `${fmt(a / b, 2)}x`
}

function threatCell (r: Run): string {
  if (r.threats == null) { return '— (no monitor)' }
  const raised = Object.entries(r.threats).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`)
  return `${raised.join(', ') || 'none'}; stalls ${r.stalls ?? 0}`
}

function failures (dials: DialOutcome[]): string {
  const byName = new Map<string, number>()
  for (const d of dials.filter(d => !d.ok)) { byName.set(d.error ?? '?', (byName.get(d.error ?? '?') ?? 0) + 1) }
  return [...byName].map(([name, n]) => `${name} ${n}`).join(', ')
}

function report (runs: Run[]): void {
  const stockOf = (r: Run): Run | undefined => runs.find(s => s.kind === 'stock' && s.settings === r.settings)
  const share = (r: Run): number => okCount(r.dials) / Math.max(1, r.dials.length)
  const medianHeld = (r: Run): number => r.held.length === 0 ? 0 : quantile(r.held, 0.5)
  table(
    ['listener', 'connection manager', 'legit dials ok / made', 'ok share vs stock', 'median connect ms (no attack → attack)', 'attacker conns accepted / made', 'most open at once (attacker\'s view)', 'held median s', 'held max s', 'held median vs stock', 'listener threats'],
    ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---'],
    runs.map(r => {
      const stock = stockOf(r)
      return [
        LABELS[r.kind], r.settings,
        `${okCount(r.dials)} / ${r.dials.length}`,
        stock == null ? '—' : ratio(share(r), share(stock)),
        `${medianConnect(r.baseline)} → ${medianConnect(r.dials)}`,
        `${r.accepted} / ${r.attempts}`,
        String(r.peak),
        r.held.length === 0 ? '—' : fmt(medianHeld(r) / 1000, 2),
        r.held.length === 0 ? '—' : fmt(r.held[r.held.length - 1] / 1000, 2),
        stock == null ? '—' : ratio(medianHeld(r), medianHeld(stock)),
        threatCell(r)
      ]
    })
  )
  out()
  for (const r of runs.filter(r => okCount(r.dials) < r.dials.length)) {
    out(`- ${LABELS[r.kind]}, ${r.settings}: failed dials by error: ${failures(r.dials)}`)
  }
}

out(`node ${process.version} ${os.platform()}/${os.arch()}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs, load average ${os.loadavg().map(l => fmt(l, 2)).join(' ')}`)
out(`attack: ${SOCKETS} sockets from ${SOURCES.length === 1 ? SOURCES[0] : `${SOURCES[0]}–${SOURCES[SOURCES.length - 1]}`}, trickling ${STAGE === 'message1' ? 'Noise message 1 after /noise' : 'a protocol line after the multistream-select header'} 1 byte/s, ${SECONDS} s per run`)
out(`legitimate: ${DIALERS} dialers on 127.0.0.1 from second ${RAMP}, each dial ${DIAL_TIMEOUT} ms max then ${PAUSE} ms pause`)
out(`recommended connection manager: ${JSON.stringify(EXPOSED_NODE_CONNECTION_MANAGER)}`)
out()

const runs: Run[] = []
for (const settings of SETTINGS) {
  for (const kind of LISTENERS) {
    process.stderr.write(`running ${kind} with ${settings} settings…\n`)
    runs.push(await run(kind, settings))
  }
}
report(runs)
