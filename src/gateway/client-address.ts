/**
 * The client address the failed-attempt limit is keyed on.
 *
 * Without `trustProxy` it is the socket peer, and forwarding headers are
 * ignored: anyone can write them. With `trustProxy`, a request whose socket
 * peer is a listed proxy is keyed on the address that proxy forwarded, read
 * from ONE configured header (`X-Forwarded-For`, or RFC 7239 `Forwarded`):
 * reading both would let a client choose the one its proxy does not
 * rewrite, and so choose its own key.
 *
 * The header is read right to left (RFC 7239 §5.2, §7.4): each proxy
 * appends the address it received the request from, so the right-most
 * entry was written by the proxy next to us, and every entry left of the
 * first untrusted one was written by the client and proves nothing. The
 * client is that right-most untrusted address; if every entry is trusted,
 * the left-most one. An entry that is not an IP address (`unknown`, an RFC
 * 7239 §6.3 obfuscated name, garbage) ends the walk at the trusted proxy
 * that wrote it: the request is keyed on that proxy, which is safe because
 * a valid token is never limited. A hop count is not offered: it trusts
 * whoever stands at a position, so a client reaching the gateway without
 * the proxy would pick its own key.
 */
import { BlockList, isIP } from 'node:net'
import { EchGatewayOptionsError } from './errors.js'

/** The forwarding header a trusted proxy writes */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded'

const HEADERS: readonly ForwardedHeader[] = ['x-forwarded-for', 'forwarded']

/** The address itself, without brackets, port, zone or IPv4-mapped prefix; undefined when it is not an IP address */
export function parseNode (text: string): string | undefined {
  let node = text.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node)
  if (bracketed != null) {
    node = bracketed[1]
  } else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(node)) {
    node = node.slice(0, node.lastIndexOf(':'))
  }
  node = node.split('%')[0]
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(node)
  if (mapped != null) { node = mapped[1] }
  return isIP(node) === 0 ? undefined : node.toLowerCase()
}

/** Split on `separator` outside quoted-strings (RFC 9110 §5.6.4, backslash escapes) */
function splitUnquoted (text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted && c === '\\' && i + 1 < text.length) {
      current += c + text[++i]
      continue
    }
    if (c === '"') { quoted = !quoted }
    if (c === separator && !quoted) {
      parts.push(current)
      current = ''
    } else {
      current += c
    }
  }
  parts.push(current)
  return parts
}

function unquote (value: string): string {
  const v = value.trim()
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v
}

/** RFC 7239 §4: the `for` node of each forwarded-element, undefined where there is none or it is not an IP address */
export function forwardedHops (values: readonly string[]): Array<string | undefined> {
  return values.flatMap(value => splitUnquoted(value, ',')).map(element => {
    const pair = splitUnquoted(element, ';').map(p => p.trim()).find(p => /^for=/i.test(p))
    return pair == null ? undefined : parseNode(unquote(pair.slice(4)))
  })
}

/** The de-facto `X-Forwarded-For`: comma-separated addresses, possibly with ports */
export function xForwardedForHops (values: readonly string[]): Array<string | undefined> {
  return values.flatMap(value => value.split(',')).map(entry => parseNode(unquote(entry)))
}

export interface ClientAddressInit {
  /** Addresses and CIDR ranges of trusted proxies */
  trustProxy?: readonly string[]
  /** Which header they write (default `x-forwarded-for`) */
  forwardedHeader?: ForwardedHeader
}

export class ClientAddress {
  private readonly trusted?: BlockList
  private readonly header: ForwardedHeader

  constructor (init: ClientAddressInit = {}) {
    this.header = init.forwardedHeader ?? 'x-forwarded-for'
    if (!HEADERS.includes(this.header)) {
      throw new EchGatewayOptionsError(`forwardedHeader must be one of ${HEADERS.join(', ')}`)
    }
    if (init.trustProxy == null) { return }
    if (!Array.isArray(init.trustProxy)) {
      throw new EchGatewayOptionsError('trustProxy must be an array of addresses or CIDR ranges')
    }
    this.trusted = new BlockList()
    for (const entry of init.trustProxy) {
      addTrusted(this.trusted, entry)
    }
  }

  /**
   * The client's address: the socket peer, or, when the peer is a trusted
   * proxy, the right-most untrusted address of the forwarding header
   * (`values`: each field line of it, in the order received)
   */
  resolve (socketAddress: string | undefined, values: readonly string[] | undefined): string | undefined {
    const peer = socketAddress == null ? undefined : parseNode(socketAddress) ?? socketAddress
    if (this.trusted == null || peer == null || !this.isTrusted(peer)) { return peer }
    const hops = this.header === 'forwarded' ? forwardedHops(values ?? []) : xForwardedForHops(values ?? [])
    let client = peer
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]
      // written by the trusted proxy at `client`, but not an address: key on that proxy
      if (hop == null) { return client }
      client = hop
      if (!this.isTrusted(hop)) { return hop }
    }
    return client
  }

  /** The header to read, for `IncomingMessage.headersDistinct` */
  get headerName (): ForwardedHeader {
    return this.header
  }

  private isTrusted (address: string): boolean {
    return this.trusted?.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4') === true
  }
}

function addTrusted (list: BlockList, entry: unknown): void {
  const [address, prefix, ...rest] = typeof entry === 'string' ? entry.split('/') : []
  const family = address == null ? 0 : isIP(address)
  const bits = prefix == null ? undefined : Number(prefix)
  const max = family === 6 ? 128 : 32
  if (family === 0 || rest.length > 0 || (bits != null && (!/^\d{1,3}$/.test(prefix) || bits > max))) {
    throw new EchGatewayOptionsError('trustProxy: each entry must be an IP address or a CIDR range (e.g. 10.0.0.0/8, fd00::/8)')
  }
  if (bits == null) {
    // an IPv4-mapped IPv6 address is the IPv4 address, as peers are compared
    const single = parseNode(address) ?? address
    list.addAddress(single, isIP(single) === 6 ? 'ipv6' : 'ipv4')
  } else {
    const type = family === 6 ? 'ipv6' : 'ipv4'
    list.addSubnet(address, bits, type)
  }
}
