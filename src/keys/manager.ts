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
 * that. Retirement time is not stored: it is the next newer key's
 * `createdAt`, which is exactly when `rotate()` ran.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { frameConfigList } from '../config/codec.js'
import { defaultProvider } from '../crypto/default.js'
import { getKem } from '../hpke/registry.js'
import { EchKeyManagerNotStartedError, EchKeyOptionsError } from './errors.js'
import { generateEchKey } from './generate.js'
import { EchKeyStore } from './key-store.js'
import type { EchKey, GenerateEchKeyOptions } from './generate.js'
import type { EchKeyManagerComponents, EchKeyManagerEvents, EchKeyManagerInit } from './types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Logger, Startable } from '@libp2p/interface'
import type { Key } from 'interface-datastore'

const DAY = 24 * 60 * 60 * 1000

/** Default `rotationInterval`: 30 days, in ms */
export const DEFAULT_ROTATION_INTERVAL = 30 * DAY
/** Default `gracePeriod`: 7 days, in ms */
export const DEFAULT_GRACE_PERIOD = 7 * DAY
/** Default datastore prefix of generated keys */
export const DEFAULT_KEY_NAMESPACE = '/libp2p-noise-ech/keys'

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days), shorter than a rotation */
const MAX_TIMER_DELAY = 0x7fffffff

interface Entry {
  key: EchKey
  /** Set once a newer key exists */
  retiredAt?: number
  /** Where it is persisted, when it is */
  dsKey?: Key
}

function checkDuration (value: number | undefined, fallback: number, name: string): number {
  if (value == null) { return fallback }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new EchKeyOptionsError(`${name} must be a non-negative number of ms`)
  }
  return value
}

/**
 * A node's live ECH keys: made, persisted in the libp2p datastore, rotated on a timer and expired
 * after a grace period — or, with `keys`, the application's keys used as given. The encrypter makes
 * one (`ech.keys`).
 */
export class EchKeyManager extends TypedEventEmitter<EchKeyManagerEvents> implements Startable {
  private readonly log: Logger
  private readonly store?: EchKeyStore
  private readonly static: boolean
  private readonly rotationInterval: number
  private readonly gracePeriod: number
  private readonly autoRotate: boolean
  private readonly generateOptions: EchKeyManagerInit['generate']
  private readonly provider: CryptoProvider
  private readonly namespace: string
  private readonly now: () => number
  private entries: Entry[] = []
  private started = false
  private timer?: ReturnType<typeof setTimeout>
  /** Serializes start, rotation and expiry so a timer never races a caller */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (components: EchKeyManagerComponents, init: EchKeyManagerInit = {}) {
    super()
    this.log = components.logger.forComponent('libp2p:noise-ech:keys')
    this.static = init.keys != null
    this.rotationInterval = checkDuration(init.rotationInterval, DEFAULT_ROTATION_INTERVAL, 'rotationInterval')
    this.gracePeriod = checkDuration(init.gracePeriod, DEFAULT_GRACE_PERIOD, 'gracePeriod')
    this.autoRotate = init.autoRotate ?? !this.static
    this.generateOptions = init.generate
    this.provider = init.provider ?? defaultProvider
    this.namespace = init.namespace ?? DEFAULT_KEY_NAMESPACE
    this.now = init.now ?? Date.now
    if (!this.static && components.datastore != null) {
      this.store = new EchKeyStore(components.datastore, this.namespace, this.provider, this.log)
    }
    if (init.keys != null) {
      if (init.keys.length === 0) {
        throw new EchKeyOptionsError('keys must hold at least one key')
      }
      const ids = new Set(init.keys.map(k => k.config.configId))
      if (ids.size !== init.keys.length) {
        throw new EchKeyOptionsError('keys must have distinct config ids')
      }
      this.entries = init.keys.map(key => ({ key }))
    }
  }

  /** `'libp2p-noise-ech/key-manager'` */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/key-manager'

  /** Whether `start()` ran (and `stop()` did not since) */
  isStarted (): boolean {
    return this.started
  }

  /** Load persisted keys (dropping expired ones), make a first key if there is none, start the timer */
  async start (): Promise<void> {
    if (this.started) { return }
    await this.serialize(async () => {
      // a second start() queued behind the first finds it done
      if (this.started) { return }
      if (!this.static) {
        this.entries = await this.load()
      }
      await this.expire()
      if (this.entries.length === 0 || (this.autoRotate && this.isRotationDue())) {
        await this.addKey()
      }
      this.started = true
      this.schedule()
    })
  }

  /** Stop the timer and wipe the keys this manager made or loaded (application keys are left alone) */
  async stop (): Promise<void> {
    if (!this.started) { return }
    this.started = false
    this.clearTimer()
    await this.queue
    if (!this.static) {
      for (const { key } of this.entries) {
        key.privateKey.destroy()
      }
      this.entries = []
    }
  }

  /** When the timer next rotates (ms since epoch); undefined when not started or autoRotate is off */
  getNextRotation (): number | undefined {
    if (!this.started || !this.autoRotate || this.entries.length === 0) { return undefined }
    return this.entries[0].key.createdAt + this.rotationInterval
  }

