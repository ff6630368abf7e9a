/**
 * Learning peers' ECH configs from the `/ech` components of the addresses
 * they announce, as identify delivers them.
 *
 * Trust: identify's `listenAddrs` come from the peer itself, over the
 * connection its handshake authenticated, so they are the peer's own word,
 * as retry configs are. Addresses relayed by third parties (peer routing,
 * the peer store's address book) are not used here: a forged config there
 * would at worst cost a rejected handshake, but this module does not take
 * that risk.
 *
 * What it replaces, by the rule for unsigned lists (`store.ts`): nothing
 * stored, an unusable value, or a different wire-form list (an older
 * announcement, or a list the application gave before). A signed config
 * record that still verifies (retry configs, config exchange) is kept: it
 * comes from the same peer, signed, and carries its own expiry. An announced
 * list is used for 48 h after the peer last announced it.
 */
import { echConfigListFromMultiaddr } from './ech.js'
import { storeConfigList } from './store.js'
import type { StoreConfigListResult } from './store.js'
import type { AbortOptions, ComponentLogger, IdentifyResult, Libp2pEvents, Logger, PeerId, PeerStore, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

/**
 * The first well-formed `/ech` config list among `addrs` (in the peer's
 * order), or undefined. Malformed `/ech` components are skipped.
 */
export function echConfigListFromAddresses (addrs: Multiaddr[]): Uint8Array | undefined {
  for (const ma of addrs) {
    try {
      const list = echConfigListFromMultiaddr(ma)
      if (list != null) { return list }
    } catch {
      // a bad /ech on one address does not spoil the others
    }
  }
  return undefined
}

/** What storing an announced list did (see `StoreConfigListResult`), or `no-config` when no address carried one */
export type StoreAnnouncedResult = StoreConfigListResult | 'no-config'

/**
 * Store the config list `peer` announced in its own addresses, following
 * the replacement rule in this module's comment.
 */
export async function storeAnnouncedEchConfig (peerStore: PeerStore, peer: PeerId, addrs: Multiaddr[], options: AbortOptions & { now?: number } = {}): Promise<StoreAnnouncedResult> {
  const list = echConfigListFromAddresses(addrs)
  if (list == null) {
    return 'no-config'
  }
  return storeConfigList(peerStore, peer, list, { ...options, source: 'announced' })
}

/** The libp2p components {@link EchAddressConfigs} uses (libp2p passes them) */
export interface EchAddressConfigsComponents {
  /** Where announced configs are stored, under `ECH_PEER_STORE_KEY` */
  peerStore: PeerStore
  /** The node's event bus, for `peer:identify` */
  events: TypedEventTarget<Libp2pEvents>
  /** Logger `libp2p:noise-ech:address-configs` */
  logger: ComponentLogger
}

/**
 * A libp2p service that stores the ECH configs peers announce in their
 * identify `listenAddrs` (see `echAnnounceFilter` for the sending side).
 *
 * @example
 *
 * ```TypeScript
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise()],
 *   services: { identify: identify(), echAddrs: echAddressConfigs() }
 * })
 * ```
 */
export class EchAddressConfigs implements Startable {
  /** `libp2p-noise-ech:address-configs`, for `Object.prototype.toString` and logs */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech:address-configs'
  private readonly components: EchAddressConfigsComponents
  private readonly log: Logger

  constructor (components: EchAddressConfigsComponents) {
    this.components = components
    this.log = components.logger.forComponent('libp2p:noise-ech:address-configs')
  }

  /** Start listening for `peer:identify` (libp2p calls it when the node starts) */
  start (): void {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  /** Stop listening for `peer:identify`; stores already under way finish */
  stop (): void {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, listenAddrs } = evt.detail
    storeAnnouncedEchConfig(this.components.peerStore, peerId, listenAddrs)
      .then(result => {
        if (result === 'stored') { this.log('stored the ECH configs %p announces', peerId) }
      })
      .catch(err => { this.log.error('could not store the ECH configs %p announces - %e', peerId, err) })
  }
}

/**
 * The {@link EchAddressConfigs} service for `services` in `createLibp2p`:
 * stores the ECH configs that peers announce in their identify
 * `listenAddrs` (as `/ech` components). It needs the identify service, and
 * learns only from peers that announce `/ech` addresses (e.g. with
 * {@link echAnnounceFilter}).
 *
 * @returns the service factory libp2p expects
 */
export function echAddressConfigs (): (components: EchAddressConfigsComponents) => EchAddressConfigs {
  return (components) => new EchAddressConfigs(components)
}
