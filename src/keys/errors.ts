/**
 * Errors raised by key generation, persistence and rotation. One class per
 * failure, each with a `static name`, so callers and tests check `err.name`.
 */

/** An option passed to `generateEchKey` or the key manager is invalid */
export class EchKeyOptionsError extends Error {
  static name = 'EchKeyOptionsError'

  constructor (message = 'Invalid ECH key options', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchKeyOptionsError'
  }
}

/** All 256 config ids (RFC 9849 §4: `uint8 config_id`) are already taken */
export class EchConfigIdExhaustedError extends Error {
  static name = 'EchConfigIdExhaustedError'

  constructor (message = 'No free ECH config id left', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigIdExhaustedError'
  }
}

/** The requested HPKE KEM is not implemented (see `src/hpke/registry.ts`) */
export class EchUnsupportedKemError extends Error {
  static name = 'EchUnsupportedKemError'

  constructor (message = 'Unsupported HPKE KEM', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchUnsupportedKemError'
  }
}

/**
 * Serialized key material (a PEM file or a datastore record) is malformed, or
 * its private key does not match the public key in its ECHConfig.
 */
export class EchKeyDecodeError extends Error {
  static name = 'EchKeyDecodeError'

  constructor (message = 'Malformed ECH key', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchKeyDecodeError'
  }
}

/** The key manager was used before `start()` or after `stop()` */
export class EchKeyManagerNotStartedError extends Error {
  static name = 'EchKeyManagerNotStartedError'

  constructor (message = 'ECH key manager is not started', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchKeyManagerNotStartedError'
  }
}