  /** When a retired key stops being accepted (ms since epoch); undefined for the current key or an unknown id */
  getKeyExpiry (configId: number): number | undefined {
    const entry = this.entries.find(e => e.key.config.configId === configId)
    return entry?.retiredAt == null ? undefined : entry.retiredAt + this.gracePeriod
  }

  /** Live keys, newest first */
  getKeys (): EchKey[] {
    this.assertUsable()
    return this.entries.map(e => e.key)
  }

  /** Every live config as one ECHConfigList (RFC 9849 §4 wire form), newest first */
  getConfigList (): Uint8Array {
    return frameConfigList(this.getKeys().map(key => key.config.raw))
  }

  /** The live key with this config_id (RFC 9849 §7.1: the server selects keys by it) */
  findByConfigId (configId: number): EchKey | undefined {
    this.assertUsable()
    return this.entries.find(e => e.key.config.configId === configId)?.key
  }

  /** Make a new key; the previous ones stay usable for the grace period */
  async rotate (): Promise<EchKey> {
    if (!this.started) { throw new EchKeyManagerNotStartedError() }
    return this.serialize(async () => {
      const key = await this.addKey()
      this.schedule()
      return key
    })
  }

  /** Drop expired keys and rotate when due; the timer runs this, tests may too */
  async maintain (): Promise<void> {
    if (!this.started) { return }
    await this.serialize(async () => {
      await this.expire()
      if (this.autoRotate && this.isRotationDue()) {
        await this.addKey()
      }
      this.schedule()
    })
  }

  private assertUsable (): void {
    if (!this.started && !this.static) { throw new EchKeyManagerNotStartedError() }
  }

  private async serialize<T> (fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn)
    this.queue = result.catch(() => {})
    return result
  }

  private isRotationDue (): boolean {
    const newest = this.entries[0]
    return newest == null || this.now() - newest.key.createdAt >= this.rotationInterval
  }

  private inherited (): Partial<GenerateEchKeyOptions> {
    const current = this.entries[0]?.key.config
    const kem = current == null ? undefined : getKem(current.kemId)
    if (current == null || kem == null) {
      return {}
    }
    return {
      kem: kem.name,
      publicName: current.publicName,
      cipherSuites: current.cipherSuites,
      maximumNameLength: current.maximumNameLength
    }
  }

  private async addKey (): Promise<EchKey> {
    const now = this.now()
    const key = await generateEchKey({
      // a rotation keeps the current key's KEM, name and suites (an X-Wing
      // node must not drop to X25519 by rotating), unless configured otherwise
      ...this.inherited(),
      ...this.generateOptions,
      provider: this.provider,
      createdAt: now,
      // RFC 9849 §4 config ids must tell live keys apart
      avoidConfigIds: this.entries.map(e => e.key.config.configId)
    })
    const entry: Entry = { key, dsKey: await this.store?.save(key) }
    const retired: number[] = []
    for (const old of this.entries) {
      if (old.retiredAt == null) {
        old.retiredAt = now
        retired.push(old.key.config.configId)
      }
    }
    this.entries.unshift(entry)
    this.log('added ECH key %d, retired %o', key.config.configId, retired)
    this.safeDispatchEvent('ech:rotated', { detail: { added: key.config.configId, retired } })
    return key
  }

  private async expire (): Promise<void> {
    const now = this.now()
    const keep: Entry[] = []
    const expired: Entry[] = []
    for (const entry of this.entries) {
      if (entry.retiredAt != null && entry.retiredAt + this.gracePeriod <= now) {
        expired.push(entry)
      } else {
        keep.push(entry)
      }
    }
    this.entries = keep
    for (const { key, dsKey } of expired) {
      key.privateKey.destroy()
      if (dsKey != null) {
        await this.store?.remove(dsKey)
      }
      this.log('ECH key %d expired', key.config.configId)
      this.safeDispatchEvent('ech:key-expired', { detail: { configId: key.config.configId, createdAt: key.createdAt } })
    }
  }

  /** Persisted keys, newest first, each retired when the next newer one was made */
  private async load (): Promise<Entry[]> {
    const stored = await this.store?.loadAll() ?? []
    return stored.map(({ key, dsKey }, i) => ({ key, dsKey, retiredAt: stored[i - 1]?.key.createdAt }))
  }

  private clearTimer (): void {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  /** Arm the timer for the next rotation or expiry, whichever comes first */
  private schedule (): void {
    this.clearTimer()
    if (!this.started) { return }
    const due: number[] = []
    if (this.autoRotate && this.entries.length > 0) {
      due.push(this.entries[0].key.createdAt + this.rotationInterval)
    }
    for (const entry of this.entries) {
      if (entry.retiredAt != null) { due.push(entry.retiredAt + this.gracePeriod) }
    }
    if (due.length === 0) { return }
    const delay = Math.min(Math.max(Math.min(...due) - this.now(), 0), MAX_TIMER_DELAY)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.maintain().catch(err => { this.log.error('ECH key maintenance failed - %e', err) })
    }, delay)
    // never keep the process alive just to rotate keys
    this.timer.unref?.()
  }
}
