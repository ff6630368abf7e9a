/**
 * Errors of the config exchange service. One class per failure, each with a
 * `static name`, so callers and tests check `err.name`. Verification failures
 * of a fetched record are the record's own errors (`EchRecordInvalidError`,
 * `EchRecordSignerError`, `EchRecordExpiredError` from `src/config/record.ts`).
 */

/** The node has no `EchNoise` encrypter registered as `/noise` */
export class EchEncrypterNotFoundError extends Error {
  static name = 'EchEncrypterNotFoundError'

  constructor (message = 'The ECH config exchange service needs echNoise() as the node\'s /noise connection encrypter (connectionEncrypters: [echNoise()])', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchEncrypterNotFoundError'
  }
}

/** An option passed to `echConfigExchange()` or `importSignedConfigRecord()` is invalid */
export class EchConfigExchangeOptionsError extends Error {
  static name = 'EchConfigExchangeOptionsError'

  constructor (message = 'Invalid ECH config exchange options', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigExchangeOptionsError'
  }
}

/** The response announced or carried more than `maxRecordSize` bytes */
export class EchConfigResponseTooLargeError extends Error {
  static name = 'EchConfigResponseTooLargeError'

  constructor (message = 'ECH config exchange response is too large', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigResponseTooLargeError'
  }
}

/** The response was not one length-prefixed, non-empty message (bad varint, empty, cut short) */
export class EchConfigResponseInvalidError extends Error {
  static name = 'EchConfigResponseInvalidError'

  constructor (message = 'ECH config exchange response is malformed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigResponseInvalidError'
  }
}

/** The remote did not answer within the fetch timeout */
export class EchConfigFetchTimeoutError extends Error {
  static name = 'EchConfigFetchTimeoutError'

  constructor (message = 'ECH config exchange timed out', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigFetchTimeoutError'
  }
}

/** This node does not serve configs right now (its encrypter is in `disabled` mode) */
export class EchConfigExchangeUnavailableError extends Error {
  static name = 'EchConfigExchangeUnavailableError'

  constructor (message = 'ECH is disabled on this node', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigExchangeUnavailableError'
  }
}
