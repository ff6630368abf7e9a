/**
 * The audit log: one JSON line per security-relevant event on the
 * `libp2p:noise-ech:audit` logger, and the same entry to an optional sink.
 *
 * Entries are built field by field from an allow-list, so nothing the caller
 * attached by accident (a key, an `enc`, a message) can reach a log line.
 */
import type { AuditEntry } from './types.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'

/** Every field an audit entry may carry */
export const AUDIT_FIELDS = ['time', 'event', 'kind', 'severity', 'remotePeer', 'remoteAddr', 'count', 'reason', 'configId'] as const satisfies ReadonlyArray<keyof AuditEntry>

export class AuditLog {
  readonly #log: Logger
  readonly #sink?: (entry: AuditEntry) => void
  readonly #onSinkError: (err: unknown) => void

  constructor (logger: ComponentLogger, sink: ((entry: AuditEntry) => void) | undefined, onSinkError: (err: unknown) => void) {
    this.#log = logger.forComponent('libp2p:noise-ech:audit')
    this.#sink = sink
    this.#onSinkError = onSinkError
  }

  write (input: AuditEntry): AuditEntry {
    const entry: Partial<Record<keyof AuditEntry, unknown>> = {}
    for (const field of AUDIT_FIELDS) {
      if (input[field] != null) {
        entry[field] = input[field]
      }
    }
    const frozen = Object.freeze(entry) as AuditEntry
    this.#log('%s', JSON.stringify(frozen))
    if (this.#sink != null) {
      try {
        const result: unknown = this.#sink(frozen)
        if (result instanceof Promise) {
          result.catch(this.#onSinkError)
        }
      } catch (err) {
        this.#onSinkError(err)
      }
    }
    return frozen
  }
}
