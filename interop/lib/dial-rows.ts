/**
 * Rows 4, 4b, 4c, 5, 5b, 5c: our node dials their stock Noise listener
 * several times in a row, hanging up after each dial so that every dial is a
 * new connection and a new handshake, and records what the encrypter chose
 * each time (offer, GREASE, stock Noise and why) and whether the connection
 * worked (ping + echo byte for byte).
 *
 * What the sequences pin down (src/encrypter/outbound.ts,
 * src/policy/refusals.ts, src/policy/tolerance.ts): a config they cannot
 * take costs one failed dial per address (the next dial there goes to stock
 * Noise, `address-refused`, and once that stock handshake proves the peer,
 * later ones stay stock, `config-refused`); GREASE never goes on first
 * contact, and afterwards only to peers whose identify agent says their
 * Noise takes an outer hello.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { dialAndCheck, waitUntil } from './js-node.js'
import type { JsNode } from './js-node.js'
import type { PeerImpl, RunningPeer } from './peers.js'
import type { Harness } from './results.js'
import type { EchConnectionInfo, EchHandshakeError } from '../../src/index.js'
import type { PeerId } from '@libp2p/interface'

/** Dials in each sequence */
export const SEQUENCE_DIALS = 5

export interface DialAttempt {
  dial: number
  ok: boolean
  /** `rejected`, `grease`, `fallback:<reason>`, … or `error:<name>` of the encrypter's error */
  outcome: string
  /** The encrypter's error name, when the dial failed in the handshake */
  errorName?: string
  error?: string
  connectMs: number | null
  /** The identify agent our node held for them after this dial */
  agent?: string
}

interface SequenceSummary {
  dialsUntilSuccess: number | null
  failedDials: number
  /** Every dial after the first successful one worked too */
  laterDialsOk: boolean
}

function summarize (attempts: DialAttempt[]): SequenceSummary {
  const first = attempts.findIndex(a => a.ok)
  return {
    dialsUntilSuccess: first < 0 ? null : first + 1,
    failedDials: attempts.filter(a => !a.ok).length,
    laterDialsOk: first >= 0 && attempts.slice(first).every(a => a.ok)
  }
}

/** What the encrypter reported for one dial: its outcome, else its error */
function attemptOutcome (o?: EchConnectionInfo, e?: EchHandshakeError): string {
  if (o != null) { return o.outcome === 'fallback' ? `fallback:${o.reason ?? '?'}` : o.outcome }
  return e != null ? `error:${e.error}` : 'none'
}

function theirAddr (l: RunningPeer): string {
  return `${l.addrs[0]}/p2p/${l.peerId}`
}

/** The identify agent our node stored for the peer, once identify has run */
export async function agentOf (ours: JsNode, peer: PeerId, timeoutMs = 0): Promise<string | undefined> {
  let agent: string | undefined
  const read = async (): Promise<void> => {
    const record = await ours.node.peerStore.get(peer).catch(() => undefined)
    const bytes = record?.metadata.get('AgentVersion')
    agent = bytes == null ? undefined : uint8ArrayToString(bytes)
  }
  const end = Date.now() + timeoutMs
  do {
    await read()
    if (agent != null) { break }
    await new Promise(resolve => setTimeout(resolve, 20))
  } while (Date.now() < end)
  return agent
}

/**
 * One dial, then (when it worked) wait for identify to store their agent,
 * and hang up so the next dial opens a new connection
 */
