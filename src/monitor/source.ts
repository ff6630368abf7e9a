/**
 * Turning what the wrapper knows about a connection into tracker keys that
 * are short, bounded, and free of secrets: the source of a remote address
 * (its IP without the port; an IPv6 prefix, since one host holds a whole
 * /64), a truncated hash of an outer hello's `enc`, and a sanitised reason.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** Tracker key of connections whose remote address is unknown */
export const UNKNOWN_SOURCE = 'unknown'

const MAX_KEY_LENGTH = 128
const MAX_REASON_LENGTH = 64

/**
 * The source an address counts against. IPv4 → the address; IPv6 → the
 * `prefixLength` prefix (IPv4-mapped addresses count as IPv4); DNS → the
 * name; relayed (`/p2p-circuit`) → the relay's source plus the peer id the
 * relay vouches for, so one busy relay is not blamed for all its clients;
 * anything else (e.g. `/memory`) → the address text, cut to 128 characters.
 */
export function sourceKey (addr: Multiaddr | undefined, ipv6PrefixLength: number): string {
  if (addr == null) {
    return UNKNOWN_SOURCE
  }
  const components = addr.getComponents()
  const host = hostSource(components, ipv6PrefixLength)
  if (components.some(c => c.name === 'p2p-circuit')) {
    const peer = components.findLast(c => c.name === 'p2p')?.value
    return `${host ?? UNKNOWN_SOURCE}/p2p-circuit/${peer ?? UNKNOWN_SOURCE}`.slice(0, MAX_KEY_LENGTH)
  }
  return host ?? addr.toString().slice(0, MAX_KEY_LENGTH)
}

/** Components whose value counts as the source as it is: an IPv4 address or a DNS name */
const VERBATIM_HOSTS = new Set(['ip4', 'dns', 'dns4', 'dns6', 'dnsaddr'])

/** The source of the first host component (for a relayed address, the relay's), if any */
function hostSource (components: Component[], ipv6PrefixLength: number): string | undefined {
  for (const component of components) {
    if (component.value == null) {
      continue
    }
    if (VERBATIM_HOSTS.has(component.name)) {
      return component.value
    }
    if (component.name === 'ip6') {
      return ipv6Source(component.value, ipv6PrefixLength)
    }
  }
  return undefined
}

/** Eight 16-bit groups, or undefined when `text` is not an IPv6 address */
export function parseIpv6 (text: string): number[] | undefined {
  let s = text.split('%')[0].toLowerCase()
  const lastColon = s.lastIndexOf(':')
  const tail = s.slice(lastColon + 1)
  if (tail.includes('.')) {
    // RFC 4291 §2.2 form 3: the low 32 bits written as dotted IPv4
    const octets = tail.split('.').map(o => /^\d{1,3}$/.test(o) ? Number(o) : NaN)
    if (octets.length !== 4 || octets.some(o => !(o <= 255))) {
      return undefined
    }
    s = `${s.slice(0, lastColon + 1)}${((octets[0] << 8) | octets[1]).toString(16)}:${((octets[2] << 8) | octets[3]).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) {
    return undefined
  }
  const head = halves[0] === '' ? [] : halves[0].split(':')
  const rest = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) {
    return undefined
  }
  const groups = [...head, ...new Array<string>(missing).fill('0'), ...rest]
  if (groups.some(g => !/^[0-9a-f]{1,4}$/.test(g))) {
    return undefined
  }
  return groups.map(g => parseInt(g, 16))
}

/** `2001:db8:1:2::/64` for prefix 64; an IPv4-mapped address as IPv4 */
export function ipv6Source (text: string, prefixLength: number): string {
  const groups = parseIpv6(text)
  if (groups == null) {
    return text.slice(0, MAX_KEY_LENGTH)
  }
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.')
  }
  if (prefixLength >= 128) {
    return groups.map(g => g.toString(16)).join(':')
  }
  const kept = Math.ceil(prefixLength / 16)
  const masked = groups.slice(0, kept).map((g, i) => {
    const bits = Math.min(16, prefixLength - 16 * i)
    return (g & (0xffff << (16 - bits))) & 0xffff
  })
  return `${masked.map(g => g.toString(16)).join(':')}::/${prefixLength}`
}

/**
 * The replay-set key of an `enc`: the first 8 bytes of SHA-256(enc), big
 * endian, as a bigint — a fixed-size key with no per-character cost (chance
 * match 2^-48 per lookup at the default 65,536 entries; see `replay.ts`).
 * `enc` itself is never kept.
 */
export function encDigest (enc: Uint8Array): bigint {
  const digest = sha256(enc)
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0)
}

/**
 * A reason fit for a log line and a metric: a string is cut to 64 of
 * `[A-Za-z0-9_.:-]` (anything else becomes `_`); an error gives only its
 * `name` and, for decode errors, the bad `field` — never its message.
 */
export function reasonOf (value: unknown): string | undefined {
  if (value == null) {
    return undefined
  }
  if (typeof value === 'string') {
    return clean(value)
  }
  if (typeof value === 'object') {
    const { name, field } = value as { name?: unknown, field?: unknown }
    const base = typeof name === 'string' ? name : 'Error'
    return clean(typeof field === 'string' ? `${base}:${field}` : base)
  }
  return clean(String(value))
}

function clean (s: string): string {
  return s.replace(/[^\w.:-]/g, '_').slice(0, MAX_REASON_LENGTH)
}
