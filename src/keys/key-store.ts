/**
 * ECH keys in the libp2p datastore, one record (`stored-key.ts`) per key
 * under `<namespace>/<configId>-<createdAt>`. Datastore contents are
 * untrusted and the datastore may fail: nothing here throws. Unreadable
 * records are logged and skipped (not deleted: a newer version of this
 * package may have written them), failed writes are logged.
 */
import { Key } from 'interface-datastore'
import { decodeStoredEchKey, encodeStoredEchKey } from './stored-key.js'
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
}

/**
 * The key manager's persistence: one record per key under `<namespace>/<configId>-<createdAt>`;
 * never throws (failures are logged)
 */
export class EchKeyStore {
  constructor (
    private readonly datastore: Datastore,
    private readonly namespace: string,
    private readonly provider: CryptoProvider,
    private readonly log: Logger
  ) {}

  /** Every readable key, newest first, at most one per config id (the newest) */
  async loadAll (): Promise<StoredKey[]> {
    const found: StoredKey[] = []
    try {
      for await (const { key: dsKey, value } of this.datastore.query({ prefix: this.namespace })) {
        try {
          found.push({ key: decodeStoredEchKey(value, this.provider), dsKey })
        } catch (err) {
          this.log.error('skipping unreadable ECH key %s - %e', dsKey, err)
        }
      }
    } catch (err) {
      this.log.error('could not read persisted ECH keys - %e', err)
    }
    found.sort((a, b) => b.key.createdAt - a.key.createdAt)
    const ids = new Set<number>()
    return found.filter(({ key, dsKey }) => {
      const id = key.config.configId
      if (ids.has(id)) {
        // we never write two live keys with one id (RFC 9849 §7.1 selects by it)
        this.log.error('skipping ECH key %s: config id %d is taken by a newer key', dsKey, id)
        key.privateKey.destroy()
        return false
      }
      ids.add(id)
      return true
    })
  }

  /** Persist a key; undefined when the write failed */
  async save (key: EchKey): Promise<Key | undefined> {
    const dsKey = new Key(`${this.namespace}/${key.config.configId}-${key.createdAt}`)
    try {
      // not wiped after the put: a datastore may keep this very buffer (MemoryDatastore does)
      await this.datastore.put(dsKey, encodeStoredEchKey(key))
      return dsKey
    } catch (err) {
      // the key still works until restart; not worth failing the node over
      this.log.error('could not persist ECH key %d - %e', key.config.configId, err)
      return undefined
    }
  }

  /** Delete a stored key (an expired one); failures are logged */
  async remove (dsKey: Key): Promise<void> {
    try {
      await this.datastore.delete(dsKey)
    } catch (err) {
      this.log.error('could not delete expired ECH key %s - %e', dsKey, err)
    }
  }
}
