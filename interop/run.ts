/* eslint-disable no-console */
/**
 * The real-peer interop matrix: js-libp2p 3 nodes running `echNoise` (from
 * ../src/index.ts) against go-libp2p, rust-libp2p (latest and 0.52 /
 * libp2p-noise 0.43), py-libp2p and js-libp2p with `@libp2p/noise`, each
 * with its own stock Noise, TCP and yamux, over 127.0.0.1.
 *
 * Usage: `npx tsx interop/run.ts [--json FILE] [--only go-libp2p,rust-libp2p]
 * [--rows 1,2,probe] [--echo-bytes N] [--no-build] [--timeout-s S]`
 *
 * Exit code: 0 when every row matches interop/expectations.ts, 1 when some
 * row differs (a regression, or an expectation to tighten), 2 when the
 * harness itself failed (build, watchdog).
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { concat } from '../src/crypto/bytes.js'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../src/index.js'
import { buildPeers, peerCommand } from './build.mjs'
import { expectationFor } from './expectations.js'
import { checkConnection, createJsNode, dialAndCheck, ONE_MIB, round, waitUntil } from './lib/js-node.js'
import { IMPLEMENTATIONS, killAllChildren, runDialer, startListener } from './lib/peers.js'
import { pbBytes, probeResponder, startRawResponder } from './lib/raw-noise.js'
import type { Expectation } from './expectations.js'
import type { JsNode } from './lib/js-node.js'
import type { PeerImpl, RunningPeer } from './lib/peers.js'
import type { PeerId } from '@libp2p/interface'

export interface RowResult {
  implementation: string
  version: string
  row: string
  direction: string
  /** What our side recorded (ECH outcome, error name) or the probe's result */
  outcome: string
  /** The connection worked (ping + echo), or the probe's handshake went on */
  ok: boolean
  /** Handshake (connection establishment) time, ms, when there was one */
  ms: number | null
  expected?: Expectation
  /** The result matches the expectation */
  pass: boolean
  detail?: Record<string, unknown>
}

