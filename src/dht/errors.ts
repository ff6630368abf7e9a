/**
 * Errors of the DHT config records (`src/dht/`). One class per failure, each
 * with a `static name`, so callers and tests check `err.name`. A record that
 * fails verification throws the record's own errors (`EchRecordInvalidError`,
 * `EchRecordSignerError`, `EchRecordExpiredError`,
 * `EchRecordNotYetValidError`, from `src/config/record.ts`).
 */

/** A DHT key that is not `/noise-ech/<peer id multihash>` */
export class EchDhtKeyError extends Error {
  static name = 'EchDhtKeyError'

  constructor (message = 'Not an ECH config record key (/noise-ech/<peer id multihash>)', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchDhtKeyError'
  }
}

/** A DHT value larger than `MAX_DHT_RECORD_SIZE`: refused before any signature check */
export class EchDhtRecordTooLargeError extends Error {
  static name = 'EchDhtRecordTooLargeError'

  constructor (message = 'ECH config record in the DHT is too large', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchDhtRecordTooLargeError'
  }
}

/** An option passed to `echDhtConfigs()` is invalid */
export class EchDhtOptionsError extends Error {
  static name = 'EchDhtOptionsError'

  constructor (message = 'Invalid ECH DHT config options', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchDhtOptionsError'
  }
}

/**
 * The node's DHT service is missing, or was made without the ECH record
 * validator and selector (`kadDHT({ validators: echDhtValidators, selectors: echDhtSelectors })`):
 * without them kad-dht discards every ECH record it is sent or finds
 */
export class EchDhtNotConfiguredError extends Error {
  static name = 'EchDhtNotConfiguredError'

  constructor (message = 'The ECH DHT service needs a kad-dht service made with echDhtValidators and echDhtSelectors', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchDhtNotConfiguredError'
  }
}
