/**
 * Errors raised by the fallback policy. Each class has a `static name`, so
 * callers and tests check `err.name`, as in the rest of this package.
 */

/**
 * An environment variable, `init` option or runtime setting of the policy is
 * invalid. Raised when the policy is created (or a runtime setter is called),
 * never swallowed into a default: a typo in `ECH_ENABLED` must not silently
 * leave ECH on for an operator who meant to switch it off.
 */
export class EchPolicyConfigError extends Error {
  static name = 'EchPolicyConfigError'

  /** The variable or option at fault, e.g. `ECH_ROLLOUT_PERCENTAGE` or `init.failureThreshold` */
  readonly setting: string

  constructor (setting: string, message = `Invalid ECH policy setting ${setting}`, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchPolicyConfigError'
    this.setting = setting
  }
}
