/**
 * The responder's live ECH keys: generation, rotation, expiry and
 * persistence in the libp2p datastore.
 *
 * Rotation follows the libp2p TLS ECH draft's numbers (DESIGN.md): a new key
 * about monthly, the old one kept about a week, so an initiator holding a
 * cached config (at most 48 h old) still reaches us. RFC 9849 §7.1 lets a
 * server keep several keys and try each whose config_id matches.
 *
 * A key is "retired" once a newer one exists and expires `gracePeriod` after
 * that, or when `rotate({ gracePeriod })` says. Retirement time is not
 * stored: it is the next newer key's `createdAt`, which is exactly when
 * `rotate()` ran; an explicit expiry is stored with the key.
 *
 * Publishing the next key ahead of time is a rotation: the new key is
 * accepted and listed first at once (initiators offer to the first usable
 * config, `config/offer.ts`), and the replaced key stays accepted for the
 * grace period, so the handover lasts exactly that long. A handover shorter
 * than the 48 h a dialer may cache a config strands `require`-mode dialers
 * holding the old one (the responder refuses them before message 2, so no
 * retry configs reach them): it is reported (`isGraceShorterThanCache()`).
 *
 * The live set is capped (`live-set.ts`): `maxLiveKeys`, and a list size
 * that fits a signed record in Noise message 2.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { frameConfigList } from '../config/codec.js'
import { MAX_RECORD_TTL_SECONDS } from '../config/record.js'
import { defaultProvider } from '../crypto/default.js'
import { EchKeyManagerNotStartedError, EchKeyOptionsError } from './errors.js'
import { generateEchKey, optionsLike } from './generate.js'
import { EchKeyStore } from './key-store.js'
import { MAX_CONFIG_LIST_BYTES, checkDuration, checkKeys, checkMaxLiveKeys, expiryOf, fromStored, listBytes, nextDue, retireAt, splitExpired, splitOverCap } from './live-set.js'
import type { EchKey } from './generate.js'
import type { LiveEntry } from './live-set.js'
import type { EchKeyExpiredDetail, EchKeyManagerComponents, EchKeyManagerEvents, EchKeyManagerInit, EchKeyRotateOptions } from './types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Logger, Startable } from '@libp2p/interface'

const DAY = 24 * 60 * 60 * 1000

/** Default `rotationInterval`: 30 days, in ms */
export const DEFAULT_ROTATION_INTERVAL = 30 * DAY
/** Default `gracePeriod`: 7 days, in ms */
export const DEFAULT_GRACE_PERIOD = 7 * DAY
/** Default datastore prefix of generated keys */
export const DEFAULT_KEY_NAMESPACE = '/libp2p-noise-ech/keys'

/**
 * How long a dialer may cache a config: the longest validity of a signed
 * config record (DESIGN.md), in ms. A grace period shorter than this is
 * reported.
 */
export const CONFIG_CACHE_LIFETIME = MAX_RECORD_TTL_SECONDS * 1000

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days), shorter than a rotation */
const MAX_TIMER_DELAY = 0x7fffffff

/**
 * A node's live ECH keys: made, persisted in the libp2p datastore, rotated on a timer and expired
 * after a grace period — or, with `keys`, the application's keys used as given. The encrypter makes
 * one (`ech.keys`).
 */
export class EchKeyManager extends TypedEventEmitter<EchKeyManagerEvents> implements Startable {
  readonly #log: Logger
  readonly #store?: EchKeyStore
  readonly #static: boolean
  readonly #rotationInterval: number
  readonly #gracePeriod: number
  readonly #maxLiveKeys: number
  readonly #autoRotate: boolean
  readonly #generateOptions: EchKeyManagerInit['generate']
  readonly #provider: CryptoProvider
  readonly #namespace: string
  readonly #now: () => number
  #entries: LiveEntry[] = []
  #started = false
  #timer?: ReturnType<typeof setTimeout>
  /** Serializes start, rotation and expiry so a timer never races a caller */
  #queue: Promise<unknown> = Promise.resolve()

  constructor (components: EchKeyManagerComponents, init: EchKeyManagerInit = {}) {
    super()
    this.#log = components.logger.forComponent('libp2p:noise-ech:keys')
    this.#static = init.keys != null
    this.#rotationInterval = checkDuration(init.rotationInterval, DEFAULT_ROTATION_INTERVAL, 'rotationInterval')
    this.#gracePeriod = checkDuration(init.gracePeriod, DEFAULT_GRACE_PERIOD, 'gracePeriod')
    this.#maxLiveKeys = checkMaxLiveKeys(init.maxLiveKeys)
    this.#autoRotate = init.autoRotate ?? !this.#static
    this.#generateOptions = init.generate
    this.#provider = init.provider ?? defaultProvider
    this.#namespace = init.namespace ?? DEFAULT_KEY_NAMESPACE
    this.#now = init.now ?? Date.now
    if (!this.#static && components.datastore != null) {
      this.#store = new EchKeyStore(components.datastore, this.#namespace, this.#provider, this.#log)
    }
    if (init.keys != null) {
      this.#entries = checkKeys(init.keys, this.#maxLiveKeys)
    }
    this.#warnIfShort(this.#gracePeriod)
  }

