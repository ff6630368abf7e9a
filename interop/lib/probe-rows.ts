/**
 * The raw probes: an independent Noise initiator and responder
 * (`raw-noise.ts`) put chosen bytes where their stock Noise reads a payload,
 * to map what each decoder accepts beyond what this package sends (only
 * `probe-msg1-unknown-1025` is an outer hello's shape), and what our
 * `require` node shows a prober that has no config.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { concat } from '../../src/crypto/bytes.js'
import { peerCommand } from '../build.mjs'
import { waitUntil } from './js-node.js'
import { runDialer } from './peers.js'
import { pbBytes, probeResponder, startRawResponder } from './raw-noise.js'
import type { PeerImpl, RunningPeer } from './peers.js'
import type { Harness } from './results.js'

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

function tcpPort (addr: string): number {
  const [, port] = /\/tcp\/(\d+)/.exec(addr) ?? []
  return Number(port)
}

export async function probeRows (h: Harness, impl: PeerImpl, l: RunningPeer): Promise<void> {
  for (const [row, payload] of PROBES) {
    if (h.wantRow(row)) { await probeMsg1(h, impl, l, row, payload) }
  }
  if (impl.build === 'go' && h.wantRow('probe-go-unmarshal-1026')) { await probeGoUnmarshal(h, impl, l) }
  if (h.wantRow('probe-msg2-unknown-1026')) { await probeMsg2(h, impl) }
}

/** Message 1 with `payload` to their responder: do they answer with a valid message 2? */
async function probeMsg1 (h: Harness, impl: PeerImpl, l: RunningPeer, row: string, payload: Uint8Array): Promise<void> {
  const linesBefore = l.lines.length
  const r = await probeResponder('127.0.0.1', tcpPort(l.addrs[0]), payload, 5000)
  await new Promise(resolve => setTimeout(resolve, 100))
  const theirErrors = l.lines.slice(linesBefore).filter(x => x.event === 'inbound-error').map(x => x.debug ?? x.error)
  let outcome = 'no-msg2'
  if (r.msg2Received) { outcome = r.msg2Valid ? 'msg2' : 'msg2-invalid' }
  h.record({
    implementation: impl.name,
    version: l.version,
    row,
    direction: 'raw→them',
    outcome,
    ok: r.msg2Valid,
    ms: null,
    detail: { payloadHex: Buffer.from(payload).toString('hex').slice(0, 40), error: r.error, theirErrors }
  })
}

/** go-libp2p's own payload type, decoded as its handshake does (proto.Unmarshal): where does field 1026 go? */
async function probeGoUnmarshal (h: Harness, impl: PeerImpl, l: RunningPeer): Promise<void> {
  const f1026 = pbBytes(1026, Uint8Array.of(0xa0, 0xa1, 0xa2, 0xa3))
  const payload = concat(pbBytes(1, Uint8Array.of(1, 2, 3, 4)), pbBytes(2, Uint8Array.of(5, 6, 7, 8)), f1026)
  const { cmd, args } = peerCommand('go')
  const { stdout } = await promisify(execFile)(cmd, [...args, '--probe-payload', Buffer.from(payload).toString('hex')], { timeout: 10_000 })
  const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
  const keptAsUnknown = out.unknownHex === Buffer.from(f1026).toString('hex')
  h.record({
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

/** A raw responder whose message 2 carries field 1026 (as a retry record does): do they send a valid message 3? */
async function probeMsg2 (h: Harness, impl: PeerImpl): Promise<void> {
  const raw = await startRawResponder(pbBytes(1026, crypto.getRandomValues(new Uint8Array(300))))
  try {
    const run = await runDialer(impl, `/ip4/127.0.0.1/tcp/${raw.port}/p2p/${raw.peerId}`, 16, 8000)
    await waitUntil(() => raw.results.length > 0, 2000)
    const res = raw.results[0]
    h.record({
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

/** A raw initiator (no peer id given, no config) -> our `require` node: no message 2, so no identity shown */
export async function probeRequire (h: Harness): Promise<void> {
  const ours = await h.jsNode({ encrypter: 'ech', ech: { mode: 'require' } })
  try {
    const addr = ours.node.getMultiaddrs().map(m => m.toString()).find(s => !s.includes('/ech/')) ?? ''
    const r = await probeResponder('127.0.0.1', tcpPort(addr), new Uint8Array(0), 5000)
    await waitUntil(() => ours.errors.length > 0, 2000)
    h.record({
      implementation: 'raw-noise',
      version: 'interop/lib/raw-noise.ts',
      row: 'probe-require-no-identity',
      direction: 'raw→us',
      outcome: r.msg2Received ? 'msg2' : 'no-msg2',
      ok: r.msg2Received,
      ms: null,
      detail: { error: r.error, ourErrors: ours.errors.map(e => e.error), learnedPeer: r.remotePeer }
    })
  } finally { await h.stopJs(ours) }
}
