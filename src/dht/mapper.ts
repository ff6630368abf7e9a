/**
 * A kad-dht `peerInfoMapper` that takes `/ech` components out of the
 * addresses a DHT server hands to other peers (FIND_NODE and GET_PROVIDERS
 * answers). js-libp2p's kad-dht decodes every address of every peer in an
 * answer with `@multiformats/multiaddr`, which has no `/ech` codec unless
 * this package registered one in that process: one `/noise/ech/…` address
 * makes the whole answer fail there (the fleet's check,
 * benchmarks/fleet/go-dht-check.ts). go-libp2p drops just that address.
 * Configs travel in the DHT as records (`/noise-ech/…`), not in addresses.
 */
import { CODE_ECH, withoutEchComponent } from '../multiaddr/ech.js'
import type { PeerInfo } from '@libp2p/interface'

/**
 * `peerInfoMapper` for `kadDHT()` on a node running this package: runs
 * `next` first (kad-dht's default is `removePrivateAddressesMapper`; pass
 * it, or `passthroughMapper` on a LAN), then replaces each address carrying
 * `/ech` by the same address without it.
 */
export function removeEchAddressesMapper (next?: (info: PeerInfo) => PeerInfo): (info: PeerInfo) => PeerInfo {
  return (info) => {
    const mapped = next?.(info) ?? info
    if (!mapped.multiaddrs.some(ma => ma.getComponents().some(c => c.code === CODE_ECH))) {
      return mapped
    }
    const seen = new Set<string>()
    const multiaddrs = mapped.multiaddrs.map(withoutEchComponent).filter(ma => {
      const key = ma.toString()
      if (seen.has(key)) { return false }
      seen.add(key)
      return true
    })
    return { ...mapped, multiaddrs }
  }
}
