/**
 * What each row of the interop matrix must show, per implementation. The
 * runner's exit code is 0 only when every row matches this table.
 *
 * Every `ok: false` here is one of three things, each named in its note: a
 * refusal that is the point of the row (require mode), the one failed dial a
 * stock Noise that rejects any message-1 payload (rust-libp2p 0.52) costs per
 * address, or a raw probe that records what their Noise does with bytes we
 * never send. None is a dial that stock Noise would have completed and this
 * package made fail, except row 5d, which shows what a peer whose identify
 * agent names a Noise it does not run costs (one dial per address).
 */
import type { ImplName } from './lib/peers.js'

export interface Expectation {
  /** Whether the connection works (ping + 1 MiB echo byte for byte), or for probes whether the handshake went on */
  ok: boolean
  /** The outcome recorded on our side (ECH outcome, error name, a sequence of them, probe result); omitted = not checked */
  outcome?: string
  /** Sequence rows: the dial number (1-based) of the first successful dial; null = none */
  dialsUntilSuccess?: number | null
  /** Sequence rows: how many of the dials failed */
  failedDials?: number
  note?: string
}

type Row = Partial<Record<ImplName | 'raw-noise' | 'libp2p-noise-ech', Expectation>> & { default?: Expectation }

const TOLERANT = 'stock Noise that hashes and ignores (or skips unknown fields of) the message-1 payload'

/** The outcomes of the five dials of a sequence row (lib/dial-rows.ts SEQUENCE_DIALS), as the runner joins them */
function seq (...outcomes: string[]): string {
  return outcomes.join(' > ')
}
const five = (outcome: string): string => seq(outcome, outcome, outcome, outcome, outcome)

// libp2p-noise 0.43 rejects any non-empty message-1 payload ("Unexpected handshake payload.", io/handshake.rs
// recv_empty): the offer fails before message 2 (EchRefusedError), that address gets stock Noise next
// (address-refused), and once that stock handshake proved the peer, it keeps getting it (config-refused)
const NOISE043_CONFIG: Expectation = {
  ok: true,
  outcome: seq('error:EchRefusedError', 'fallback:address-refused', 'fallback:config-refused', 'fallback:config-refused', 'fallback:config-refused'),
  dialsUntilSuccess: 2,
  failedDials: 1,
  note: 'one failed dial per address: the cost of a config held for a peer whose Noise rejects any message-1 payload'
}

// nothing known of the peer on dial 1; after identify, GREASE only where the agent is on the list (src/policy/tolerance.ts)
const GREASED: Expectation = { ok: true, outcome: seq('fallback:no-config', 'grease', 'grease', 'grease', 'grease'), dialsUntilSuccess: 1, failedDials: 0, note: TOLERANT }
const NOT_GREASED: Expectation = { ok: true, outcome: five('fallback:no-config'), dialsUntilSuccess: 1, failedDials: 0 }

