/**
 * The ECH config exchange service and the import path for signed config
 * records obtained any other way.
 */
export { echConfigExchange, EchConfigExchange } from './service.js'
export type {
  EchConfigExchangeComponents, EchConfigExchangeEvents, EchConfigExchangeInit, EchConfigExchangeRegistrar,
  EchFetchFailedDetail, EchFetchSkippedDetail, EchFetchSkipReason, EchRecordRefusedDetail, EchRecordStoredDetail
} from './types.js'
export { importSignedConfigRecord } from './import.js'
export type { ImportResult, ImportSignedConfigRecordOptions, ImportSkipReason } from './import.js'
export { ECH_CONFIG_EXCHANGE_PROTOCOL } from './constants.js'
export {
  EchConfigExchangeOptionsError, EchConfigExchangeUnavailableError, EchConfigFetchTimeoutError,
  EchConfigResponseInvalidError, EchConfigResponseTooLargeError, EchEncrypterNotFoundError
} from './errors.js'
