/**
 * The real-peer interop matrix: js-libp2p 3 nodes running `echNoise` (from
 * ../src/index.ts) against go-libp2p, rust-libp2p (latest and 0.52 /
 * libp2p-noise 0.43), py-libp2p and js-libp2p with `@libp2p/noise`, each
 * with its own stock Noise, TCP and yamux, over 127.0.0.1; plus two variants
 * that change only the identify agent a peer announces (lib/peers.ts).
 *
 * Usage: `npx tsx interop/run.ts [--json FILE] [--markdown FILE] [--only go-libp2p,rust-libp2p]
 * [--rows 1,2,probe] [--echo-bytes N] [--no-build] [--timeout-s S]`
 *
 * Exit code: 0 when every row matches interop/expectations.ts, 1 when some
 * row differs from it (or has no expectation), 2 when the harness itself
 * failed (build, watchdog).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { buildPeers } from './build.mjs'
import { capabilityRows } from './lib/capabilities.js'
import { configRows, greaseRows } from './lib/dial-rows.js'
import { checkConnection, createJsNode, dialAndCheck, ONE_MIB, round, waitUntil } from './lib/js-node.js'
import { IMPLEMENTATIONS, killAllChildren, runDialer, startListener } from './lib/peers.js'
import { probeRequire, probeRows } from './lib/probe-rows.js'
import { Results } from './lib/results.js'
import type { JsNode } from './lib/js-node.js'
import type { PeerImpl, RunningPeer } from './lib/peers.js'
import type { Harness, NewRow } from './lib/results.js'

// ---- arguments ----
const argv = process.argv.slice(2)
function arg (name: string): string | undefined {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const jsonFile = arg('--json')
const markdownFile = arg('--markdown')
const only = arg('--only')?.split(',')
const rowsFilter = arg('--rows')?.split(',')
const echoBytes = Number(arg('--echo-bytes') ?? ONE_MIB)
const watchdogS = Number(arg('--timeout-s') ?? 900)

const results = new Results()
const startedAt = Date.now()

function wantRow (row: string): boolean {
  return rowsFilter == null || rowsFilter.some(r => row === r || row.startsWith(`${r}-`) || row.startsWith(r))
}

function record (r: NewRow, extraPass = true): void {
  results.record(r, extraPass)
}

// ---- cleanup: every child killed, no hang ----
const jsNodes = new Set<JsNode>()
const listeners: RunningPeer[] = []
let finishing = false

async function cleanup (): Promise<void> {
  await Promise.race([
    Promise.allSettled([...[...jsNodes].map(async n => n.node.stop()), ...listeners.map(async l => l.stop())]),
    new Promise(resolve => setTimeout(resolve, 8000).unref())
  ])
  killAllChildren()
}

process.on('exit', () => { killAllChildren() })
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { killAllChildren(); process.exit(2) })
}
const unhandled: string[] = []
process.on('unhandledRejection', (err: any) => { unhandled.push(String(err?.stack ?? err)) })
process.on('uncaughtException', (err: any) => { unhandled.push(String(err?.stack ?? err)) })

const watchdog = setTimeout(() => {
  process.stderr.write(`interop: watchdog: the run took longer than ${watchdogS} s, stopping\n`)
  report()
  killAllChildren()
  process.exit(2)
}, watchdogS * 1000)
watchdog.unref()

async function jsNode (opts: Parameters<typeof createJsNode>[0]): Promise<JsNode> {
  const n = await createJsNode(opts)
  jsNodes.add(n)
  return n
}

async function stopJs (n: JsNode): Promise<void> {
  jsNodes.delete(n)
  await Promise.race([n.node.stop(), new Promise(resolve => setTimeout(resolve, 5000).unref())])
}

function plainAddr (n: JsNode): string {
  const a = n.node.getMultiaddrs().map(m => m.toString()).find(s => !s.includes('/ech/'))
  if (a == null) { throw new Error('no plain address') }
  return a
}

function theirAddr (l: RunningPeer): string {
  return `${l.addrs[0]}/p2p/${l.peerId}`
}

function outcomeFor (n: JsNode, remotePeer: string | undefined, direction: 'inbound' | 'outbound', since = 0): string {
  const o = n.outcomes.slice(since).filter(x => x.direction === direction && (remotePeer == null || x.remotePeer?.toString() === remotePeer)).pop()
  if (o != null) { return o.outcome === 'fallback' ? `fallback:${o.reason ?? '?'}` : o.outcome }
  const e = n.errors.slice(since).filter(x => x.direction === direction).pop()
  if (e != null) { return e.error }
  return 'none'
}

// ---- rows ----

async function row1 (impl: PeerImpl): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: { mode: 'opportunistic' } })
  try {
    const run = await runDialer(impl, plainAddr(ours), echoBytes)
    await waitUntil(() => ours.outcomes.some(o => o.remotePeer?.toString() === run.peerId), 2000)
    record({
      implementation: impl.name,
      version: run.version,
      row: '1-their-dial-opportunistic',
      direction: 'them→us',
      outcome: outcomeFor(ours, run.peerId, 'inbound'),
      ok: run.dial?.ok === true,
      ms: num(run.dial?.connectMs),
      detail: { theirDial: run.dial }
    })
  } finally { await stopJs(ours) }
}

async function row2 (impl: PeerImpl): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: { mode: 'require' } })
  try {
    const target = plainAddr(ours)
    const ourId = ours.node.peerId.toString()
    const run = await runDialer(impl, target, echoBytes, 10_000)
    await waitUntil(() => ours.errors.length > 0, 2000)
    // where our peer id shows up in their output, apart from the target address we gave them
    const authenticated = run.lines.filter(l => ['secured', 'connected', 'identify'].includes(l.event) && JSON.stringify(l).includes(ourId))
    const rest = run.text.split(target).join('<target>')
    const mentions = rest.split(ourId).length - 1
    const mentionContexts = [...rest.matchAll(new RegExp(`.{0,80}${ourId}.{0,40}`, 'g'))].map(m => m[0]).slice(0, 4)
    const refusedBeforeMsg2 = ours.errors.some(e => e.error === 'EchRequiredError')
    record({
      implementation: impl.name,
      version: run.version,
      row: '2-their-dial-require',
      direction: 'them→us',
      outcome: ours.errors.at(-1)?.error ?? outcomeFor(ours, run.peerId, 'inbound'),
      ok: run.dial?.ok === true,
      ms: null,
      detail: {
        theirError: run.dial?.error,
        theirInboundErrors: run.lines.filter(l => l.event === 'outbound-error').map(l => l.error),
        ourPeerIdAuthenticatedByThem: authenticated.length > 0,
        ourPeerIdMentionsOutsideTarget: mentions,
        mentionContexts,
        refusedBeforeMsg2
      }
    }, authenticated.length === 0 && refusedBeforeMsg2)
  } finally { await stopJs(ours) }
}

async function row3 (impl: PeerImpl, l: RunningPeer): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: { mode: 'opportunistic' } })
  try {
    const r = await dialAndCheck(ours, multiaddr(theirAddr(l)), echoBytes)
    record({
      implementation: impl.name,
      version: l.version,
      row: '3-our-dial-no-config',
      direction: 'us→them',
      outcome: outcomeFor(ours, l.peerId, 'outbound'),
      ok: r.ok,
      ms: r.connectMs ?? null,
      detail: { error: r.error, pingMs: r.pingMs }
    })
  } finally { await stopJs(ours) }
}

async function row7 (impl: PeerImpl, l: RunningPeer): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: { mode: 'opportunistic' }, announceEch: true })
  try {
    await waitUntil(() => ours.node.getMultiaddrs().some(a => a.toString().includes('/ech/')), 3000)
    const announced = ours.node.getMultiaddrs().map(a => a.toString())
    const ourId = ours.node.peerId.toString()
    const summarize = (line: any): Record<string, unknown> | undefined => line == null
      ? undefined
      : { ok: line.ok, error: line.error, listenAddrs: line.listenAddrs, peerstoreAddrs: line.peerstoreAddrs, signedPeerRecord: line.signedPeerRecord, protocols: line.protocols?.length, echAddrSeen: JSON.stringify(line).includes('/ech/'), unparseableAddrs: line.unparseableAddrs, parseError: line.parseError }

    // them -> us: their dialer connects, identifies us, pings and echoes
    const run = await runDialer(impl, plainAddr(ours), echoBytes)
    const theirIdentify = run.lines.find(x => x.event === 'identify' && x.remotePeer === ourId)
    const weIdentifiedThem = ours.identified.some(i => i.peerId === run.peerId)
    record({
      implementation: impl.name,
      version: run.version,
      row: '7-ech-announce',
      direction: 'them→us',
      outcome: identifyOutcome(theirIdentify),
      ok: run.dial?.ok === true,
      ms: num(run.dial?.connectMs),
      detail: { announced, theirIdentify: summarize(theirIdentify), theirDial: run.dial, weIdentifiedThem }
    })

    // us -> them: we dial their listener, wait for their identify of us, then use the same connection
    const r = await dialAndCheck(ours, multiaddr(theirAddr(l)), 1024, 15_000)
    const identifyLine = await l.waitFor(x => x.event === 'identify' && x.remotePeer === ourId, 5000)
    await new Promise(resolve => setTimeout(resolve, 300))
    const after = r.connection != null ? await checkConnection(ours, r.connection, echoBytes) : undefined
    record({
      implementation: impl.name,
      version: l.version,
      row: '7-ech-announce',
      direction: 'us→them',
      outcome: identifyOutcome(identifyLine),
      ok: r.ok && after?.ok === true,
      ms: r.connectMs ?? null,
      detail: {
        theirIdentify: summarize(identifyLine),
        // the same listener's identify of our earlier nodes (rows 3-5, no /ech address): tells whether
        // a missing signed record here is the /ech address's doing
        signedPeerRecordOfNodesWithoutEch: [...new Set(l.lines.filter(x => x.event === 'identify' && x.remotePeer !== ourId).map(x => x.signedPeerRecord))],
        firstDial: { ok: r.ok, error: r.error },
        afterIdentify: after == null ? undefined : { ok: after.ok, error: after.error, status: r.connection?.status }
      }
    })
  } finally { await stopJs(ours) }
}

/** What their identify of our /ech-announcing node showed */
function identifyOutcome (line: any): string {
  if (line == null) { return 'identify:none' }
  if (line.ok !== true) { return 'identify:failed' }
  if (line.unparseableAddrs > 0) { return 'identify:ok,ech-addr-stored-unparseable' }
  return JSON.stringify(line.listenAddrs ?? []).includes('/ech/') ? 'identify:ok+ech-addr' : 'identify:ok,ech-addr-dropped'
}