async function dialOnce (h: Harness, ours: JsNode, l: RunningPeer, dial: number): Promise<DialAttempt> {
  const peer = peerIdFromString(l.peerId)
  const sinceO = ours.outcomes.length
  const sinceE = ours.errors.length
  const r = await dialAndCheck(ours, multiaddr(theirAddr(l)), h.echoBytes, 15_000)
  await waitUntil(() => ours.outcomes.length > sinceO || ours.errors.length > sinceE, 1000)
  const o = ours.outcomes.slice(sinceO).filter(x => x.direction === 'outbound').pop()
  const e = ours.errors.slice(sinceE).filter(x => x.direction === 'outbound').pop()
  const outcome = attemptOutcome(o, e)
  let agent: string | undefined
  if (r.connection != null) {
    agent = await agentOf(ours, peer, 3000)
    await ours.node.hangUp(peer).catch(() => {})
    await waitUntil(() => ours.node.getConnections(peer).length === 0, 2000)
  } else {
    // let the connection bookkeeping settle between dials
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { dial, ok: r.ok, outcome, errorName: e?.error, error: r.error?.slice(0, 200), connectMs: r.connectMs ?? null, agent }
}

async function dialSequence (h: Harness, ours: JsNode, l: RunningPeer, onDial?: (a: DialAttempt) => Promise<void>): Promise<DialAttempt[]> {
  const attempts: DialAttempt[] = []
  for (let i = 1; i <= SEQUENCE_DIALS; i++) {
    const a = await dialOnce(h, ours, l, i)
    attempts.push(a)
    await onDial?.(a)
  }
  return attempts
}

function theirErrors (l: RunningPeer, sinceLine: number): unknown[] {
  return [...new Set(l.lines.slice(sinceLine).filter(x => x.event === 'inbound-error').map(x => x.debug ?? x.error))].slice(0, 3)
}

/**
 * Rows 4 + 4b (`grease: false`) or 4c (`grease: true`): our node holds an
 * ECH config for them (they run stock Noise), as after a stale record or a
 * bogus announcement
 */
export async function configRows (h: Harness, impl: PeerImpl, l: RunningPeer, grease: boolean): Promise<void> {
  const ours = await h.jsNode({ encrypter: 'ech', ech: { mode: 'opportunistic', grease } })
  const sinceLine = l.lines.length
  try {
    const key = await generateEchKey()
    const peer = peerIdFromString(l.peerId)
    await ours.node.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: key.configList } })
    const breakerEvents: unknown[] = []
    ours.ech!.addEventListener('ech:breaker', (evt: any) => { breakerEvents.push({ state: evt.detail.state, failures: evt.detail.failures }) })
    const attempts = await dialSequence(h, ours, l, async (a) => {
      if (a.dial !== 1 || grease) { return }
      h.record({
        implementation: impl.name,
        version: l.version,
        row: '4-our-dial-stale-config',
        direction: 'us→them',
        outcome: a.ok ? a.outcome : (a.errorName ?? 'dial-failed'),
        ok: a.ok,
        ms: a.connectMs,
        detail: { ourOutcome: a.outcome, error: a.error, theirInboundErrors: theirErrors(l, sinceLine) }
      })
    })
    const summary = summarize(attempts)
    h.record({
      implementation: impl.name,
      version: l.version,
      row: grease ? '4c-redial-stale-config-grease-on' : '4b-redial-stale-config',
      direction: 'us→them',
      outcome: attempts.map(a => a.outcome).join(' > '),
      ok: summary.laterDialsOk,
      ms: null,
      detail: { ...summary, agent: await agentOf(ours, peer), attempts, breakerEvents, theirInboundErrors: theirErrors(l, sinceLine) }
    })
  } finally { await h.stopJs(ours) }
}

/**
 * Rows 5, 5b, 5c: our node with `grease: true` and no config for them.
 * Dial 1 is first contact (nothing known: stock Noise); dial 2 comes after
 * identify told us their agent (GREASE only where it says their Noise takes
 * an outer hello); 5c counts the failed dials of the whole sequence.
 * `impl.misidentified`: their agent names a Noise they do not run, so the
 * summary goes to row 5d (what a wrong agent costs).
 */
export async function greaseRows (h: Harness, impl: PeerImpl, l: RunningPeer): Promise<void> {
  const ours = await h.jsNode({ encrypter: 'ech', ech: { mode: 'opportunistic', grease: true } })
  const sinceLine = l.lines.length
  const peer = peerIdFromString(l.peerId)
  try {
    let firstAgent: string | undefined
    const attempts = await dialSequence(h, ours, l, async (a) => {
      if (a.dial === 1) { firstAgent = a.agent }
      if (a.dial > 2) { return }
      h.record({
        implementation: impl.name,
        version: l.version,
        row: a.dial === 1 ? '5-our-grease-dial' : '5b-grease-after-identify',
        direction: 'us→them',
        outcome: a.ok ? a.outcome : (a.errorName ?? 'dial-failed'),
        ok: a.ok,
        ms: a.connectMs,
        detail: { ourOutcome: a.outcome, error: a.error, agentKnownBeforeThisDial: a.dial === 1 ? null : firstAgent, theirInboundErrors: theirErrors(l, sinceLine) }
      })
    })
    const summary = summarize(attempts)
    h.record({
      implementation: impl.name,
      version: l.version,
      row: impl.misidentified === true ? '5d-grease-misidentified-failed-dials' : '5c-grease-failed-dials',
      direction: 'us→them',
      outcome: attempts.map(a => a.outcome).join(' > '),
      ok: summary.failedDials === 0,
      ms: null,
      detail: { ...summary, agent: await agentOf(ours, peer), attempts, theirInboundErrors: theirErrors(l, sinceLine) }
    })
  } finally { await h.stopJs(ours) }
}
