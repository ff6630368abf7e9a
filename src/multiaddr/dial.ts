/**
 * Dialing a multiaddr that carries `/ech/<config list>`.
 *
 * libp2p 3 cannot dial such an address as it is: transports match the whole
 * address (`@libp2p/tcp` accepts only `…/tcp/<port>[/p2p/<id>]`), so the dial
 * fails with `NoValidAddressesError`. And the `/noise` encrypter never sees
 * the dialed multiaddr, only a connection. So the config takes the route
 * every other config takes (DESIGN.md "Where configs come from"): it is
 * stored for the peer under `ECH_PEER_STORE_KEY` and the address is dialed
 * without its `/ech` component; the encrypter then finds it in the peer store.
 *
 * The list is unsigned: it is stored by the rule in `store.ts`, so it never
 * replaces a signed config record that still verifies (retry configs, config
 * exchange, HTTP). An application that wants to override such a record
 * writes the list itself with `peerStore.merge`.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P } from '@multiformats/multiaddr'
import { parseEchConfigList } from '../config/codec.js'
import { echConfigListFromMultiaddr, withoutEchComponent } from './ech.js'
import { storeConfigList } from './store.js'
import type { StoreConfigListResult } from './store.js'
import type { AbortOptions, Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What `dialWithEch` needs of a libp2p node */
export interface EchDialer {
  /** Where the address's `/ech` config is stored for its peer, under `ECH_PEER_STORE_KEY` */
  peerStore: PeerStore
  /**
   * Dial the address (given without its `/ech` component) and resolve to
   * the connection; `options` are those passed to `dialWithEch`, passed on
   * as they are (`signal`, `force`)
   */
  dial(ma: Multiaddr, options?: any): Promise<Connection>
}

export interface EchDialTarget {
  /** The address to hand to a transport: `ma` without `/ech` */
  multiaddr: Multiaddr
  /** The peer the address ends in (`/p2p/<id>`), when it does */
  peer?: PeerId
  /** The `/ech` ECHConfigList (wire form), when the address carried one */
  configList?: Uint8Array
  /**
   * What `storeEchConfigFromMultiaddr` did with `configList`: `stored`,
   * `unchanged`, or `kept-signed-record` (a valid signed record of the peer
   * is stored; the address's unsigned list is not used)
   */
  stored?: StoreConfigListResult
}

/**
 * Split a multiaddr into what a transport can dial and the ECH config it
 * carries for its final peer. A config needs a peer to belong to: an address
 * with `/ech` must end in `/p2p/<peer id>` (InvalidParametersError
 * otherwise). The list must parse (`EchConfigError` naming the bad field);
 * whether any config in it is usable is the encrypter's call at dial time.
 */
export function echDialTarget (ma: Multiaddr): EchDialTarget {
  const configList = echConfigListFromMultiaddr(ma)
  const last = ma.getComponents().at(-1)
  const peer = last?.code === CODE_P2P && last.value != null ? peerIdFromString(last.value) : undefined
  if (configList == null) {
    return { multiaddr: ma, peer }
  }
  if (peer == null) {
    throw new InvalidParametersError('a multiaddr with /ech must end in /p2p/<peer id>: the config is stored for that peer')
  }
  parseEchConfigList(configList)
  return { multiaddr: withoutEchComponent(ma), peer, configList }
}

/**
 * Store the `/ech` config of `ma` (if any) for its peer, by the rule for
 * unsigned lists (`store.ts`): written with `peerStore.merge` so other
 * metadata survives, unless the same list or a valid signed record is
 * stored. Returns the dial target, with what was done in `stored`.
 */
export async function storeEchConfigFromMultiaddr (peerStore: PeerStore, ma: Multiaddr, options?: AbortOptions): Promise<EchDialTarget> {
  const target = echDialTarget(ma)
  if (target.configList == null || target.peer == null) {
    return target
  }
  const stored = await storeConfigList(peerStore, target.peer, target.configList, { ...options, source: 'application' })
  return { ...target, stored }
}

/**
 * `node.dial(ma)` for an address that may carry `/ech/<config list>`: the
 * config is stored for the peer (replacing an unsigned list or an unusable
 * value, but not a signed config record that still verifies) and the
 * address is dialed without `/ech`. As with any dial, an already open connection to the peer is
 * returned as it is unless `options.force` is set; the config then applies
 * from the next new connection.
 *
 * @example
 *
 * ```TypeScript
 * const conn = await dialWithEch(node, multiaddr('/ip4/198.51.100.7/tcp/4001/noise/ech/uAEX-DQ…/p2p/12D3Koo…'))
 * ```
 */
export async function dialWithEch (node: EchDialer, ma: Multiaddr, options: AbortOptions & { force?: boolean } = {}): Promise<Connection> {
  const target = await storeEchConfigFromMultiaddr(node.peerStore, ma, options)
  return node.dial(target.multiaddr, options)
}
