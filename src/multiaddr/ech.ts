/**
 * The `/ech` multiaddr component (multiformats/multiaddr `protocols/ech.md`,
 * code 9849 in `protocols.csv`): a server's ECHConfigList (RFC 9849 §4).
 * Binary form: the ECHConfigList wire bytes, varint-length-prefixed like any
 * variable-size component. String form: the same bytes multibase-encoded;
 * this module writes base64url (`u` prefix, no padding) and reads any
 * multibase whose alphabet can sit in a multiaddr path.
 *
 * The value is the ECHConfigList *with* its own u16 length prefix, exactly
 * what a DNS HTTPS/SVCB `ech=` value and `ECH_PEER_STORE_KEY` hold.
 *
 * Placement. The registry defines `/ech` for TLS: "`/ech` should be appended
 * directly after `/tls` or `/quic-v1`", i.e. the config belongs to the
 * security protocol it is for. Ours are configs for the Noise handshake, so
 * they go directly after `/noise` (code 454, the security component of
 * libp2p/specs#353, which `@multiformats/multiaddr` 13 knows), and `/noise`
 * goes where a security component sits, after the transport the connection
 * encrypter runs over and before the final `/p2p`:
 * `/ip4/…/tcp/4001/noise/ech/u…/p2p/12D3Koo…`, `/dns4/…/tcp/443/tls/ws/noise/ech/u…/p2p/…`,
 * `…/p2p-circuit/noise/ech/u…/p2p/…`. An `/ech` directly after `/tls`,
 * `/sni`, `/quic` or `/quic-v1` is a TLS ECHConfigList and is never read as
 * ours; an `/ech` anywhere else in the final peer's part (the placement this
 * package wrote before, `/tcp/4001/ech/u…/p2p/…`) still is.
 *
 * `@multiformats/multiaddr` 13.0.3 has no `ech` codec but lets one be added
 * to its (process-wide) registry; importing this module registers it. A
 * process that has not registered it cannot parse a multiaddr holding
 * `/ech`, in string or binary form (`UnknownProtocolError`).
 */
import { InvalidParametersError } from '@libp2p/interface'
import {
  CODE_NOISE, CODE_P2P, CODE_P2P_CIRCUIT, CODE_P2P_WEBRTC_DIRECT, CODE_QUIC, CODE_QUIC_V1, CODE_SNI, CODE_TLS, CODE_WEBRTC,
  CODE_WEBRTC_DIRECT, CODE_WEBTRANSPORT, multiaddr, registry, V
} from '@multiformats/multiaddr'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { isWireConfigList } from '../config/codec.js'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** The multiaddr protocol code of `/ech` (multiformats `protocols.csv`: `9849, V, ech`) */
export const CODE_ECH = 9849
export const ECH_PROTOCOL_NAME = 'ech'

/** The `/ech` value is not a multibase-encoded, well-framed ECHConfigList */
export class InvalidEchComponentError extends Error {
  static name = 'InvalidEchComponentError'
  /** `InvalidEchComponentError`, so callers can test `err.name` without `instanceof` */
  name = 'InvalidEchComponentError'
}

/**
 * Multibase prefixes accepted when reading, with their uint8arrays/multiformats
 * encoding names. Base64 with `+` and `/` (`m`, `M`) is accepted when it
 * survived the trip through a path; this module only ever writes `u`.
 */
const MULTIBASES: Record<string, string> = {
  u: 'base64url',
  U: 'base64urlpad',
  m: 'base64',
  M: 'base64pad',
  f: 'base16',
  F: 'base16upper',
  b: 'base32',
  B: 'base32upper',
  c: 'base32pad',
  C: 'base32padupper',
  v: 'base32hex',
  V: 'base32hexupper',
  k: 'base36',
  K: 'base36upper',
  z: 'base58btc',
  Z: 'base58flickr'
}

/** The ECHConfigList in an `/ech` component's string value; throws InvalidEchComponentError */
export function decodeEchComponent (value: string): Uint8Array {
  if (typeof value !== 'string' || value.length < 2) {
    throw new InvalidEchComponentError('/ech value must be a multibase string')
  }
  const base = MULTIBASES[value[0]]
  if (base == null) {
    throw new InvalidEchComponentError(`/ech value has an unsupported multibase prefix "${value[0]}"`)
  }
  let bytes: Uint8Array
  try {
    bytes = fromString(value.slice(1), base as 'base64url')
  } catch (err) {
    throw new InvalidEchComponentError(`/ech value is not valid ${base}`, { cause: err })
  }
  if (!isWireConfigList(bytes)) {
    throw new InvalidEchComponentError('/ech value is not an ECHConfigList (its u16 length does not match)')
  }
  return bytes
}

/**
 * The `/ech` component's string value for an ECHConfigList (wire form, with
 * its u16 length): multibase base64url, `u` prefix, no padding.
 */
export function encodeEchComponent (configList: Uint8Array): string {
  if (!(configList instanceof Uint8Array) || !isWireConfigList(configList)) {
    throw new InvalidParametersError('expected an ECHConfigList in wire form (with its u16 length prefix)')
  }
  return `u${toString(configList, 'base64url')}`
}

/**
 * Add the `/ech` codec to `@multiformats/multiaddr`'s registry (done on
 * import; idempotent). Only this package's copy of `@multiformats/multiaddr`
 * is affected: it must be the copy libp2p uses (one version in the tree).
 */
