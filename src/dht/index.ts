/**
 * ECH configs in the libp2p DHT: signed config records under
 * `/noise-ech/<peer id>`, their kad-dht validator and selector, the service
 * that publishes this node's record and looks peers' records up on dials,
 * and a `peerInfoMapper` that keeps `/ech` out of DHT answers.
 */
export { echDhtConfigs, EchDhtConfigs, MAX_LOOKUP_TIMEOUT } from './service.js'
export { echDhtKey, peerIdFromEchDhtKey, ECH_DHT_NAMESPACE } from './key.js'
export { echDhtSelectors, echDhtValidators, selectEchDhtRecord, validateEchDhtRecord, MAX_DHT_RECORD_SIZE } from './record.js'
export type { EchDhtValidateOptions } from './record.js'
export { removeEchAddressesMapper } from './mapper.js'
export { EchDhtKeyError, EchDhtNotConfiguredError, EchDhtOptionsError, EchDhtRecordTooLargeError } from './errors.js'
export type {
  EchDhtClient, EchDhtConfigsComponents, EchDhtConfigsEvents, EchDhtConfigsInit, EchDhtLookupDetail, EchDhtLookupResult, EchDhtQueryDetail, EchDhtQueryResult,
  EchDhtPublishedDetail, EchDhtQueryEvent
} from './types.js'