export const EXPECTATIONS: Record<string, Row> = {
  // 1. their stock dialer -> our opportunistic echNoise node
  '1-their-dial-opportunistic': { default: { ok: true, outcome: 'not-offered' } },

  // 2. their stock dialer -> our mode:'require' node: refused before message 2 (the point of require mode)
  '2-their-dial-require': { default: { ok: false, outcome: 'EchRequiredError', note: 'require mode refuses stock hellos by design' } },

  // 3. our node without a config for them -> their node: stock Noise
  '3-our-dial-no-config': { default: { ok: true, outcome: 'fallback:no-config' } },

  // 4. our node holding an ECH config for them (they run stock Noise): dial 1, an offer to a stock responder
  '4-our-dial-stale-config': {
    default: { ok: true, outcome: 'rejected', note: TOLERANT },
    'rust-libp2p-noise043': { ok: false, outcome: 'EchRefusedError', note: NOISE043_CONFIG.note }
  },
  // 4b. the same node dials again, hanging up after each dial (five dials)
  '4b-redial-stale-config': {
    default: { ok: true, outcome: five('rejected'), dialsUntilSuccess: 1, failedDials: 0 },
    'rust-libp2p-noise043': NOISE043_CONFIG
  },
  // 4c. the same with grease: true: a refusing address gets neither the config nor GREASE
  '4c-redial-stale-config-grease-on': {
    default: { ok: true, outcome: five('rejected'), dialsUntilSuccess: 1, failedDials: 0 },
    'rust-libp2p-noise043': NOISE043_CONFIG
  },

  // 5. grease: true, no config, first contact: nothing is known of the peer, so stock Noise
  '5-our-grease-dial': { default: { ok: true, outcome: 'fallback:no-config' } },
  // 5b. dial 2 of the same node, after identify stored their agent
  '5b-grease-after-identify': {
    default: { ok: true, outcome: 'grease', note: TOLERANT },
    // agent github.com/libp2p-noise-ech/interop/go@ (go-libp2p's default is the main module's path): unknown
    'go-libp2p': { ok: true, outcome: 'fallback:no-config' },
    // agent rust-libp2p/0.43.1: libp2p-noise 0.43 rejects any message-1 payload
    'rust-libp2p-noise043': { ok: true, outcome: 'fallback:no-config' },
    // agent rust-libp2p/0.44.0 over libp2p-noise 0.43: GREASE is sent and refused (see 5d)
    'rust-libp2p-noise043[agent:0.44.0]': { ok: false, outcome: 'EchRefusedError', note: 'misidentified peer: see 5d' }
  },
  // 5c. failed dials of the whole GREASE sequence: must be 0 for every implementation
  '5c-grease-failed-dials': {
    default: GREASED,
    'go-libp2p': NOT_GREASED,
    'rust-libp2p-noise043': NOT_GREASED
  },
  // 5d. a peer whose agent names a tolerant Noise it does not run: the GREASE fails before message 2,
  // counts against that address only, and that address gets stock Noise from then on
  '5d-grease-misidentified-failed-dials': {
    default: {
      ok: false,
      outcome: seq('fallback:no-config', 'error:EchRefusedError', 'fallback:address-refused', 'fallback:address-refused', 'fallback:address-refused'),
      dialsUntilSuccess: 1,
      failedDials: 1,
      note: 'what a wrong identify agent costs: one failed dial per address'
    }
  },

  // 6. echNoise declares every capability of both stock js Noise packages
  '6-capabilities': { default: { ok: true, outcome: '@libp2p/connection-encryption,@chainsafe/libp2p-noise,@libp2p/noise,libp2p-noise-ech' } },
  // 6b. a node whose only encrypter is echNoise() starts with a service that depends on @libp2p/noise
  '6b-service-needs-@libp2p/noise': { default: { ok: true, outcome: 'started' } },

  // 7. our node announcing /ech addresses via identify (echAnnounceFilter, placement
  // /ip4/…/tcp/…/noise/ech/u…/p2p/…): the connection must stay usable; `outcome` is what their
  // identify did with the /ech address (code 9849, which none of them knows)
  '7-ech-announce': {
    default: { ok: true },
    // go-multiaddr fails on 9849: the listen address is skipped (identify/id.go consumeMessage), the
    // signed peer record keeps its other addresses (core/peer/record.go addrsFromProtobuf)
    'go-libp2p': { ok: true, outcome: 'identify:ok,ech-addr-dropped' },
    // rust-multiaddr fails on 9849: listenAddrs are taken one by one, the /ech one skipped
    // (libp2p-identify protocol.rs parse_listen_addrs). By the source a signed record holding it fails
    // whole (libp2p-core peer_record.rs collects into a Result) and identify falls back to listenAddrs;
    // the run cannot show that part: rust 0.57 keeps no signed record of js-libp2p nodes without /ech either
    'rust-libp2p': { ok: true, outcome: 'identify:ok,ech-addr-dropped' },
    'rust-libp2p-noise043': { ok: true, outcome: 'identify:ok,ech-addr-dropped' },
    // py-multiaddr parses bytes lazily: the /ech address is stored in the peerstore and raises
    // BinaryParseError whenever it is used (str(), protocols())
    'py-libp2p': { ok: true, outcome: 'identify:ok,ech-addr-stored-unparseable' },
    // js-libp2p without the /ech codec: PeerRecord.createFromProtobuf throws, identify() rejects and the
    // error is swallowed: no peer:identify, no protocols or addresses stored. A real loss for that peer
    // (docs/INTEGRATION.md §3.5: do not announce where stock js-libp2p peers connect)
    'js-libp2p+@libp2p/noise': { ok: true, outcome: 'identify:none', note: 'identify of our node fails on their side' }
  },

  // raw probes: message 1 with a given payload to their responder; ok = they answered with a valid message 2.
  // Only probe-msg1-unknown-1025 is what this package sends; the others map what their decoders accept
  'probe-msg1-empty': { default: { ok: true, outcome: 'msg2' } },
  'probe-msg1-unknown-1025': {
    default: { ok: true, outcome: 'msg2' },
    'rust-libp2p-noise043': { ok: false, outcome: 'no-msg2' }
  },
  'probe-msg1-known-field1': {
    default: { ok: true, outcome: 'msg2' },
    'rust-libp2p': { ok: false, outcome: 'no-msg2' },
    'rust-libp2p-noise043': { ok: false, outcome: 'no-msg2' }
  },
  'probe-msg1-known-field4': {
    default: { ok: true, outcome: 'msg2' },
    'rust-libp2p': { ok: false, outcome: 'no-msg2' },
    'rust-libp2p-noise043': { ok: false, outcome: 'no-msg2' }
  },
  'probe-msg1-field1-empty': {
    default: { ok: true, outcome: 'msg2' },
    'rust-libp2p-noise043': { ok: false, outcome: 'no-msg2' }
  },
  'probe-msg1-not-protobuf': {
    default: { ok: true, outcome: 'msg2' },
    'rust-libp2p': { ok: false, outcome: 'no-msg2' },
    'rust-libp2p-noise043': { ok: false, outcome: 'no-msg2' }
  },
  // raw responder whose message 2 carries field 1026 (a retry record); ok = they sent a valid message 3
  'probe-msg2-unknown-1026': { default: { ok: true, outcome: 'msg3' } },
  // go-libp2p's NoiseHandshakePayload keeps field 1026 as unknown bytes (protobuf-go unknownFields)
  'probe-go-unmarshal-1026': { default: { ok: true, outcome: 'kept-as-unknown' } },
  // raw probe (no peer id given) -> our require node: no message 2, so no identity revealed
  'probe-require-no-identity': { default: { ok: false, outcome: 'no-msg2', note: 'require mode answers no probe without a config' } }
}

export function expectationFor (row: string, impl: string): Expectation | undefined {
  const r = EXPECTATIONS[row]
  if (r == null) { return undefined }
  return (r as any)[impl] ?? r.default
}
