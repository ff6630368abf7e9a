/**
 * Announcing this node's ECH configs in its own addresses: an address
 * manager `announceFilter` that adds, next to the first address the
 * encrypter secures (or the first `maxAddresses`), the same address with
 * `/noise/ech/<config list>`. Identify then carries them to every peer, and
 * whatever spreads the node's addresses (peer routing, rendezvous) spreads
 * them too. One is enough: the configs belong to the peer, and identify
 * messages are capped at 8 KiB (each twin costs the list twice).
 *
 * Read before enabling (docs/INTEGRATION.md §3.5, from the interop matrix in
 * `interop/`): identify sends the twin to every peer that connects, and what
 * a peer without the `/ech` codec does with it depends on its stack.
 * go-libp2p 0.52 and rust-libp2p 0.52/0.57 drop that one address and keep
 * identify working; py-libp2p 0.8.1 stores it and later fails whenever it
 * stringifies that peer's addresses; js-libp2p 3 without this package
 * (`@multiformats/multiaddr` 13.0.3 has no `/ech` codec) cannot parse the
 * signed peer record identify sends, so identify with this node fails on that
 * peer, silently (no `peer:identify`, no protocols or addresses stored).
 * Only enable it where every js and py peer runs this package (or otherwise
 * registers `/ech`); elsewhere use the config exchange protocol or the peer
 * store.
 */
import { CODE_ECH, isSecuredByEncrypter, withEchComponent } from './ech.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The default choice of addresses to announce `/ech` on: those secured by
 * the encrypter (`isSecuredByEncrypter`). Secure WebSockets (`/tls/ws`) are
 * included: the config sits after `/noise`, where a TLS-ECH client, which
 * reads `/ech` directly after `/tls`, does not look.
 */
export function isEchAnnounceable (ma: Multiaddr): boolean {
  return isSecuredByEncrypter(ma)
}

/** Options of {@link echAnnounceFilter}: which addresses get an `/ech` twin, and how many */
export interface EchAnnounceFilterOptions {
  /** Which addresses get an `/ech` twin (default `isEchAnnounceable`) */
  filter?(ma: Multiaddr): boolean
  /**
   * Keep each address without `/ech` too (default true): transports only
   * dial the plain form, and peers that do not know `/ech` can still use it
   */
  keepPlain?: boolean
  /**
   * How many addresses get an `/ech` twin, in the order libp2p lists them
   * (default 1). The configs belong to the peer, not to an address, so one
   * carries them; each twin costs the whole list twice in every identify
   * message (listen addresses and signed peer record), and identify refuses
   * messages over 8 KiB: with an X-Wing + X25519 list (~1.3 KB), three twins
   * already break identify.
   */
  maxAddresses?: number
  /** An announce filter to run first (libp2p's default keeps every address) */
  next?(addrs: Multiaddr[]): Multiaddr[]
}

/**
 * An `addresses.announceFilter` for `createLibp2p` that announces the
 * configs `getConfigList()` returns at the time (call it with the live
 * list, e.g. `() => ech.getEchConfigList()`: identify asks the address
 * manager afresh each time, so rotated keys go out on the next identify).
 * Returning undefined or an empty list, or throwing (the key manager is not
 * started yet or any more), announces nothing extra.
 */
export function echAnnounceFilter (getConfigList: () => Uint8Array | undefined, options: EchAnnounceFilterOptions = {}): (addrs: Multiaddr[]) => Multiaddr[] {
  const filter = options.filter ?? isEchAnnounceable
  const keepPlain = options.keepPlain ?? true
  const maxAddresses = options.maxAddresses ?? 1
  return (input) => {
    const addrs = options.next?.(input) ?? input
    let list: Uint8Array | undefined
    try {
      list = getConfigList()
    } catch {
      // libp2p asks for addresses before the encrypter starts and after it
      // stops (getEchConfigList() throws then): announce the plain ones
      return addrs
    }
    if (list == null || list.byteLength <= 2) {
      return addrs
    }
    let twins = 0
    return addrs.flatMap(ma => {
      // a filter cannot put a Noise config where Noise does not run (withEchComponent would throw)
      if (twins >= maxAddresses || ma.getComponents().some(c => c.code === CODE_ECH) || !isSecuredByEncrypter(ma) || !filter(ma)) {
        return [ma]
      }
      twins++
      const withEch = withEchComponent(ma, list)
      return keepPlain ? [ma, withEch] : [withEch]
    })
  }
}
