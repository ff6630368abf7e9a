/**
 * This node's live configs sealed in a signed config record, as retry
 * configs, the config exchange and the gateway hand them out. Signed once
 * and reused: re-signed when the live set changes (a rotation, a key
 * expiring) and after `refreshMs`, so a record never goes out close to its
 * expiry.
 */
import { createSignedConfigRecord } from '../config/record.js'
import type { EchKeyManager } from './manager.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Signed records live 48 h (the most a peer may cache them, DESIGN.md) and
 * are re-signed after 24 h
 */
export const RECORD_TTL_SECONDS = 48 * 60 * 60
export const RECORD_REFRESH_MS = 24 * 60 * 60 * 1000

export interface SignedRecordCacheInit {
  /** Record validity in seconds (default 48 h) */
  ttlSeconds?: number
  /** Re-sign after this many ms (default 24 h) */
  refreshMs?: number
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
}

export class SignedRecordCache {
  readonly #keys: EchKeyManager
  readonly #privateKey: PrivateKey
  readonly #ttlSeconds: number
  readonly #refreshMs: number
  readonly #now: () => number
  #entry?: { created: number, record: Promise<Uint8Array> }

  constructor (keys: EchKeyManager, privateKey: PrivateKey, init: SignedRecordCacheInit = {}) {
    this.#keys = keys
    this.#privateKey = privateKey
    this.#ttlSeconds = init.ttlSeconds ?? RECORD_TTL_SECONDS
    this.#refreshMs = init.refreshMs ?? RECORD_REFRESH_MS
    this.#now = init.now ?? Date.now
    // the record lists the live configs: re-sign when that set changes
    const invalidate = (): void => { this.#entry = undefined }
    keys.addEventListener('ech:rotated', invalidate)
    keys.addEventListener('ech:key-expired', invalidate)
  }

  /** The current record, signing a new one when there is none or it is due */
  async get (): Promise<Uint8Array> {
    const now = this.#now()
    if (this.#entry == null || now - this.#entry.created >= this.#refreshMs) {
      const entry = {
        created: now,
        record: createSignedConfigRecord(this.#privateKey, this.#keys.getConfigList(), { ttlSeconds: this.#ttlSeconds, now })
      }
      // a failed signature must not be cached
      entry.record.catch(() => {
        if (this.#entry === entry) { this.#entry = undefined }
      })
      this.#entry = entry
    }
    return this.#entry.record
  }
}
