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
 * `@multiformats/multiaddr` 13.0.3 has no `ech` codec but lets one be added
 * to its (process-wide) registry; importing this module registers it. A
 * process that has not registered it cannot parse a multiaddr holding
 * `/ech`, in string or binary form (`UnknownProtocolError`).
 */
import { InvalidParametersError } from '@libp2p/interface'
import { CODE_P2P, CODE_P2P_CIRCUIT, multiaddr, registry, V } from '@multiformats/multiaddr'
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
 * The components that address the final peer: those after the last
 * `/p2p-circuit` (a relayed address's earlier components address the relay).
 */
function lastSegmentStart (components: Component[]): number {
  for (let i = components.length - 1; i >= 0; i--) {
    if (components[i].code === CODE_P2P_CIRCUIT) { return i + 1 }
  }
  return 0
}

/**
 * The ECHConfigList (wire form) carried by `ma` for the peer it finally
 * addresses, or undefined when there is none. `/ech` components before a
 * `/p2p-circuit` belong to the relay and are ignored. Throws
 * InvalidEchComponentError for more than one `/ech` for the same peer.
 * The list is only framed here; `parseEchConfigList` validates its configs.
 */
export function echConfigListFromMultiaddr (ma: Multiaddr): Uint8Array | undefined {
  const components = ma.getComponents()
  const found = components.slice(lastSegmentStart(components)).filter(c => c.code === CODE_ECH)
  if (found.length > 1) {
    throw new InvalidEchComponentError(`${found.length} /ech components for one peer`)
  }
  const value = found[0]?.value
  return value == null ? undefined : decodeEchComponent(value)
}

/** `ma` without any `/ech` component (what a transport can dial) */
export function withoutEchComponent (ma: Multiaddr): Multiaddr {
  const components = ma.getComponents()
  if (!components.some(c => c.code === CODE_ECH)) { return ma }
  return multiaddr(components.filter(c => c.code !== CODE_ECH))
}

/**
 * `ma` carrying `configList` for the peer it finally addresses: an `/ech`
 * component replaces any already there for that peer and goes right before a
 * trailing `/p2p/<id>` (so `/ip4/…/tcp/…/ech/u…/p2p/Qm…`; after `/tls` or
 * `/quic-v1` when the address has them, as `protocols/ech.md` asks), or at
 * the end when there is no trailing `/p2p`.
 */
export function withEchComponent (ma: Multiaddr, configList: Uint8Array): Multiaddr {
  const value = encodeEchComponent(configList)
  const all = ma.getComponents()
  const start = lastSegmentStart(all)
  const head = all.slice(0, start)
  const tail = all.slice(start).filter(c => c.code !== CODE_ECH)
  const at = tail.length > 0 && tail[tail.length - 1].code === CODE_P2P ? tail.length - 1 : tail.length
  const ech: Component = { code: CODE_ECH, name: ECH_PROTOCOL_NAME, value }
  return multiaddr([...head, ...tail.slice(0, at), ech, ...tail.slice(at)])
}