  /** `'libp2p-noise-ech/key-manager'` */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/key-manager'

  /** Whether `start()` ran (and `stop()` did not since) */
  isStarted (): boolean {
    return this.#started
  }

  /** Load persisted keys (dropping expired ones and any over the cap), make a first key if there is none, start the timer */
  async start (): Promise<void> {
    if (this.#started) { return }
    await this.#serialize(async () => {
      // a second start() queued behind the first finds it done
      if (this.#started) { return }
      if (!this.#static) {
        this.#entries = await this.#load()
      }
      await this.#expire()
      await this.#trim()
      if (this.#entries.length === 0 || (this.#autoRotate && this.#isRotationDue())) {
        await this.#addKey()
      }
      this.#started = true
      this.#schedule()
    })
  }

  /**
   * Stop the timer, destroy and delete keys whose grace period has ended,
   * and wipe the in-memory copies of the rest (they stay in the datastore
   * for the next start; application keys are left alone)
   */
  async stop (): Promise<void> {
    if (!this.#started) { return }
    this.#started = false
    this.#clearTimer()
    await this.#serialize(async () => {
      await this.#expire()
      if (!this.#static) {
        for (const { key } of this.#entries) {
          key.privateKey.destroy()
        }
        this.#entries = []
      }
    })
  }

  /** When the timer next rotates (ms since epoch); undefined when not started or autoRotate is off */
  getNextRotation (): number | undefined {
    if (!this.#started || !this.#autoRotate || this.#entries.length === 0) { return undefined }
    return this.#entries[0].key.createdAt + this.#rotationInterval
  }

  /** When a retired key stops being accepted (ms since epoch); undefined for the current key or an unknown id */
  getKeyExpiry (configId: number): number | undefined {
    const entry = this.#entries.find(e => e.key.config.configId === configId)
    return entry == null ? undefined : expiryOf(entry, this.#gracePeriod)
  }

  /**
   * When the first config of `getConfigList()` to stop being accepted does
   * (ms since epoch): the earliest expiry of a retired key, or of the
   * current key when the timer will retire it (next rotation plus grace
   * period), assuming no manual rotation before then. Undefined when no
   * listed key has an end (application keys, no timer) or not started.
   */
  getConfigListExpiry (): number | undefined {
    const next = this.getNextRotation()
    return nextDue(this.#entries, this.#gracePeriod, next == null ? undefined : next + this.#gracePeriod)
  }

  /** The configured grace period, ms */
  getGracePeriod (): number {
    return this.#gracePeriod
  }

  /**
   * Whether the configured grace period is shorter than the 48 h a dialer
   * may cache a config (`CONFIG_CACHE_LIFETIME`): then a rotation strands
   * `require`-mode dialers that hold the replaced config until they fetch
   * the new one out of band
   */
  isGraceShorterThanCache (): boolean {
    return this.#gracePeriod < CONFIG_CACHE_LIFETIME
  }

  /** Live keys, newest first */
  getKeys (): EchKey[] {
    this.#assertUsable()
    return this.#entries.map(e => e.key)
  }

  /** Every live config as one ECHConfigList (RFC 9849 §4 wire form), newest first; always within `MAX_CONFIG_LIST_BYTES` */
  getConfigList (): Uint8Array {
    return frameConfigList(this.getKeys().map(key => key.config.raw))
  }

  /** The live key with this config_id (RFC 9849 §7.1: the server selects keys by it) */
  findByConfigId (configId: number): EchKey | undefined {
    this.#assertUsable()
    return this.#entries.find(e => e.key.config.configId === configId)?.key
  }

  /**
   * Make a new key, accepted and listed first at once. The keys it replaces
   * stay accepted for the grace period: the configured one, or
   * `options.gracePeriod` (ms), which also caps the keys retired earlier, so
   * `{ gracePeriod: 0 }` leaves only the new key. The cap may retire the
   * oldest keys early.
   */
  async rotate (options: EchKeyRotateOptions = {}): Promise<EchKey> {
    if (!this.#started) { throw new EchKeyManagerNotStartedError() }
    const gracePeriod = options.gracePeriod == null ? undefined : checkDuration(options.gracePeriod, 0, 'gracePeriod')
    if (gracePeriod != null) { this.#warnIfShort(gracePeriod) }
    return this.#serialize(async () => {
      const key = await this.#addKey(gracePeriod)
      await this.#expire()
      this.#schedule()
      return key
    })
  }

  /** Drop expired keys and rotate when due; the timer runs this, tests may too */
  async maintain (): Promise<void> {
    if (!this.#started) { return }
    await this.#serialize(async () => {
      await this.#expire()
      if (this.#autoRotate && this.#isRotationDue()) {
        await this.#addKey()
      }
      this.#schedule()
    })
  }

  #warnIfShort (gracePeriod: number): void {
    if (gracePeriod < CONFIG_CACHE_LIFETIME) {
      this.#log('warning: gracePeriod of %d ms is shorter than the %d ms a dialer may cache a config: after a rotation, require-mode dialers holding the replaced config are refused until they get the new one out of band', gracePeriod, CONFIG_CACHE_LIFETIME)
    }
  }

  #assertUsable (): void {
    if (!this.#started && !this.#static) { throw new EchKeyManagerNotStartedError() }
  }

  async #serialize<T> (fn: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(fn)
    this.#queue = result.catch(() => {})
    return result
  }

  #isRotationDue (): boolean {
    const newest = this.#entries[0]
    return newest == null || this.#now() - newest.key.createdAt >= this.#rotationInterval
  }

  async #addKey (gracePeriod?: number): Promise<EchKey> {
    // creation times strictly increase: they order the keys when loaded back
    const now = Math.max(this.#now(), (this.#entries[0]?.key.createdAt ?? -Infinity) + 1)
    const key = await generateEchKey({
      // a rotation keeps the current key's KEM, name and suites (an X-Wing
      // node must not drop to X25519 by rotating), unless configured otherwise
      ...(this.#entries[0] == null ? {} : optionsLike(this.#entries[0].key.config)),
      ...this.#generateOptions,
      provider: this.#provider,
      createdAt: now,
      // RFC 9849 §4 config ids must tell live keys apart; the cap keeps one free
      avoidConfigIds: this.#entries.map(e => e.key.config.configId)
    })
    if (listBytes([{ key }]) > MAX_CONFIG_LIST_BYTES) {
      key.privateKey.destroy()
      throw new EchKeyOptionsError(`generate options make a config of ${key.config.raw.byteLength} bytes, over the ${MAX_CONFIG_LIST_BYTES}-byte list limit`)
    }
    const entry: LiveEntry = { key, dsKey: await this.#store?.save(key) }
    const { retired, changed } = retireAt(this.#entries, now, this.#gracePeriod, gracePeriod)
    for (const { key: old, dsKey, expiresAt } of changed) {
      // persisted before any delete: if the delete fails, a restart still drops the key on time
      if (dsKey != null) { await this.#store?.save(old, expiresAt) }
    }
    this.#entries.unshift(entry)
    this.#log('added ECH key %d, retired %o', key.config.configId, retired)
    this.safeDispatchEvent('ech:rotated', { detail: { added: key.config.configId, retired } })
    await this.#trim()
    return key
  }

  async #expire (): Promise<void> {
    const { keep, dropped } = splitExpired(this.#entries, this.#now(), this.#gracePeriod)
    this.#entries = keep
    await this.#drop(dropped, 'grace-ended')
  }

  /** Retire early the oldest keys over `maxLiveKeys` or over `MAX_CONFIG_LIST_BYTES` */
  async #trim (): Promise<void> {
    const { keep, dropped } = splitOverCap(this.#entries, this.#maxLiveKeys, MAX_CONFIG_LIST_BYTES)
    this.#entries = keep
    if (dropped.length > 0) {
      this.#log('warning: %d ECH key(s) retired before their grace period ended: the live set is capped at %d keys and %d bytes', dropped.length, this.#maxLiveKeys, MAX_CONFIG_LIST_BYTES)
    }
    await this.#drop(dropped, 'cap')
  }

  /** Destroy keys that left the live set and delete them from the datastore: nothing stays at rest */
  async #drop (entries: LiveEntry[], reason: EchKeyExpiredDetail['reason']): Promise<void> {
    for (const { key, dsKey } of entries) {
      key.privateKey.destroy()
      if (dsKey != null) {
        await this.#store?.remove(dsKey)
      }
      this.#log('ECH key %d expired (%s)', key.config.configId, reason)
      this.safeDispatchEvent('ech:key-expired', { detail: { configId: key.config.configId, createdAt: key.createdAt, reason } })
    }
  }

  /** Persisted keys, newest first, each retired when the next newer one was made */
  async #load (): Promise<LiveEntry[]> {
    return fromStored(await this.#store?.loadAll() ?? [])
  }

  #clearTimer (): void {
    if (this.#timer != null) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  /** Arm the timer for the next rotation or expiry, whichever comes first */
  #schedule (): void {
    this.#clearTimer()
    if (!this.#started) { return }
    const newest = this.#entries[0]
    const rotation = this.#autoRotate && newest != null ? newest.key.createdAt + this.#rotationInterval : undefined
    const due = nextDue(this.#entries, this.#gracePeriod, rotation)
    if (due == null) { return }
    const delay = Math.min(Math.max(due - this.#now(), 0), MAX_TIMER_DELAY)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.maintain().catch(err => { this.#log.error('ECH key maintenance failed - %e', err) })
    }, delay)
    // never keep the process alive just to rotate keys
    this.#timer.unref?.()
  }
}
