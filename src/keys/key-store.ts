/**
 * ECH keys in the libp2p datastore, one record (`stored-key.ts`) per key
 * under `<namespace>/<configId>-<createdAt>`. Datastore contents are
 * untrusted and the datastore may fail: nothing here throws. Unreadable
 * records are logged and skipped (not deleted: a newer version of this
 * package may have written them), failed writes are logged. A readable key
 * that is destroyed (it lost a config_id collision, expired, or fell to the
 * live-key cap) is deleted: nothing of it stays at rest.
 */
import { Key } from 'interface-datastore'
import { encodeStoredEchKey, loadStoredEchKeyRecord } from './stored-key.js'
import type { EchKey } from './generate.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** A key read back from the datastore, with the datastore key it is stored under */
export interface StoredKey {
  /** The key */
  key: EchKey
  /** Where it is stored */
  dsKey: Key
  /** Its explicit expiry, when one was stored (ms since the epoch) */
  expiresAt?: number
}

/**
 * The key manager's persistence: one record per key under `<namespace>/<configId>-<createdAt>`;
 * never throws (failures are logged)
 */
export class EchKeyStore {
  readonly #datastore: Datastore
  readonly #namespace: string
  readonly #provider: CryptoProvider
  readonly #log: Logger

  constructor (datastore: Datastore, namespace: string, provider: CryptoProvider, log: Logger) {
    this.#datastore = datastore
    this.#namespace = namespace
    this.#provider = provider
    this.#log = log
  }

  /**
   * Every readable key, newest first, at most one per config id (the
   * newest). An older key with a taken id is destroyed and deleted.
   */
  async loadAll (): Promise<StoredKey[]> {
    const found: StoredKey[] = []
    try {
      for await (const { key: dsKey, value } of this.#datastore.query({ prefix: this.#namespace })) {
        try {
          found.push({ ...await loadStoredEchKeyRecord(value, this.#provider), dsKey })
        } catch (err) {
          this.#log.error('skipping unreadable ECH key %s - %e', dsKey, err)
        }
      }
    } catch (err) {
      this.#log.error('could not read persisted ECH keys - %e', err)
    }
    found.sort((a, b) => b.key.createdAt - a.key.createdAt)
    const ids = new Set<number>()
    const kept: StoredKey[] = []
    for (const stored of found) {
      const id = stored.key.config.configId
      if (!ids.has(id)) {
        ids.add(id)
        kept.push(stored)
        continue
      }
      // we never write two live keys with one id (RFC 9849 §7.1 selects by it);
      // the loser is never used again, so it must not stay at rest either
      this.#log.error('dropping ECH key %s: config id %d is taken by a newer key', stored.dsKey, id)
      stored.key.privateKey.destroy()
      await this.remove(stored.dsKey)
    }
    return kept
  }

  /**
   * Persist a key (again, to record an explicit expiry: same datastore key);
   * undefined when the write failed
   */
  async save (key: EchKey, expiresAt?: number): Promise<Key | undefined> {
    const dsKey = new Key(`${this.#namespace}/${key.config.configId}-${key.createdAt}`)
    try {
      // not wiped after the put: a datastore may keep this very buffer (MemoryDatastore does)
      await this.#datastore.put(dsKey, encodeStoredEchKey(key, { expiresAt }))
      return dsKey
    } catch (err) {
      // the key still works until restart; not worth failing the node over
      this.#log.error('could not persist ECH key %d - %e', key.config.configId, err)
      return undefined
    }
  }

  /** Delete a stored key (a destroyed one); failures are logged */
  async remove (dsKey: Key): Promise<void> {
    try {
      await this.#datastore.delete(dsKey)
    } catch (err) {
      this.#log.error('could not delete ECH key %s - %e', dsKey, err)
    }
  }
}