// ---- arguments ----
const argv = process.argv.slice(2)
function arg (name: string): string | undefined {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const jsonFile = arg('--json')
const only = arg('--only')?.split(',')
const rowsFilter = arg('--rows')?.split(',')
const echoBytes = Number(arg('--echo-bytes') ?? ONE_MIB)
const watchdogS = Number(arg('--timeout-s') ?? 900)
const REDIALS = 6

const results: RowResult[] = []
const startedAt = Date.now()

function wantRow (row: string): boolean {
  return rowsFilter == null || rowsFilter.some(r => row === r || row.startsWith(`${r}-`) || row.startsWith(r))
}

function record (r: Omit<RowResult, 'pass' | 'expected'>, extraPass = true): void {
  const expected = expectationFor(r.row, r.implementation)
  let pass = extraPass
  if (expected != null) {
    if (expected.ok !== r.ok) { pass = false }
    if (expected.outcome != null && expected.outcome !== r.outcome) { pass = false }
    if (expected.dialsUntilSuccess !== undefined && expected.dialsUntilSuccess !== (r.detail?.dialsUntilSuccess ?? null)) { pass = false }
  }
  const full: RowResult = { ...r, expected, pass }
  results.push(full)
  const mark = pass ? 'pass' : 'FAIL'
  process.stderr.write(`[${mark}] ${r.implementation} ${r.row} ${r.direction}: ok=${r.ok} outcome=${r.outcome} ms=${r.ms ?? '-'}${pass ? '' : ` expected=${JSON.stringify(expected)} detail=${JSON.stringify(r.detail)?.slice(0, 600)}`}\n`)
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

/** Rows 4/5: one dial, then (if it failed) dial again until one succeeds or REDIALS dials were made */
async function redialRows (impl: PeerImpl, l: RunningPeer, kind: 'stale-config' | 'grease' | 'stale-config+grease'): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: kind === 'stale-config' ? { mode: 'opportunistic' } : { mode: 'opportunistic', grease: true } })
  const rowA = kind === 'grease' ? '5-our-grease-dial' : kind === 'stale-config' ? '4-our-dial-stale-config' : undefined
  const rowB = kind === 'grease' ? '5b-redial-grease' : kind === 'stale-config' ? '4b-redial-stale-config' : '4c-redial-stale-config-grease-on'
  try {
    const key = await generateEchKey()
    const theirId = (await import('@libp2p/peer-id')).peerIdFromString(l.peerId) as PeerId
    if (kind !== 'grease') {
      await ours.node.peerStore.merge(theirId, { metadata: { [ECH_PEER_STORE_KEY]: key.configList } })
    }
    const breakerEvents: unknown[] = []
    ours.ech!.addEventListener('ech:breaker', (evt: any) => { breakerEvents.push({ state: evt.detail.state, failures: evt.detail.failures }) })
    const attempts: Array<Record<string, unknown>> = []
    let first: Awaited<ReturnType<typeof dialAndCheck>> | undefined
    let dialsUntilSuccess: number | null = null
    for (let i = 1; i <= REDIALS; i++) {
      const since = ours.outcomes.length + ours.errors.length
      const sinceO = ours.outcomes.length
      const sinceE = ours.errors.length
      const r = await dialAndCheck(ours, multiaddr(theirAddr(l)), echoBytes, 15_000)
      await waitUntil(() => ours.outcomes.length + ours.errors.length > since, 1000)
      const o = ours.outcomes.slice(sinceO).filter(x => x.direction === 'outbound').pop()
      const e = ours.errors.slice(sinceE).filter(x => x.direction === 'outbound').pop()
      const outcome = o != null ? (o.outcome === 'fallback' ? `fallback:${o.reason ?? '?'}` : o.outcome) : (e != null ? `error:${e.error}` : 'none')
      attempts.push({ dial: i, ok: r.ok, outcome, error: r.error?.slice(0, 200), connectMs: r.connectMs })
      if (first == null) {
        first = r
        if (rowA != null) {
          record({
            implementation: impl.name,
            version: l.version,
            row: rowA,
            direction: 'us→them',
            outcome: r.ok ? outcome : 'dial-failed',
            ok: r.ok,
            ms: r.connectMs ?? null,
            detail: { ourOutcome: outcome, error: r.error, theirInboundErrors: l.lines.filter(x => x.event === 'inbound-error').slice(-1).map(x => x.debug ?? x.error) }
          })
        }
      }
      if (r.ok) { dialsUntilSuccess = i; break }
      // let the breaker and connection bookkeeping settle between dials
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    record({
      implementation: impl.name,
      version: l.version,
      row: rowB,
      direction: 'us→them',
      outcome: attempts.map(a => a.outcome).join(' > '),
      ok: dialsUntilSuccess != null,
      ms: null,
      detail: { dialsUntilSuccess, attempts, breakerEvents, theirInboundErrors: [...new Set(l.lines.filter(x => x.event === 'inbound-error').map(x => x.debug ?? x.error))].slice(0, 3) }
    })
  } finally { await stopJs(ours) }
}

