/**
 * `GET /.well-known/libp2p-noise-ech`: the node's live ECH configs and its
 * signed config record, public, cacheable for no longer than they stay true.
 *
 * `max-age` is the least of: the record's remaining validity, the time to
 * the key manager's next scheduled rotation (when it tells), and a cap
 * (default 1 h). After a rotation the old key stays accepted for the grace
 * period (days), so a response cached up to the cap still works; the cap
 * keeps the new key from waiting long to be seen.
 *
 * The ETag is a hash of the config list AND the record. An ETag over the
 * list alone would let a 304 renew a cached record that is about to expire
 * (the record is re-signed daily while the list stays the same).
 */
import { createHash } from 'node:crypto'
import { encodeBase64 } from '../config/base64.js'
import { openSignedConfigRecord } from '../config/record.js'
import type { WellKnownDocument } from './types.js'
import type { OpenedConfigRecord } from '../config/record.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { PeerId } from '@libp2p/interface'

/**
 * `/.well-known/libp2p-noise-ech`: where the gateway serves the node's
 * configs and signed record (`WellKnownDocument`) to anyone, without
 * credentials, with `ETag`, `Cache-Control: max-age` and CORS open to every
 * origin
 */
export const WELL_KNOWN_PATH = '/.well-known/libp2p-noise-ech'

/**
 * What the gateway would like from the key manager (see the report on
 * `getNextRotation`/`getKeyExpiry`); used only when present.
 */
export interface KeySchedule {
  /** When the next automatic rotation is due, ms since the epoch; undefined when none is scheduled */
  getNextRotation?(): number | undefined
  /** When a retired key stops being accepted, ms since the epoch; undefined for the current key */
  getKeyExpiry?(configId: number): number | undefined
}

export interface WellKnownResponse {
  document: WellKnownDocument
  etag: string
  maxAgeSeconds: number
}

export class WellKnown {
  private readonly encrypter: EchNoise
  private readonly peerId: PeerId
  private readonly now: () => number
  private readonly maxAgeSeconds: number
  /** The encrypter returns the same record bytes until it re-signs: verify each once */
  private readonly opened = new WeakMap<Uint8Array, OpenedConfigRecord>()

  constructor (init: { encrypter: EchNoise, peerId: PeerId, now(): number, maxAgeSeconds: number }) {
    this.encrypter = init.encrypter
    this.peerId = init.peerId
    this.now = init.now
    this.maxAgeSeconds = init.maxAgeSeconds
  }

  async build (): Promise<WellKnownResponse> {
    const configList = this.encrypter.getEchConfigList()
    const record = await this.encrypter.getSignedConfigRecord()
    const opened = await this.open(record)
    const now = this.now()

    const limits = [this.maxAgeSeconds * 1000, opened.expiresAt * 1000 - now]
    const nextRotation = nextRotationOf(this.encrypter.keys)
    if (nextRotation != null) { limits.push(nextRotation - now) }
    const maxAgeSeconds = Math.max(0, Math.floor(Math.min(...limits) / 1000))

    const etag = `"${createHash('sha256').update(configList).update(record).digest('base64url').slice(0, 32)}"`
    return {
      document: {
        peerId: this.peerId.toString(),
        configList: encodeBase64(configList),
        record: encodeBase64(record),
        expires: new Date(opened.expiresAt * 1000).toISOString()
      },
      etag,
      maxAgeSeconds
    }
  }

  private async open (record: Uint8Array): Promise<OpenedConfigRecord> {
    let opened = this.opened.get(record)
    if (opened == null) {
      // our own record: signed by our key, so this only reads its validity
      opened = await openSignedConfigRecord(record, this.peerId, { now: this.now() })
      this.opened.set(record, opened)
    }
    return opened
  }
}

export function nextRotationOf (keys: object): number | undefined {
  const schedule = keys as KeySchedule
  if (typeof schedule.getNextRotation !== 'function') { return undefined }
  const next = schedule.getNextRotation()
  return typeof next === 'number' && Number.isFinite(next) ? next : undefined
}

/** RFC 9110 §13.1.2: `*`, or any listed entity tag equal under weak comparison */
export function matchesIfNoneMatch (header: string | undefined, etag: string): boolean {
  if (header == null) { return false }
  if (header.trim() === '*') { return true }
  const opaque = etag.replace(/^W\//, '')
  return header.split(',').some(tag => tag.trim().replace(/^W\//, '') === opaque)
}
