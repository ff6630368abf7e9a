/**
 * The fleet: libp2p nodes on 127.0.0.1 over several worker processes
 * (~70 % echNoise, ~20 % stock `@chainsafe/libp2p-noise`, ~10 % libp2p 2 /
 * noise 16), each with TCP, yamux, identify, ping and kad-dht (ECH nodes
 * also the config exchange and the DHT config service). Nodes know only a
 * few bootstrap nodes and find each other through the DHT; each sends
 * checksummed transfers to random peers it found. Meanwhile: restarts (with
 * and without datastore), key rotations, rollout changes, the kill switch,
 * and a fault layer (per-link proxies: latency, resets, a middlebox
 * corrupting outer hellos, a partition). At the end it prints and writes the
 * summary (`--out`, JSON) and a chart (SVG next to it), and exits 1 when a
 * target is missed (benchmarks/README.md "Fleet").
 *
 * Run: `npm run fleet -- --nodes 24 --seconds 60 --out fleet.json`.
 */
/* eslint-disable no-console */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { analyze } from './lib/analyze.js'
import { ChaosRunner } from './lib/chaos.js'
import { renderChart } from './lib/chart.js'
import { planChaos, planNodes, seededRandom } from './lib/plan.js'
import { FaultProxy } from './lib/proxy.js'
import { printSummary, targets } from './lib/summary.js'
import type { RunData } from './lib/analyze.js'
import type { Command, NodeKind, NodeSpec, Report, WorkerSettings } from './lib/ipc.js'
import type { PlannedNode } from './lib/plan.js'
import type { ChildProcess } from 'node:child_process'

const HERE = dirname(fileURLToPath(import.meta.url))
/** DHT servers a record must be on to count as published (the publisher's own bar) */
const PUBLISHED = 3
const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '300' },
    out: { type: 'string' },
    chart: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'lookup-timeout': { type: 'string', default: '1000' },
    'traffic-interval': { type: 'string' },
    'walk-interval': { type: 'string' },
    'ping-interval': { type: 'string', default: '60000' },
    'no-chaos': { type: 'boolean', default: false },
    raw: { type: 'string' }
  }
})
const N = Number(values.nodes)
const SECONDS = Number(values.seconds)
const SEED = Number(values.seed)
const LOOKUP_TIMEOUT = Number(values['lookup-timeout'])
if (!(N >= 10) || !(SECONDS >= 20)) {
  throw new Error('--nodes must be at least 10 and --seconds at least 20')
}
/**
 * Above 32 nodes the machine-wide load stays that of a 32-node fleet: the
 * transfers per second (each node's interval grows with N) and the walks
 * (each walk of a larger DHT touches more peers: the interval grows with
 * N²). Measured on 2 cores at 64 nodes with the 32-node rates per node
 * (2.5 s, 30 s) and libp2p's 10 s connection-monitor pings: every worker
 * busy for the whole run, stock ones included (benchmarks/README.md)
 */
const scale = Math.max(1, N / 32)
const started = Date.now()
const settings: WorkerSettings = {
  trafficIntervalMs: Number(values['traffic-interval'] ?? Math.round(2500 * scale)),
  closeProbability: 0.25,
  discoverIntervalMs: Number(values['walk-interval'] ?? Math.round(30_000 * scale * scale)),
  pingIntervalMs: Number(values['ping-interval']),
  statsIntervalMs: 2000,
  lookupTimeout: LOOKUP_TIMEOUT
}

const random = seededRandom(SEED)
const nodes = planNodes(N)
const warmup = Math.min(15_000, SECONDS * 250)
const chaosPlan = values['no-chaos'] !== true ? planChaos(nodes, warmup, SECONDS * 1000 - Math.min(10_000, SECONDS * 150), random) : []
const keys = await Promise.all(nodes.map(async () => generateKeyPair('Ed25519')))
const peerIds = keys.map(k => peerIdFromPrivateKey(k).toString())

