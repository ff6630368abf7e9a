/**
 * The one path by which a signed config record fetched from the network
 * (config exchange, HTTP, anything else) reaches the peer store: verified by
 * `openSignedConfigRecord` / `PeerConfigStore.storeSignedRecord` against the
 * peer it claims to come from, then written with `peerStore.merge`.
 *
 * What the service fetches: nothing stored, or a stored value that does not
 * verify (expired, wrong signer, malformed): stale, fetch. A wire-form
 * ECHConfigList the application gave: always fresh, never replaced by a
 * record. A list the peer announced in its addresses (identify `/ech`):
 * stale, replaced by its signed record. A signed record: its effective
 * expiry is the earlier of its signed expiry (itself capped at issue + 48 h)
 * and issue + `maxAge`; it is fresh while more than `refreshMargin` (default
 * 1 h) of that is left.
 *
 * What a fetched record may replace is the freshness rule every path that
 * stores a record shares, `PeerConfigStore.storeSignedRecord`: newest issue
 * time wins (among records of the same second, the later received), the
 * same record again is a no-op, an older record is refused with
 * `EchRecordRollbackError`.
 */
import { isWireConfigList } from '../config/codec.js'
import { announcedListExpiry, PeerConfigStore, readStoredConfig } from '../config/peer-store.js'
import { EchRecordExpiredError, openSignedConfigRecord } from '../config/record.js'
import { defaultProvider } from '../crypto/default.js'
import { DEFAULT_REFRESH_MARGIN, MAX_RECORD_AGE } from './constants.js'
import { EchConfigExchangeOptionsError } from './errors.js'
import type { StoreSkipReason } from '../config/peer-store.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Logger, PeerId, PeerStore } from '@libp2p/interface'

/** What the peer store holds for a peer under `ECH_PEER_STORE_KEY` */
export type StoredConfigStatus =
  | { kind: 'none' }
  /** A wire-form ECHConfigList, given by the application */
  | { kind: 'config-list' }
  /** A wire-form ECHConfigList the peer announced in its addresses (identify `/ech`); `expiresAt` in ms */
  | { kind: 'announced-list', expiresAt: number }
  /** A signed record that verifies; times in ms since the epoch, `expiresAt` already capped by `maxAge` */
  | { kind: 'record', issuedAt: number, expiresAt: number }
  /** A value that does not verify or has expired (`error` is the `err.name`) */
  | { kind: 'unusable', error: string }

/**
 * Why a verified record was not stored: `config-list`, the peer store holds a
 * list the application gave (never replaced by a record); `same-record`, it
 * holds this very record (a no-op). A record older
 * than the stored one is not skipped but refused (`EchRecordRollbackError`).
 */
export type ImportSkipReason = StoreSkipReason

/** What `importSignedConfigRecord` did with a record that verified */
export type ImportResult =
  | {
    /** The record is now in the peer store */
    stored: true
    /** The record's issue time, ms since the epoch */
    issuedAt: number
    /** When the record stops being trusted, ms since the epoch (its signed expiry, capped by `maxAge`) */
    expiresAt: number
  }
  | {
    /** The record verified but was not stored */
    stored: false
    /** Why not */
    reason: ImportSkipReason
    /** The record's issue time, ms since the epoch */
    issuedAt: number
    /** When the record would stop being trusted, ms since the epoch */
    expiresAt: number
  }

export interface ConfigRecordImporterInit {
  /** Where records are read and stored */
  peerStore: PeerStore
  /** Crypto backend used to check that the configs' keys import (default: the platform's) */
  provider?: CryptoProvider
  /** Logger for verification failures (default: silent) */
  log?: Logger
  /** Longest a record is trusted after its issue time, ms (default and maximum 48 h) */
  maxAge?: number
  /** Current time, ms since the epoch (default `Date.now`) */
  now?(): number
}

export function checkMaxAge (maxAge: number | undefined): number {
  const value = maxAge ?? MAX_RECORD_AGE
  if (!Number.isFinite(value) || value <= 0 || value > MAX_RECORD_AGE) {
    throw new EchConfigExchangeOptionsError(`maxAge must be a number of ms in 1..${MAX_RECORD_AGE}`)
  }
  return value
}

export function checkRefreshMargin (refreshMargin: number | undefined, maxAge: number): number {
  const value = refreshMargin ?? DEFAULT_REFRESH_MARGIN
  if (!Number.isFinite(value) || value < 0 || value >= maxAge) {
    throw new EchConfigExchangeOptionsError('refreshMargin must be a number of ms, at least 0 and less than maxAge')
  }
  return value
}

