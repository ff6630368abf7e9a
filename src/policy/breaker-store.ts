/**
 * Open breakers in the libp2p datastore, one small JSON record per peer under
 * `<namespace>/<peer id>`, e.g.
 * `{"v":1,"failures":3,"level":2,"openUntil":1735689600000}`.
 * JSON rather than a binary layout: the records are tiny, rare (only open
 * breakers) and an operator can read them with any datastore tool. Stored
 * bytes are untrusted and the datastore may fail: nothing here throws.
 * Unreadable records are logged and skipped (not deleted: a newer version of
 * this package may have written them), failed writes are logged.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { Key } from 'interface-datastore'
import type { PersistedBreaker } from './breaker.js'
import type { Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const VERSION = 1
/** Far more than any sane threshold; bounds what a forged record can claim */
const MAX_FAILURES = 1_000_000
/** 2^64 × any cool-down is far past any cap; the table clamps further */
const MAX_LEVEL = 64
/** A record is a few dozen bytes; refuse to parse anything large */
const MAX_RECORD_BYTES = 256

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

export class BreakerRecordError extends Error {
  static name = 'BreakerRecordError'

  constructor (message = 'Malformed breaker record', options?: ErrorOptions) {
    super(message, options)
    this.name = 'BreakerRecordError'
  }
}

export function encodeBreakerRecord (breaker: PersistedBreaker): Uint8Array {
  return encoder.encode(JSON.stringify({ v: VERSION, failures: breaker.failures, level: breaker.level, openUntil: breaker.openUntil }))
}

function isInteger (value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
}

/** Decode and check a stored record; throws `BreakerRecordError` */
export function decodeBreakerRecord (bytes: Uint8Array): PersistedBreaker {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength > MAX_RECORD_BYTES) {
    throw new BreakerRecordError('breaker record is not a short byte array')
  }
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new BreakerRecordError('breaker record is not JSON', { cause: err })
  }
  if (typeof value !== 'object' || value == null || Array.isArray(value)) {
    throw new BreakerRecordError('breaker record is not an object')
  }
  const { v, failures, level, openUntil } = value as Record<string, unknown>
  if (v !== VERSION) {
    throw new BreakerRecordError(`unknown breaker record version ${String(v)}`)
  }
  if (!isInteger(failures, 1, MAX_FAILURES) || !isInteger(level, 0, MAX_LEVEL) || !isInteger(openUntil, 0, Number.MAX_SAFE_INTEGER)) {
    throw new BreakerRecordError('breaker record fields are missing or out of range')
  }
  return { failures, level, openUntil }
}

export interface StoredBreaker {
  peer: string
  breaker: PersistedBreaker
}

export class BreakerStore {
  readonly #datastore: Datastore
  readonly #namespace: string
  readonly #log: Logger

  constructor (datastore: Datastore, namespace: string, log: Logger) {
    this.#datastore = datastore
    this.#namespace = namespace
    this.#log = log
  }

  key (peer: string): Key {
    return new Key(`${this.#namespace}/${peer}`)
  }

  /** Every readable record, oldest cool-down end first */
  async loadAll (): Promise<StoredBreaker[]> {
    const found: StoredBreaker[] = []
    const prefix = new Key(this.#namespace).toString()
    try {
      for await (const { key, value } of this.#datastore.query({ prefix: `${prefix}/` })) {
        try {
          found.push({ peer: this.#peerOf(key, prefix), breaker: decodeBreakerRecord(value) })
        } catch (err) {
          this.#log.error('skipping unreadable breaker record %s - %e', key, err)
        }
      }
    } catch (err) {
      this.#log.error('could not read persisted breakers - %e', err)
    }
    return found.sort((a, b) => a.breaker.openUntil - b.breaker.openUntil)
  }

  /** Write (a record) or delete (undefined) each peer's entry in one batch */
  async write (changes: Iterable<[string, PersistedBreaker | undefined]>): Promise<void> {
    try {
      const batch = this.#datastore.batch()
      for (const [peer, breaker] of changes) {
        if (breaker == null) {
          batch.delete(this.key(peer))
        } else {
          batch.put(this.key(peer), encodeBreakerRecord(breaker))
        }
      }
      await batch.commit()
    } catch (err) {
      // the breakers still work in memory; at worst a restart forgets some
      this.#log.error('could not persist breakers - %e', err)
    }
  }

  /** The canonical peer id string a key names; throws on keys we did not write */
  #peerOf (key: Key, prefix: string): string {
    const name = key.toString().slice(prefix.length + 1)
    if (name.length === 0 || name.includes('/')) {
      throw new BreakerRecordError('breaker record key is not <namespace>/<peer id>')
    }
    let peer: string
    try {
      peer = peerIdFromString(name).toString()
    } catch (err) {
      throw new BreakerRecordError('breaker record key is not a peer id', { cause: err })
    }
    if (peer !== name) {
      throw new BreakerRecordError('breaker record key is not a canonical peer id')
    }
    return peer
  }
}
