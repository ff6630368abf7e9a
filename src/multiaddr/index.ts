/**
 * ECH configs in multiaddrs: the `/ech` component (registered with
 * `@multiformats/multiaddr` on import), dialing addresses that carry it,
 * announcing it, and learning it from identify.
 */
export {
  CODE_ECH, ECH_PROTOCOL_NAME, InvalidEchComponentError, decodeEchComponent, encodeEchComponent, echConfigListFromMultiaddr, isSecuredByEncrypter,
  registerEchProtocol, withEchComponent, withoutEchComponent
} from './ech.js'
export { dialWithEch, echDialTarget, storeEchConfigFromMultiaddr } from './dial.js'
export type { EchDialer, EchDialTarget } from './dial.js'
export { echAnnounceFilter, isEchAnnounceable } from './announce.js'
export type { EchAnnounceFilterOptions } from './announce.js'
export { EchAddressConfigs, echAddressConfigs, echConfigListFromAddresses, storeAnnouncedEchConfig } from './identify.js'
export type { EchAddressConfigsComponents, StoreAnnouncedResult } from './identify.js'
export type { StoreConfigListResult } from './store.js'
