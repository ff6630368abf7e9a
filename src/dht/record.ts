/**
 * The validator and selector kad-dht runs on ECH config records
 * (libp2p kad-dht spec, "Validation": every record is validated when it is
 * stored and when it is received; a selector picks one when a lookup finds
 * several).
 *
 * Validator: the value must be a signed config record (`config/record.ts`)
 * signed by the peer the key names, not expired and not issued more than
 * `MAX_RECORD_CLOCK_SKEW_SECONDS` in the future, holding an ECHConfigList
 * that parses. Any DHT server that stores or returns a record, and every
 * reader, checks this, so no peer can publish configs for another.
 *
 * Selector: newest issue time wins; then the later expiry; then the larger
 * bytes, so that every node picks the same record out of the same set and
 * kad-dht's correction of out-of-date holders converges.
 */
import { parseEchConfigList } from '../config/codec.js'
import { openSignedConfigRecord } from '../config/record.js'
import { EchDhtRecordTooLargeError } from './errors.js'
import { ECH_DHT_NAMESPACE, peerIdFromEchDhtKey } from './key.js'
import type { OpenedConfigRecord } from '../config/record.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * The largest record a validator accepts, bytes: the config exchange's read
 * limit (a record of two X-Wing configs is about 3 KiB)
 */
export const MAX_DHT_RECORD_SIZE = 16 * 1024

/** Options of the validator (the clock, for tests) */
export interface EchDhtValidateOptions extends AbortOptions {
  /** The current time, ms since the epoch (default `Date.now()`) */
  now?: number
}

/**
 * kad-dht validator of `/noise-ech/` records. Resolves with the opened
 * record; throws `EchDhtKeyError`, `EchDhtRecordTooLargeError`, the
 * record's verification error, or `EchConfigError` for configs that do not
 * parse.
 */
export async function validateEchDhtRecord (key: Uint8Array, value: Uint8Array, options: EchDhtValidateOptions = {}): Promise<OpenedConfigRecord> {
  const peer = peerIdFromEchDhtKey(key)
  if (!(value instanceof Uint8Array) || value.byteLength > MAX_DHT_RECORD_SIZE) {
    throw new EchDhtRecordTooLargeError(`ECH config record is over ${MAX_DHT_RECORD_SIZE} bytes`)
  }
  options.signal?.throwIfAborted()
  const opened = await openSignedConfigRecord(value, peer, { now: options.now })
  parseEchConfigList(opened.configList)
  return opened
}

/**
 * kad-dht selector of `/noise-ech/` records: the index of the newest among
 * `records`. Records that do not validate lose to any that does (kad-dht
 * validates before selecting; this holds for any caller).
 */
export async function selectEchDhtRecord (key: Uint8Array, records: Uint8Array[], options: EchDhtValidateOptions = {}): Promise<number> {
  let best = -1
  let bestOpened: OpenedConfigRecord | undefined
  for (let i = 0; i < records.length; i++) {
    let opened: OpenedConfigRecord
    try {
      opened = await validateEchDhtRecord(key, records[i], options)
    } catch {
      continue
    }
    if (bestOpened == null || isNewer(opened, records[i], bestOpened, records[best])) {
      best = i
      bestOpened = opened
    }
  }
  return Math.max(best, 0)
}

function isNewer (a: OpenedConfigRecord, aBytes: Uint8Array, b: OpenedConfigRecord, bBytes: Uint8Array): boolean {
  if (a.issuedAt !== b.issuedAt) { return a.issuedAt > b.issuedAt }
  if (a.expiresAt !== b.expiresAt) { return a.expiresAt > b.expiresAt }
  return compareBytes(aBytes, bBytes) > 0
}

/** Lexicographic order of two byte strings (a shorter prefix sorts first) */
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) { return a[i] - b[i] }
  }
  return a.byteLength - b.byteLength
}

/**
 * Spread into kad-dht's `validators`: `kadDHT({ validators: { ...echDhtValidators } })`.
 * Every node that stores or reads ECH config records needs it (kad-dht
 * discards records of a namespace it has no validator for).
 */
export const echDhtValidators: Record<string, (key: Uint8Array, value: Uint8Array, options?: AbortOptions) => Promise<void>> = {
  [ECH_DHT_NAMESPACE]: async (key, value, options) => { await validateEchDhtRecord(key, value, options) }
}

/** Spread into kad-dht's `selectors`: `kadDHT({ selectors: { ...echDhtSelectors } })` */
export const echDhtSelectors: Record<string, (key: Uint8Array, records: Uint8Array[]) => Promise<number>> = {
  [ECH_DHT_NAMESPACE]: async (key, records) => selectEchDhtRecord(key, records)
}
