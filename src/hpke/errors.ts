/**
 * HPKE failures, one class per operation (as hpke-js does). Callers and tests
 * check `err.name`; a lower-level failure (the provider, the AEAD) is kept as
 * `cause`.
 */

export class HpkeError extends Error {
  static name = 'HpkeError'

  constructor (message = 'HPKE operation failed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeError'
  }
}

/** A malformed argument: a wrong-length key or enc, an unsupported suite, a bad length */
export class HpkeInvalidInputError extends HpkeError {
  static name = 'HpkeInvalidInputError'

  constructor (message = 'Invalid HPKE input', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeInvalidInputError'
  }
}

/** Encap failed, e.g. the recipient key is a small-order point (RFC 9180 §7.1.4) */
export class HpkeEncapError extends HpkeError {
  static name = 'HpkeEncapError'

  constructor (message = 'HPKE encapsulation failed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeEncapError'
  }
}

/** Decap failed, e.g. enc is a small-order point (RFC 9180 §7.1.4) */
export class HpkeDecapError extends HpkeError {
  static name = 'HpkeDecapError'

  constructor (message = 'HPKE decapsulation failed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeDecapError'
  }
}

/** AEAD.Open failed: wrong key, tampered ciphertext or aad (RFC 9180 §5.2) */
export class HpkeOpenError extends HpkeError {
  static name = 'HpkeOpenError'

  constructor (message = 'HPKE open failed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeOpenError'
  }
}

/** The sequence number would overflow (RFC 9180 §5.2 MessageLimitReachedError) */
export class HpkeMessageLimitError extends HpkeError {
  static name = 'HpkeMessageLimitError'

  constructor (message = 'HPKE message limit reached', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeMessageLimitError'
  }
}

/** The context (or key) was destroyed and cannot be used */
export class HpkeDestroyedError extends HpkeError {
  static name = 'HpkeDestroyedError'

  constructor (message = 'HPKE context was destroyed', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeDestroyedError'
  }
}

/**
 * A KEM this package knows but whose implementation is loaded on first use
 * (X-Wing, `loadKem`) was used synchronously before it was loaded
 */
export class HpkeKemNotLoadedError extends HpkeError {
  /** Checked by callers as `err.name` */
  static name = 'HpkeKemNotLoadedError'

  constructor (message = 'HPKE KEM is not loaded yet: await loadKem() first', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeKemNotLoadedError'
  }
}

/** Loading a KEM's implementation failed (in a browser: its chunk could not be fetched) */
export class HpkeKemLoadError extends HpkeError {
  /** Checked by callers as `err.name` */
  static name = 'HpkeKemLoadError'

  constructor (message = 'HPKE KEM implementation could not be loaded', options?: ErrorOptions) {
    super(message, options)
    this.name = 'HpkeKemLoadError'
  }
}
