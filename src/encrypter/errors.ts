/**
 * Failures of the wrapper itself (the engine's are in `ech/errors.ts`).
 * Callers and tests check `err.name`.
 */

/**
 * An inbound handshake refused at once because its source (an IP, an IPv6
 * /64) already has `maxPendingPerSource` handshakes in flight
 */
export class InboundLimitError extends Error {
  static name = 'InboundLimitError'

  constructor (message = 'Too many inbound handshakes from this source') {
    super(message)
    this.name = 'InboundLimitError'
  }
}