export function registerEchProtocol (): void {
  try {
    const existing = registry.getProtocol(ECH_PROTOCOL_NAME)
    if (existing.code === CODE_ECH) { return }
  } catch {
    // not registered yet
  }
  registry.addProtocol({
    code: CODE_ECH,
    name: ECH_PROTOCOL_NAME,
    size: V,
    // bytes → string: always base64url
    bytesToValue: (bytes) => `u${toString(bytes, 'base64url')}`,
    // string → bytes: any supported multibase
    valueToBytes: (value) => {
      const bytes = decodeEchComponent(value)
      return bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)
    },
    // run on every parsed component, from strings and from bytes
    validate: (value) => { decodeEchComponent(value) }
  })
}

registerEchProtocol()

/**
 * Components after which an `/ech` is a TLS ECHConfigList (`protocols/ech.md`:
 * "directly after `/tls` or `/quic-v1`"; `/sni` and draft `/quic` carry TLS too)
 */
const TLS_ECH_ANCHORS = new Set([CODE_TLS, CODE_SNI, CODE_QUIC, CODE_QUIC_V1])

/** Transports that bring their own security: a `/noise` connection encrypter never runs over them */
const SELF_SECURED = new Set([CODE_QUIC, CODE_QUIC_V1, CODE_WEBTRANSPORT, CODE_WEBRTC, CODE_WEBRTC_DIRECT, CODE_P2P_WEBRTC_DIRECT])

const NOISE: Component = { code: CODE_NOISE, name: 'noise' }

/**
 * The components that address the final peer: those after the last
 * `/p2p-circuit` (a relayed address's earlier components address the relay).
 */
function lastSegmentStart (components: Component[]): number {
  for (let i = components.length - 1; i >= 0; i--) {
    if (components[i].code === CODE_P2P_CIRCUIT) { return i + 1 }
  }
  return 0
}

/** Whether `components[i]` is an `/ech` holding Noise configs (ours), not TLS ones */
function isNoiseEch (components: Component[], i: number): boolean {
  const before = components[i - 1]?.code
  return components[i].code === CODE_ECH && (before == null || !TLS_ECH_ANCHORS.has(before))
}

/**
 * Whether connections to `ma` are secured by the libp2p connection encrypter
 * (TCP, WebSockets, circuit relay, …): its final peer is not reached over
 * QUIC, WebTransport or WebRTC, which secure themselves. A relayed
 * connection is secured end to end by the encrypter, whatever carries it to
 * the relay.
 */
export function isSecuredByEncrypter (ma: Multiaddr): boolean {
  const components = ma.getComponents()
  return !components.slice(lastSegmentStart(components)).some(c => SELF_SECURED.has(c.code))
}

/**
 * The ECHConfigList (wire form) carried by `ma` for the Noise handshake with
 * the peer it finally addresses, or undefined when there is none. `/ech`
 * components before a `/p2p-circuit` belong to the relay and TLS ones
 * (directly after `/tls` or `/quic-v1`) to TLS; both are ignored. Throws
 * InvalidEchComponentError for more than one Noise `/ech` for the same peer.
 * The list is only framed here; `parseEchConfigList` validates its configs.
 */
export function echConfigListFromMultiaddr (ma: Multiaddr): Uint8Array | undefined {
  const components = ma.getComponents()
  const found: Component[] = []
  for (let i = lastSegmentStart(components); i < components.length; i++) {
    if (isNoiseEch(components, i)) { found.push(components[i]) }
  }
  if (found.length > 1) {
    throw new InvalidEchComponentError(`${found.length} /ech components for one peer`)
  }
  const value = found[0]?.value
  return value == null ? undefined : decodeEchComponent(value)
}

/**
 * `ma` without any `/ech` component, nor the `/noise` directly before one:
 * what a libp2p transport can dial (libp2p 3's transports match whole
 * addresses and know neither).
 */
export function withoutEchComponent (ma: Multiaddr): Multiaddr {
  const components = ma.getComponents()
  if (!components.some(c => c.code === CODE_ECH)) { return ma }
  return multiaddr(components.filter((c, i) => c.code !== CODE_ECH && !(c.code === CODE_NOISE && components[i + 1]?.code === CODE_ECH)))
}

/**
 * `ma` carrying `configList` for the Noise handshake with the peer it finally
 * addresses: directly after the address's `/noise` if it names one, else as
 * `/noise/ech/<list>` right before a trailing `/p2p/<id>` (or at the end).
 * A Noise `/ech` already there for that peer (either placement) is replaced;
 * a TLS one stays. Throws InvalidParametersError when the final peer is
 * reached over a transport that secures itself (no Noise runs there).
 */
export function withEchComponent (ma: Multiaddr, configList: Uint8Array): Multiaddr {
  const value = encodeEchComponent(configList)
  if (!isSecuredByEncrypter(ma)) {
    throw new InvalidParametersError('a Noise ECH config belongs on an address secured by the connection encrypter, not QUIC, WebTransport or WebRTC')
  }
  const all = ma.getComponents()
  const start = lastSegmentStart(all)
  const head = all.slice(0, start)
  const tail = all.slice(start).filter((_, i) => !isNoiseEch(all, start + i))
  const ech: Component = { code: CODE_ECH, name: ECH_PROTOCOL_NAME, value }
  const noise = tail.findIndex(c => c.code === CODE_NOISE)
  if (noise >= 0) {
    return multiaddr([...head, ...tail.slice(0, noise + 1), ech, ...tail.slice(noise + 1)])
  }
  const at = tail.length > 0 && tail[tail.length - 1].code === CODE_P2P ? tail.length - 1 : tail.length
  return multiaddr([...head, ...tail.slice(0, at), NOISE, ech, ...tail.slice(at)])
}
