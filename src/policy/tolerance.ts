/**
 * Which stock Noise implementations take an outer hello (a message-1 payload
 * holding only field 1025), judged from what identify told us about a peer.
 * GREASE is sent only to peers this says yes for (or that completed an
 * outer-hello handshake with us before): a GREASE hello must never make a
 * dial fail that stock Noise would complete.
 *
 * From the interop matrix (docs/INTEROP.md), run against each
 * implementation's own code: js-libp2p (`@chainsafe/libp2p-noise`,
 * `@libp2p/noise`) hashes and ignores the message-1 payload (agent
 * `js-libp2p/…`; helia `helia/…`). go-libp2p discards it
 * (`p2p/security/noise/handshake.go`); its agent is the main module's path,
 * so only well-known ones are recognised: kubo, go-ipfs, go-libp2p itself.
 * py-libp2p and nim-libp2p ignore it. rust-libp2p's libp2p-noise ≥ 0.44
 * accepts a payload of unknown fields only and ≤ 0.43 rejects any non-empty
 * message 1; its default agent is `rust-libp2p/<libp2p-identify version>`,
 * and identify and noise shared version numbers across that change (libp2p
 * 0.52: both 0.43; libp2p 0.53: both 0.44), so ≥ 0.44 is tolerant.
 * Applications that set their own agent (Substrate, Lighthouse, Forest) are
 * unknown, so not GREASEd. jvm-libp2p (Teku and others) verifies the
 * identity signature against the first non-empty payload, so any outer hello
 * breaks it: never listed.
 */

const TOLERANT_AGENTS: readonly RegExp[] = [
  /^js-libp2p\//,
  /^helia\//,
  /^(kubo|go-ipfs)\//,
  /^github\.com\/libp2p\/go-libp2p(@|\/|$)/,
  /^py-libp2p\//,
  /^nim-libp2p/
]

/** `rust-libp2p/MAJOR.MINOR.PATCH`, tolerant from identify (and noise) 0.44 on */
const RUST_AGENT = /^rust-libp2p\/(\d+)\.(\d+)\./

/** The config-exchange protocol: a peer that speaks it runs this package */
const ECH_PROTOCOL_PREFIX = '/libp2p-noise-ech/'

/**
 * Whether a peer with this identify agent version and these protocols is
 * known to complete a Noise handshake whose message 1 carries an outer hello
 */
export function toleratesOuterHello (agentVersion?: string, protocols: readonly string[] = []): boolean {
  if (protocols.some(p => p.startsWith(ECH_PROTOCOL_PREFIX))) {
    return true
  }
  if (agentVersion == null) {
    return false
  }
  const rust = RUST_AGENT.exec(agentVersion)
  if (rust != null) {
    return Number(rust[1]) > 0 || Number(rust[2]) >= 44
  }
  return TOLERANT_AGENTS.some(pattern => pattern.test(agentVersion))
}