/** A logger that drops everything, for `importSignedConfigRecord` without one */
function silentLogger (): Logger {
  const log = Object.assign(() => {}, {
    enabled: false,
    error: () => {},
    trace: () => {},
    newScope: () => log
  })
  return log
}

/**
 * Reads what the peer store holds for a peer and imports fetched records
 * through `PeerConfigStore`, applying the freshness rule above.
 */
export class ConfigRecordImporter {
  readonly maxAge: number
  private readonly peerStore: PeerStore
  private readonly provider: CryptoProvider
  private readonly configs: PeerConfigStore
  private readonly now: () => number

  constructor (init: ConfigRecordImporterInit) {
    this.maxAge = checkMaxAge(init.maxAge)
    this.peerStore = init.peerStore
    this.provider = init.provider ?? defaultProvider
    this.now = init.now ?? Date.now
    this.configs = new PeerConfigStore({
      peerStore: init.peerStore,
      provider: this.provider,
      log: init.log ?? silentLogger(),
      // the importer is short-lived per value: no need to keep parsed offers
      cacheSize: 1,
      now: this.now
    })
  }

  /** What is stored for `peer`; never throws for a bad stored value */
  async inspect (peer: PeerId): Promise<StoredConfigStatus> {
    const { value, announcedExpiry } = await readStoredConfig(this.peerStore, peer)
    if (value == null) {
      return { kind: 'none' }
    }
    if (isWireConfigList(value)) {
      const expiresAt = announcedListExpiry(this.provider, value, announcedExpiry)
      return expiresAt == null ? { kind: 'config-list' } : { kind: 'announced-list', expiresAt }
    }
    try {
      const validity = await this.open(peer, value)
      return { kind: 'record', ...validity }
    } catch (err: any) {
      return { kind: 'unusable', error: err?.name ?? 'Error' }
    }
  }

  /** Whether `status` needs no fetch: an app-given list, or a record with more than `refreshMargin` ms left */
  isFresh (status: StoredConfigStatus, refreshMargin: number): boolean {
    if (status.kind === 'config-list') {
      return true
    }
    return status.kind === 'record' && status.expiresAt - this.now() > refreshMargin
  }

  /**
   * Verify `record` as coming from `peer` and store it, following the
   * freshness rule of `PeerConfigStore.storeSignedRecord`, with an
   * app-given list kept. Throws the record's typed error
   * (`EchRecordInvalidError`, `EchRecordSignerError`, `EchRecordExpiredError`,
   * `EchRecordNotYetValidError`, `EchRecordRollbackError`, or
   * `EchConfigError` for a signed but malformed config list); nothing is
   * stored then.
   */
  async import (peer: PeerId, record: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<ImportResult> {
    // maxAge is this importer's own limit; storeSignedRecord verifies again (same code, same clock)
    const validity = await this.open(peer, record)
    options.signal?.throwIfAborted()
    const result = await this.configs.storeSignedRecord(peer, record, { keepConfigList: true, signal: options.signal })
    return result.stored ? { stored: true, ...validity } : { stored: false, reason: result.reason, ...validity }
  }

  private async open (peer: PeerId, record: Uint8Array): Promise<{ issuedAt: number, expiresAt: number }> {
    const now = this.now()
    const opened = await openSignedConfigRecord(record, peer, { now })
    const issuedAt = opened.issuedAt * 1000
    const expiresAt = Math.min(opened.expiresAt * 1000, issuedAt + this.maxAge)
    if (now >= expiresAt) {
      throw new EchRecordExpiredError('Signed config record is older than maxAge')
    }
    return { issuedAt, expiresAt }
  }
}

/** Options of `importSignedConfigRecord` */
export interface ImportSignedConfigRecordOptions extends Omit<ConfigRecordImporterInit, 'peerStore'> {
  /** Abort before the record is stored */
  signal?: AbortSignal
  /** Current time, ms since the epoch (default `Date.now`) */
  now?(): number
}

/**
 * Import a signed config record obtained any way at all (HTTP, a file, …):
 * the same verification and storage path as the config exchange service.
 * Resolves with whether it was stored; rejects with the record's typed error
 * when it does not verify as `peer`'s.
 *
 * @example
 *
 * ```TypeScript
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer())
 * await importSignedConfigRecord(node.peerStore, peerId, bytes)
 * ```
 */
export async function importSignedConfigRecord (peerStore: PeerStore, peer: PeerId, record: Uint8Array, options: ImportSignedConfigRecordOptions = {}): Promise<ImportResult> {
  const { signal, ...init } = options
  return new ConfigRecordImporter({ ...init, peerStore }).import(peer, record, { signal })
}
