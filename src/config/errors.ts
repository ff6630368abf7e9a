/**
 * The one error class of the config module. Callers and tests check
 * `err.name` and `err.field`, never the message text.
 */
export class EchConfigError extends Error {
  static name = 'EchConfigError'
  /** Always `'EchConfigError'` */
  name = 'EchConfigError'

  /**
   * The first bad field, in RFC 9849 §4 names where there is one
   * (`ECHConfigList.length`, `ECHConfig.length`, `public_key`,
   * `cipher_suites`, `public_name`, `extensions`, `extension.data`, ...), or
   * the container format (`base64`, `pem`, `private_key`)
   */
  readonly field: string

  constructor (field: string, message = 'Invalid ECHConfig') {
    super(message)
    this.field = field
  }
}

/** The initiator was given an ECHConfig it cannot use (unknown KEM, no supported suite, a key that does not import) */
export class EchConfigUnusableError extends Error {
  static name = 'EchConfigUnusableError'

  constructor (message = 'The ECHConfig has no usable KEM and cipher suite', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchConfigUnusableError'
  }
}