function num (x: unknown): number | null {
  return typeof x === 'number' ? round(x) : null
}

// ---- report ----
function report (): void {
  results.print(startedAt, unhandled)
  if (jsonFile != null) { results.writeJson(jsonFile) }
  if (markdownFile != null) { results.writeMarkdown(markdownFile) }
}

const harness: Harness = { echoBytes, jsNode, stopJs, record, wantRow }

/** Every step of the matrix against one implementation's listener */
async function runImplementation (impl: PeerImpl): Promise<void> {
  let l: RunningPeer | undefined
  try {
    l = await startListener(impl)
    listeners.push(l)
    process.stderr.write(`interop: ${impl.name} ${l.version} listening on ${theirAddr(l)}\n`)
    const peer = l
    const steps: Array<[string, () => Promise<void>]> = [
      ['1', async () => { await row1(impl) }],
      ['2', async () => { await row2(impl) }],
      ['3', async () => { await row3(impl, peer) }],
      ['4', async () => { await configRows(harness, impl, peer, false) }],
      ['4c', async () => { await configRows(harness, impl, peer, true) }],
      ['5', async () => { await greaseRows(harness, impl, peer) }],
      ['7', async () => { await row7(impl, peer) }],
      ['probe', async () => { await probeRows(harness, impl, peer) }]
    ]
    for (const [id, fn] of steps) {
      if (!wantRow(id) || (impl.steps != null && !impl.steps.includes(id))) { continue }
      await fn().catch((err: any) => {
        record({ implementation: impl.name, version: peer.version, row: `${id}-harness`, direction: '-', outcome: 'harness-error', ok: false, ms: null, detail: { error: String(err?.stack ?? err) } }, false)
      })
    }
  } catch (err: any) {
    record({ implementation: impl.name, version: '?', row: 'start', direction: '-', outcome: 'harness-error', ok: false, ms: null, detail: { error: String(err?.stack ?? err) } }, false)
  } finally {
    if (l != null) { await l.stop() }
  }
}

async function main (): Promise<number> {
  const impls = IMPLEMENTATIONS.filter(i => only == null || only.includes(i.name) || (i.base != null && only.includes(i.base)))
  if (!argv.includes('--no-build')) {
    const t = Date.now()
    const built = buildPeers([...new Set(impls.map(i => i.build))])
    process.stderr.write(`interop: peers ready in ${round((Date.now() - t) / 1000)} s: ${JSON.stringify(built)}\n`)
  }
  for (const impl of impls) {
    await runImplementation(impl)
  }
  if (wantRow('6')) { await capabilityRows(harness) }
  if (wantRow('probe')) { await probeRequire(harness) }
  return results.allPass ? 0 : 1
}

let code = 2
try {
  code = await main()
} catch (err: any) {
  process.stderr.write(`interop: harness failure: ${String(err?.stack ?? err)}\n`)
  code = 2
} finally {
  if (!finishing) {
    finishing = true
    await cleanup()
    report()
  }
}
process.exit(code)