const data: RunData = {
  nodes,
  peerIndex: new Map(peerIds.map((p, i) => [p, i])),
  ipIndex: new Map(nodes.map(n => [n.ip, n.index])),
  t0: 0,
  tEnd: 0,
  lookupTimeout: LOOKUP_TIMEOUT,
  applied: [],
  handshakes: [],
  transfers: [],
  lookups: [],
  queries: [],
  published: [],
  threats: [],
  stats: [],
  proxyEvents: {}
}

let shuttingDown = false

function onWorkerExit (kind: NodeKind, code: number | null): void {
  if (shuttingDown) { return }
  console.error(`fleet: a ${kind} worker exited (${String(code)}) before the end: giving up`)
  workers.forEach(other => other.child.kill('SIGKILL'))
  process.exit(2)
}
// workers: at most PER_WORKER nodes per process whatever their kind, so that every kind's
// handshakes share an event loop with as many nodes (the latency comparison is fair only so)
const PER_WORKER = 6
interface Worker { kind: NodeKind, child: ChildProcess, nodes: number[], exited: Promise<void> }
const workers: Worker[] = []
const workerOf = new Map<number, Worker>()
for (const [kind, file] of [['ech', 'worker-v3.ts'], ['stock', 'worker-v3.ts'], ['v2', 'worker-v2.ts']] as const) {
  const members = nodes.filter(n => n.kind === kind).map(n => n.index)
  const count = Math.ceil(members.length / PER_WORKER)
  for (let w = 0; w < count; w++) {
    // FLEET_CPU_PROF=<dir>: a V8 CPU profile of every worker, for finding where the time goes
    const prof = process.env.FLEET_CPU_PROF != null ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLEET_CPU_PROF}`] : []
    const child = fork(join(HERE, file), [kind], { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const worker: Worker = { kind, child, nodes: members.filter((_, i) => i % count === w), exited: new Promise(resolve => child.once('exit', () => { resolve() })) }
    child.once('exit', (code) => { onWorkerExit(kind, code) })
    worker.nodes.forEach(i => workerOf.set(i, worker))
    workers.push(worker)
  }
}

const waiting = new Map<string, (report: any) => void>()
function expect (key: string): Promise<any> {
  return new Promise(resolve => { waiting.set(key, resolve) })
}
const ports = new Map<number, number>()
const configLists = new Map<number, string>()

/** What each report from a worker does: wake whoever waits for it, or join the run's data */
const handlers: { [E in Report['ev']]: (worker: Worker, report: Extract<Report, { ev: E }>) => void } = {
  ready: (worker, report) => { waiting.get(`ready/${worker.child.pid}`)?.(report) },
  started: (_, report) => {
    ports.set(report.index, report.port)
    if (report.configList != null) { configLists.set(report.index, report.configList) }
    proxies[report.index].setUpstream(report.port)
    waiting.get(`started/${report.index}`)?.(report)
  },
  'start-failed': (_, report) => {
    console.error(`node ${report.index} failed to start: ${report.error}`)
    waiting.get(`started/${report.index}`)?.(report)
  },
  stopped: (_, report) => { waiting.get(`stopped/${report.index}`)?.(report) },
  handshake: (_, report) => { data.handshakes.push(report) },
  transfer: (_, report) => { data.transfers.push(report) },
  lookup: (worker, report) => { data.lookups.push({ ...report, worker: worker.child.pid }) },
  query: (_, report) => { data.queries.push(report) },
  published: (_, report) => { data.published.push(report) },
  threat: (_, report) => { data.threats.push(report) },
  stats: (worker, report) => {
    data.stats.push({ kind: worker.kind, worker: worker.child.pid, t: report.t, heapUsed: report.heapUsed, cpuMs: report.cpuMs, nodes: report.nodes, intervalMs: settings.statsIntervalMs, lagMaxMs: report.lagMaxMs, lagP99Ms: report.lagP99Ms })
  }
}

function onReport (worker: Worker, report: Report): void {
  (handlers[report.ev] as (worker: Worker, report: Report) => void)(worker, report)
}

function command (worker: Worker, cmd: Command): void {
  if (worker.child.connected) { worker.child.send(cmd) }
}

const chaos = new ChaosRunner()
const proxies = nodes.map(n => new FaultProxy({
  dst: n.index,
  nodeOf: (ip) => data.ipIndex.get(ip),
  faults: (src, dst) => chaos.faults(src, dst),
  onEvent: (e) => { data.proxyEvents[e.kind] = (data.proxyEvents[e.kind] ?? 0) + 1 }
}))
const proxyPorts = await Promise.all(proxies.map(async p => p.listen()))

await Promise.all(workers.map(async w => {
  const ready = expect(`ready/${w.child.pid}`)
  w.child.on('message', (report: Report) => { onReport(w, report) })
  await ready
  command(w, { cmd: 'settings', settings })
}))

function b64url (b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/[=]+$/, '')
}

function specOf (index: number, bootstrapList: NodeSpec['bootstrap'] = []): NodeSpec {
  const n = nodes[index]
  return { index, kind: n.kind, privateKey: Buffer.from(privateKeyToProtobuf(keys[index])).toString('base64'), ip: n.ip, announcePort: proxyPorts[index], bootstrap: bootstrapList, xwing: n.xwing, require: n.require }
}

const specs = new Map<number, NodeSpec>()
async function startNode (spec: NodeSpec, keepDatastore: boolean): Promise<void> {
  specs.set(spec.index, spec)
  const done = expect(`started/${spec.index}`)
  command(workerOf.get(spec.index)!, { cmd: 'start', spec, keepDatastore })
  await done
}

async function stopNode (index: number): Promise<void> {
  proxies[index].setUpstream(undefined)
  const done = expect(`stopped/${index}`)
  command(workerOf.get(index)!, { cmd: 'stop', index })
  await done
}

// bootstrap nodes first; then everyone else, a few at a time, given the bootstrap list
const boot = nodes.filter(n => n.bootstrap).map(n => n.index)
await Promise.all(boot.map(async i => startNode(specOf(i), false)))
const list = (forNode: PlannedNode): NodeSpec['bootstrap'] => boot.map(i => {
  const addr = `/ip4/127.0.0.1/tcp/${proxyPorts[i]}/p2p/${peerIds[i]}`
  const echList = configLists.get(i)
  if (forNode.kind !== 'ech' || echList == null) { return { addr } }
  return forNode.require ? { addr, echConfigList: echList } : { addr, echAddr: `/ip4/127.0.0.1/tcp/${proxyPorts[i]}/noise/ech/u${b64url(echList)}/p2p/${peerIds[i]}` }
})
const rest = nodes.filter(n => !n.bootstrap)
for (let i = 0; i < rest.length; i += 6) {
  await Promise.all(rest.slice(i, i + 6).map(async n => startNode(specOf(n.index, list(n)), false)))
  // a few at a time: each new node's first DHT queries reach everyone (further apart above 32
  // nodes: 64 started 1 s apart kept two cores busy through the whole warm-up)
  await new Promise(resolve => setTimeout(resolve, Math.round(1000 * scale * scale)))
}
console.error(`fleet: ${N} nodes up in ${((Date.now() - started) / 1000).toFixed(1)} s (${workers.length} workers)`)

// the DHT warms up: traffic starts 10 s after 95 % of the ECH nodes have their record on at least
// 3 DHT servers and every worker's event loop has settled (its last report < CALM_LAG_MS late),
// at most 90 s (× N/32 above 32 nodes: 64 nodes starting at once keep two cores busy for
// minutes): lookups that missed a record not out yet are retried by then
const CALM_LAG_MS = 300
const echCount = nodes.filter(n => n.kind === 'ech').length
const warmStart = Date.now()
const warmCap = 90_000 * scale
const published = (): boolean => new Set(data.published.filter(p => p.stored >= PUBLISHED).map(p => p.index)).size >= 0.95 * echCount
const calm = (): boolean => workers.every(w => {
  const last = data.stats.findLast(r => r.worker === w.child.pid)
  return last != null && last.t > Date.now() - 3 * settings.statsIntervalMs && (last.lagMaxMs ?? 0) < CALM_LAG_MS
})
while (!(published() && calm()) && Date.now() - warmStart < warmCap) {
  await new Promise(resolve => setTimeout(resolve, 250))
}
const warmupCapped = !(published() && calm())
await new Promise(resolve => setTimeout(resolve, 10_000))
const warmupSeconds = (Date.now() - warmStart) / 1000
console.error(`fleet: DHT warm-up ${warmupSeconds.toFixed(1)} s${warmupCapped ? ' (cut at the cap: records not out or workers still busy)' : ''}; running ${SECONDS} s`)

workers.forEach(w => { command(w, { cmd: 'traffic', on: true }) })
data.t0 = Date.now()
chaos.run(chaosPlan, data.t0, {
  command: (index, cmd) => { command(workerOf.get(index)!, cmd) },
  restart: async (index, keepDatastore, downMs) => {
    await stopNode(index)
    await new Promise(resolve => setTimeout(resolve, downMs))
    await startNode(specs.get(index)!, keepDatastore)
  },
  reset: (match) => proxies.reduce((n, p, dst) => n + p.reset(src => match(src, dst)), 0),
  applied: (event) => { data.applied.push(event) }
})
await new Promise(resolve => setTimeout(resolve, SECONDS * 1000))
data.tEnd = Date.now()
chaos.stop()
workers.forEach(w => { command(w, { cmd: 'traffic', on: false }) })
// transfers under way finish (or time out) before the nodes stop
await new Promise(resolve => setTimeout(resolve, 3000))
shuttingDown = true
workers.forEach(w => { command(w, { cmd: 'shutdown' }) })
await Promise.race([Promise.all(workers.map(async w => w.exited)), new Promise(resolve => setTimeout(resolve, 20_000))])
workers.forEach(w => { if (w.child.exitCode == null) { w.child.kill('SIGKILL') } })
await Promise.all(proxies.map(async p => p.close()))

const summary: Record<string, any> = {
  nodes: N,
  seconds: SECONDS,
  seed: SEED,
  settings,
  roster: {
    ech: nodes.filter(n => n.kind === 'ech').length,
    xwing: nodes.filter(n => n.xwing).length,
    require: nodes.filter(n => n.require).length,
    stock: nodes.filter(n => n.kind === 'stock').length,
    v2: nodes.filter(n => n.kind === 'v2').length,
    workers: workers.length
  },
  ...analyze(data),
  chaos: data.applied.map(e => ({ ...e, at: (e.at - data.t0) / 1000, end: ((e as any).end - data.t0) / 1000 })),
  dhtWarmupSeconds: warmupSeconds,
  dhtWarmupCapped: warmupCapped,
  runtimeSeconds: (Date.now() - started) / 1000
}
const result = targets(summary)
const out = { ...summary, targets: result.targets, ok: result.ok }
const chartFile = values.chart ?? (values.out != null ? values.out.replace(/\.json$/, '') + '.svg' : undefined)
if (values.out != null) { writeFileSync(values.out, JSON.stringify(out, null, 2) + '\n') }
if (values.raw != null) {
  // every report as received, for digging into a run
  writeFileSync(values.raw, JSON.stringify({ ...data, peerIndex: [...data.peerIndex], ipIndex: [...data.ipIndex] }))
}
if (chartFile != null) {
  writeFileSync(chartFile, renderChart(summary.series, summary.chaos as any, SECONDS, `fleet: ${N} nodes, ${SECONDS} s, seed ${SEED}`))
}
printSummary(out, chartFile)
process.exit(result.ok ? 0 : 1)
