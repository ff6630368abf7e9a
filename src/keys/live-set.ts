/**
 * The key manager's live set as data: when each key stops being accepted,
 * which keys have expired at a moment, and which the cap retires early.
 *
 * Everything that carries the live set has a size, so the set is capped by
 * count and by encoded size, whatever the KEM. `config_id` is a uint8 (RFC
 * 9849 §4): at most 256 keys can be told apart, and a rotation needs one
 * free id. The ECHConfigList has a u16 length (RFC 9849 §4), and it travels
 * as retry configs inside a signed record in Noise message 2, itself at
 * most 65535 bytes beside the identity payload; an X-Wing config is
 * ~1.25 kB, so about 50 of them already overflow the list.
 */
import { EchKeyOptionsError } from './errors.js'
import type { EchKey } from './generate.js'
import type { StoredKey } from './key-store.js'
import type { Key } from 'interface-datastore'

/** Default `maxLiveKeys`: the current key, plus room for several rotations inside one grace period */
export const DEFAULT_MAX_LIVE_KEYS = 8

/** Largest `maxLiveKeys`: one of the 256 config ids must stay free for the next rotation */
export const MAX_LIVE_KEYS = 255

/**
 * Largest live ECHConfigList, wire form, u16 prefix included: half a Noise
 * message, so the signed record that carries it fits in message 2 beside
 * any identity key, signature and extensions (an RSA-4096 identity adds
 * about 2 kB, once in the payload and once in the envelope)
 */
export const MAX_CONFIG_LIST_BYTES = 32_768

/** One live key and its schedule */
export interface LiveEntry {
  key: EchKey
  /** Set once a newer key exists */
  retiredAt?: number
  /** An explicit expiry, set by `rotate({ gracePeriod })` and persisted; else `retiredAt + gracePeriod` */
  expiresAt?: number
  /** Where it is persisted, when it is */
  dsKey?: Key
}

/** When the key stops being accepted (ms since the epoch); undefined while it is current */
export function expiryOf (entry: LiveEntry, gracePeriod: number): number | undefined {
  if (entry.retiredAt == null) { return undefined }
  return entry.expiresAt ?? entry.retiredAt + gracePeriod
}

/** The earliest expiry among the entries and `also` (ms since the epoch); undefined when there is none */
export function nextDue (entries: readonly LiveEntry[], gracePeriod: number, also?: number): number | undefined {
  let due = also
  for (const entry of entries) {
    const expiry = expiryOf(entry, gracePeriod)
    if (expiry != null && (due == null || expiry < due)) { due = expiry }
  }
  return due
}

/** Keys read back from the datastore (newest first) as live entries, each retired when the next newer one was made */
export function fromStored (stored: readonly StoredKey[]): LiveEntry[] {
  return stored.map(({ key, dsKey, expiresAt }, i) => {
    const retiredAt = stored[i - 1]?.key.createdAt
    // an explicit expiry means something only for a retired key
    return retiredAt != null && expiresAt != null ? { key, dsKey, retiredAt, expiresAt } : { key, dsKey, retiredAt }
  })
}

/** Bytes of the wire-form ECHConfigList of these keys (RFC 9849 §4: u16 length, then each config) */
export function listBytes (entries: readonly LiveEntry[]): number {
  return entries.reduce((sum, e) => sum + e.key.config.raw.byteLength, 2)
}

export interface Split {
  keep: LiveEntry[]
  dropped: LiveEntry[]
}

/** The entries whose expiry is at or before `now`, and the rest, each in order */
export function splitExpired (entries: readonly LiveEntry[], now: number, gracePeriod: number): Split {
  const split: Split = { keep: [], dropped: [] }
  for (const entry of entries) {
    const expiry = expiryOf(entry, gracePeriod)
    const list = expiry != null && expiry <= now ? split.dropped : split.keep
    list.push(entry)
  }
  return split
}

/**
 * The entries (newest first) over the cap, oldest first to go; the newest
 * key always stays
 */
export function splitOverCap (entries: readonly LiveEntry[], maxKeys: number, maxBytes: number): Split {
  const keep = [...entries]
  const dropped: LiveEntry[] = []
  let bytes = listBytes(keep)
  while (keep.length > 1 && (keep.length > maxKeys || bytes > maxBytes)) {
    const entry = keep.pop() as LiveEntry
    bytes -= entry.key.config.raw.byteLength
    dropped.push(entry)
  }
  return { keep, dropped }
}

/**
 * Retire the current key(s) at `now`. With `gracePeriod`, the key(s)
 * retired now expire exactly `gracePeriod` later and no earlier-retired key
 * outlives that. Returns the ids retired now and the entries whose explicit
 * expiry changed (to persist).
 */
export function retireAt (entries: readonly LiveEntry[], now: number, configuredGrace: number, gracePeriod?: number): { retired: number[], changed: LiveEntry[] } {
  const retired: number[] = []
  const changed: LiveEntry[] = []
  for (const entry of entries) {
    const current = entry.retiredAt == null
    if (current) {
      entry.retiredAt = now
      retired.push(entry.key.config.configId)
    }
    if (gracePeriod == null) { continue }
    const end = now + gracePeriod
    if (current || (expiryOf(entry, configuredGrace) ?? Infinity) > end) {
      entry.expiresAt = end
      changed.push(entry)
    }
  }
  return { retired, changed }
}

/** Application keys as live entries: at least one, distinct ids, within the cap */
export function checkKeys (keys: readonly EchKey[], maxLiveKeys: number): LiveEntry[] {
  if (keys.length === 0) {
    throw new EchKeyOptionsError('keys must hold at least one key')
  }
  if (new Set(keys.map(k => k.config.configId)).size !== keys.length) {
    throw new EchKeyOptionsError('keys must have distinct config ids')
  }
  const entries = keys.map(key => ({ key }))
  if (keys.length > maxLiveKeys || listBytes(entries) > MAX_CONFIG_LIST_BYTES) {
    throw new EchKeyOptionsError(`keys must be at most maxLiveKeys (${maxLiveKeys}) keys whose config list fits ${MAX_CONFIG_LIST_BYTES} bytes`)
  }
  return entries
}

/** `maxLiveKeys`, checked */
export function checkMaxLiveKeys (value: number | undefined): number {
  if (value == null) { return DEFAULT_MAX_LIVE_KEYS }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIVE_KEYS) {
    throw new EchKeyOptionsError(`maxLiveKeys must be an integer 1..${MAX_LIVE_KEYS}`)
  }
  return value
}

/** A duration option in ms, checked */
export function checkDuration (value: number | undefined, fallback: number, name: string): number {
  if (value == null) { return fallback }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new EchKeyOptionsError(`${name} must be a non-negative number of ms`)
  }
  return value
}