async function row6 (): Promise<void> {
  const n = await jsNode({ encrypter: 'libp2p-noise' })
  const c = await jsNode({ encrypter: 'chainsafe-noise' })
  const e = await jsNode({ encrypter: 'ech' })
  try {
    const { serviceCapabilities } = await import('@libp2p/interface')
    const detail = {
      '@libp2p/noise': { toStringTag: n.encrypter[Symbol.toStringTag], serviceCapabilities: n.encrypter[serviceCapabilities], protocol: n.encrypter.protocol },
      '@chainsafe/libp2p-noise': { toStringTag: c.encrypter[Symbol.toStringTag], serviceCapabilities: c.encrypter[serviceCapabilities], protocol: c.encrypter.protocol },
      'libp2p-noise-ech': { toStringTag: e.encrypter[Symbol.toStringTag], serviceCapabilities: e.encrypter[serviceCapabilities], protocol: e.encrypter.protocol }
    }
    record({
      implementation: 'js-libp2p+@libp2p/noise',
      version: 'libp2p 3 + @libp2p/noise 17.0.3',
      row: '6-capabilities',
      direction: '-',
      outcome: String(detail['@libp2p/noise'].toStringTag),
      ok: detail['@libp2p/noise'].protocol === '/noise',
      ms: null,
      detail
    })
  } finally { await Promise.all([stopJs(n), stopJs(c), stopJs(e)]) }
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
      detail: { theirIdentify: summarize(identifyLine), firstDial: { ok: r.ok, error: r.error }, afterIdentify: after == null ? undefined : { ok: after.ok, error: after.error, status: r.connection?.status } }
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

const PROBES: Array<[string, Uint8Array]> = [
  ['probe-msg1-empty', new Uint8Array(0)],
  // only an unknown field (1025, wire type 2), as our outer hello is
  ['probe-msg1-unknown-1025', pbBytes(1025, crypto.getRandomValues(new Uint8Array(120)))],
  // a known field: identity_key (1) with 4 bytes
  ['probe-msg1-known-field1', pbBytes(1, Uint8Array.of(1, 2, 3, 4))],
  // a known field: extensions (4) with stream_muxers
  ['probe-msg1-known-field4', pbBytes(4, pbBytes(2, new TextEncoder().encode('/yamux/1.0.0')))],
  // a known field present with its default value (empty bytes)
  ['probe-msg1-field1-empty', Uint8Array.of(0x0a, 0x00)],
  // not protobuf at all (a group end tag / truncated varint)
  ['probe-msg1-not-protobuf', concat(Uint8Array.of(0xff, 0xff, 0xff), crypto.getRandomValues(new Uint8Array(8)))]
]

async function probes (impl: PeerImpl, l: RunningPeer): Promise<void> {
  const [, portStr] = /\/tcp\/(\d+)/.exec(l.addrs[0]) ?? []
  for (const [row, payload] of PROBES) {
    if (!wantRow(row)) { continue }
    const linesBefore = l.lines.length
    const r = await probeResponder('127.0.0.1', Number(portStr), payload, 5000)
    await new Promise(resolve => setTimeout(resolve, 100))
    const theirErrors = l.lines.slice(linesBefore).filter(x => x.event === 'inbound-error').map(x => x.debug ?? x.error)
    record({
      implementation: impl.name,
      version: l.version,
      row,
      direction: 'raw→them',
      outcome: r.msg2Valid ? 'msg2' : (r.msg2Received ? 'msg2-invalid' : 'no-msg2'),
      ok: r.msg2Valid,
      ms: null,
      detail: { payloadHex: Buffer.from(payload).toString('hex').slice(0, 40), error: r.error, theirErrors }
    })
  }
  if (impl.build === 'go' && wantRow('probe-go-unmarshal-1026')) {
    // go-libp2p's own payload type, decoded as its handshake does (proto.Unmarshal): where does field 1026 go?
    const f1026 = pbBytes(1026, Uint8Array.of(0xa0, 0xa1, 0xa2, 0xa3))
    const payload = concat(pbBytes(1, Uint8Array.of(1, 2, 3, 4)), pbBytes(2, Uint8Array.of(5, 6, 7, 8)), f1026)
    const { cmd, args } = peerCommand('go')
    const { stdout } = await promisify(execFile)(cmd, [...args, '--probe-payload', Buffer.from(payload).toString('hex')], { timeout: 10_000 })
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
    const keptAsUnknown = out.unknownHex === Buffer.from(f1026).toString('hex')
    record({
      implementation: impl.name,
      version: out.version ?? l.version,
      row: 'probe-go-unmarshal-1026',
      direction: '-',
      outcome: keptAsUnknown ? 'kept-as-unknown' : 'not-kept',
      ok: out.ok === true && keptAsUnknown,
      ms: null,
      detail: out
    })
  }
  if (wantRow('probe-msg2-unknown-1026')) {
    const raw = await startRawResponder(pbBytes(1026, crypto.getRandomValues(new Uint8Array(300))))
    try {
      const run = await runDialer(impl, `/ip4/127.0.0.1/tcp/${raw.port}/p2p/${raw.peerId}`, 16, 8000)
      await waitUntil(() => raw.results.length > 0, 2000)
      const res = raw.results[0]
      record({
        implementation: impl.name,
        version: run.version,
        row: 'probe-msg2-unknown-1026',
        direction: 'them→raw',
        outcome: res?.msg3Valid === true ? 'msg3' : 'no-msg3',
        ok: res?.msg3Valid === true,
        ms: null,
        detail: { raw: res, theirDialError: run.dial?.error?.slice(0, 300), theirSecured: run.lines.filter(x => x.event === 'secured').length }
      })
    } finally { raw.close() }
  }
}

async function probeRequire (): Promise<void> {
  const ours = await jsNode({ encrypter: 'ech', ech: { mode: 'require' } })
  try {
    const port = Number(/\/tcp\/(\d+)/.exec(plainAddr(ours))![1])
    const r = await probeResponder('127.0.0.1', port, new Uint8Array(0), 5000)
    await waitUntil(() => ours.errors.length > 0, 2000)
    record({
      implementation: 'raw-noise',
      version: 'interop/lib/raw-noise.ts',
      row: 'probe-require-no-identity',
      direction: 'raw→us',
      outcome: r.msg2Received ? 'msg2' : 'no-msg2',
      ok: r.msg2Received,
      ms: null,
      detail: { error: r.error, ourErrors: ours.errors.map(e => e.error), learnedPeer: r.remotePeer }
    })
  } finally { await stopJs(ours) }
}

function num (x: unknown): number | null {
  return typeof x === 'number' ? round(x) : null
}

// ---- report ----
function report (): void {
  const cols = ['implementation', 'version', 'row', 'direction', 'outcome', 'ok', 'ms', 'expected', 'pass'] as const
  const rows = results.map(r => [r.implementation, r.version, r.row, r.direction, r.outcome, String(r.ok), r.ms == null ? '-' : String(r.ms),
    r.expected == null ? '-' : `ok=${r.expected.ok}${r.expected.outcome != null ? ` ${r.expected.outcome}` : ''}${r.expected.dialsUntilSuccess !== undefined ? ` n=${r.expected.dialsUntilSuccess}` : ''}`,
    r.pass ? 'pass' : 'FAIL'])
  const widths = cols.map((c, i) => Math.min(60, Math.max(c.length, ...rows.map(r => r[i].length))))
  const fmt = (cells: string[]): string => cells.map((c, i) => c.length > widths[i] ? c.slice(0, widths[i] - 1) + '…' : c.padEnd(widths[i])).join(' | ')
  console.log(fmt([...cols]))
  console.log(widths.map(w => '-'.repeat(w)).join('-|-'))
  for (const r of rows) { console.log(fmt(r)) }
  const failed = results.filter(r => !r.pass)
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed (matrix ran in ${round((Date.now() - startedAt) / 1000)} s)`)
  if (unhandled.length > 0) { console.log(`unhandled errors during the run: ${unhandled.length}\n${unhandled.slice(0, 3).join('\n')}`) }
  if (jsonFile != null) {
    writeFileSync(jsonFile, JSON.stringify(results.map(r => ({
      implementation: r.implementation, version: r.version, row: r.row, direction: r.direction, outcome: r.outcome, ok: r.ok, ms: r.ms, expected: r.expected, pass: r.pass, detail: r.detail
    })), null, 2))
  }
}

async function main (): Promise<number> {
  const impls = IMPLEMENTATIONS.filter(i => only == null || only.includes(i.name))
  if (!argv.includes('--no-build')) {
    const builds = impls.map(i => i.build).filter((b): b is NonNullable<typeof b> => b != null)
    const t = Date.now()
    const built = buildPeers(builds)
    process.stderr.write(`interop: peers ready in ${round((Date.now() - t) / 1000)} s: ${JSON.stringify(built)}\n`)
  }
  for (const impl of impls) {
    let l: RunningPeer | undefined
    try {
      l = await startListener(impl)
      listeners.push(l)
      process.stderr.write(`interop: ${impl.name} ${l.version} listening on ${theirAddr(l)}\n`)
      const steps: Array<[string, () => Promise<void>]> = [
        ['1', async () => { await row1(impl) }],
        ['2', async () => { await row2(impl) }],
        ['3', async () => { await row3(impl, l!) }],
        ['4', async () => { await redialRows(impl, l!, 'stale-config') }],
        ['5', async () => { await redialRows(impl, l!, 'grease') }],
        ['4c', async () => { await redialRows(impl, l!, 'stale-config+grease') }],
        ['7', async () => { await row7(impl, l!) }],
        ['probe', async () => { await probes(impl, l!) }]
      ]
      for (const [id, fn] of steps) {
        if (!wantRow(id)) { continue }
        try {
          await fn()
        } catch (err: any) {
          record({ implementation: impl.name, version: l.version, row: `${id}-harness`, direction: '-', outcome: 'harness-error', ok: false, ms: null, detail: { error: String(err?.stack ?? err) } }, false)
        }
      }
    } catch (err: any) {
      record({ implementation: impl.name, version: '?', row: 'start', direction: '-', outcome: 'harness-error', ok: false, ms: null, detail: { error: String(err?.stack ?? err) } }, false)
    } finally {
      if (l != null) { await l.stop() }
    }
  }
  if (wantRow('6')) { await row6() }
  if (wantRow('probe')) { await probeRequire() }
  return results.every(r => r.pass) ? 0 : 1
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
