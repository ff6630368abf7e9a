/**
 * Signed config records: a node's ECHConfigList sealed in a libp2p signed
 * envelope (libp2p RFC 0002, `@libp2p/peer-record` `RecordEnvelope`) by its
 * identity key. Configs that travel between peers (retry configs, config
 * exchange, HTTP) travel this way, so a receiver can check that the peer it
 * is about to dial vouched for them.
 *
 * Payload (big-endian, TLS presentation language):
 *
 * ```
 * struct {
 *   uint8  version = 1;
 *   uint64 issued_at;    // seconds since the Unix epoch
 *   uint64 expires_at;   // seconds; expires_at - issued_at <= 172800
 *   ECHConfigList config_list;  // RFC 9849 §4 wire form, with its u16 length
 * } EchConfigRecordPayload;
 * ```
 *
 * A record is good for at most 48 hours (DESIGN.md: configs are cached at
 * most 48 h), however long its signer asked for, and is refused when it was
 * issued more than `MAX_RECORD_CLOCK_SKEW_SECONDS` in the future: stores keep
 * the newest record (`PeerConfigStore.storeSignedRecord`), so a future issue
 * time would otherwise keep every honest record out until that time.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equalBytes } from '../crypto/bytes.js'
import { isWireConfigList } from './codec.js'
import type { PeerId, PrivateKey, Record } from '@libp2p/interface'

/** The envelope signature domain (libp2p RFC 0002 "domain separation string") */
export const ECH_RECORD_DOMAIN = 'libp2p-noise-ech-config'

/**
 * The envelope payload type: multicodec 0x30ec01 ("ec" for ECH) from the
 * private-use range 0x300000..0x3fffff of the multicodec table, as an
 * unsigned varint (0x30ec01 -> 81 d7 c3 01).
 */
export const ECH_RECORD_CODEC = Uint8Array.from([0x81, 0xd7, 0xc3, 0x01])

export const ECH_RECORD_VERSION = 1

/** Longest validity a record may claim and a receiver will honour: 48 hours */
export const MAX_RECORD_TTL_SECONDS = 48 * 60 * 60

/** Default validity of a new record: 24 hours, half the cap, so one refresh a day keeps it fresh */
export const DEFAULT_RECORD_TTL_SECONDS = 24 * 60 * 60

/**
 * How far in the future a record's issue time may lie (the signer's clock
 * ahead of ours): 5 minutes. Beyond it the record is refused
 * (`EchRecordNotYetValidError`); within it, a future-dated record can keep
 * newer honest ones out for at most this long.
 */
export const MAX_RECORD_CLOCK_SKEW_SECONDS = 5 * 60

const HEADER_LENGTH = 1 + 8 + 8

/** The record could not be created from these arguments */
export class EchRecordOptionsError extends Error {
  static name = 'EchRecordOptionsError'

  constructor (message = 'Invalid signed config record options', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordOptionsError'
  }
}

/** Malformed bytes, a bad signature, or the wrong domain or payload type */
export class EchRecordInvalidError extends Error {
  static name = 'EchRecordInvalidError'

  constructor (message = 'Invalid signed config record', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordInvalidError'
  }
}

/** Validly signed, but not by the peer it was expected from */
export class EchRecordSignerError extends Error {
  static name = 'EchRecordSignerError'

  constructor (message = 'Signed config record is signed by another peer', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordSignerError'
  }
}

/** The record's validity has run out */
export class EchRecordExpiredError extends Error {
  static name = 'EchRecordExpiredError'

  constructor (message = 'Signed config record has expired', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordExpiredError'
  }
}

/** Issued more than `MAX_RECORD_CLOCK_SKEW_SECONDS` after the current time */
export class EchRecordNotYetValidError extends Error {
  static name = 'EchRecordNotYetValidError'

  constructor (message = 'Signed config record is issued in the future', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordNotYetValidError'
  }
}

/**
 * Issued before the valid record already stored for the same peer: storing
 * it would roll the peer's configs back (`PeerConfigStore.storeSignedRecord`)
 */
export class EchRecordRollbackError extends Error {
  static name = 'EchRecordRollbackError'

  constructor (message = 'Signed config record is older than the one stored', options?: ErrorOptions) {
    super(message, options)
    this.name = 'EchRecordRollbackError'
  }
}

export interface EchConfigRecordInit {
  configList: Uint8Array
  /** Seconds since the Unix epoch */
  issuedAt: number
  /** Seconds since the Unix epoch */
  expiresAt: number
}

function isSeconds (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/** The `Record` a `RecordEnvelope` seals */
export class EchConfigRecord implements Record {
  readonly domain = ECH_RECORD_DOMAIN
  readonly codec = ECH_RECORD_CODEC
  readonly configList: Uint8Array
  readonly issuedAt: number
  readonly expiresAt: number

  constructor (init: EchConfigRecordInit) {
    this.configList = init.configList
    this.issuedAt = init.issuedAt
    this.expiresAt = init.expiresAt
  }

  marshal (): Uint8Array {
    const out = new Uint8Array(HEADER_LENGTH + this.configList.byteLength)
    const view = new DataView(out.buffer)
    out[0] = ECH_RECORD_VERSION
    view.setBigUint64(1, BigInt(this.issuedAt))
    view.setBigUint64(9, BigInt(this.expiresAt))
    out.set(this.configList, HEADER_LENGTH)
    return out
  }

  equals (other: Record): boolean {
    if (!(other instanceof EchConfigRecord)) { return false }
    const a = this.marshal()
    const b = other.marshal()
    return equalBytes(a, b)
  }

  /** Parse a payload; throws EchRecordInvalidError naming what is wrong */
  static unmarshal (payload: Uint8Array): EchConfigRecord {
    if (payload.byteLength < HEADER_LENGTH) {
      throw new EchRecordInvalidError('Record payload is truncated')
    }
    if (payload[0] !== ECH_RECORD_VERSION) {
      throw new EchRecordInvalidError(`Unknown record version ${payload[0]}`)
    }
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    const issuedAt = Number(view.getBigUint64(1))
    const expiresAt = Number(view.getBigUint64(9))
    if (!isSeconds(issuedAt) || !isSeconds(expiresAt) || expiresAt <= issuedAt) {
      throw new EchRecordInvalidError('Record validity period is invalid')
    }
    // copy: parsed values never alias the input
    const configList = payload.slice(HEADER_LENGTH)
    if (!isWireConfigList(configList)) {
      throw new EchRecordInvalidError('Record does not hold a wire-form ECHConfigList')
    }
    return new EchConfigRecord({ configList, issuedAt, expiresAt })
  }
}

/** Options of `createSignedConfigRecord` */
export interface CreateSignedConfigRecordOptions {
  /** Validity in seconds, 1..172800 (default 86400) */
  ttlSeconds?: number
  /** The issue time in ms since the epoch (default `Date.now()`) */
  now?: number
}

/** Seal `configList` (wire form) in an envelope signed by `privateKey` */
export async function createSignedConfigRecord (privateKey: PrivateKey, configList: Uint8Array, options: CreateSignedConfigRecordOptions = {}): Promise<Uint8Array> {
  const ttl = options.ttlSeconds ?? DEFAULT_RECORD_TTL_SECONDS
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_RECORD_TTL_SECONDS) {
    throw new EchRecordOptionsError(`ttlSeconds must be an integer 1..${MAX_RECORD_TTL_SECONDS}`)
  }
  if (!(configList instanceof Uint8Array) || !isWireConfigList(configList)) {
    throw new EchRecordOptionsError('configList must be an ECHConfigList in wire form')
  }
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000)
  const record = new EchConfigRecord({ configList: configList.slice(), issuedAt, expiresAt: issuedAt + ttl })
  const envelope = await RecordEnvelope.seal(record, privateKey)
  return envelope.marshal()
}

/** Options of `openSignedConfigRecord` */
export interface OpenSignedConfigRecordOptions {
  /** The current time in ms since the epoch (default `Date.now()`) */
  now?: number
}

/** A signed config record that verified, as `openSignedConfigRecord` returns it */
export interface OpenedConfigRecord {
  /** ECHConfigList in wire form (a copy) */
  configList: Uint8Array
  /** Seconds since the epoch */
  issuedAt: number
  /** Seconds since the epoch: the signed expiry, capped at issuedAt + 48 h */
  expiresAt: number
  /** The signer, equal to the expected peer id */
  peerId: PeerId
}

/**
 * Open a signed config record from `expectedPeerId`. It is returned only if
 * the envelope signature is valid for our domain AND the signing key is that
 * peer's identity key AND it was not issued more than
 * `MAX_RECORD_CLOCK_SKEW_SECONDS` in the future AND it has not expired.
 */
export async function openSignedConfigRecord (bytes: Uint8Array, expectedPeerId: PeerId, options: OpenSignedConfigRecordOptions = {}): Promise<OpenedConfigRecord> {
  let envelope: RecordEnvelope
  try {
    // signature is checked over (domain, payload type, payload), so a record
    // sealed for another domain fails here
    envelope = await RecordEnvelope.openAndCertify(bytes, ECH_RECORD_DOMAIN)
  } catch (err) {
    throw new EchRecordInvalidError('Signed config record is malformed or its signature is invalid', { cause: err })
  }
  const type = envelope.payloadType
  if (!equalBytes(type, ECH_RECORD_CODEC)) {
    throw new EchRecordInvalidError('Envelope does not hold an ECH config record')
  }
  // comparing peer ids (not raw public keys) also covers RSA peer ids, which
  // carry only a hash of their key
  const signer = peerIdFromPublicKey(envelope.publicKey)
  if (!signer.equals(expectedPeerId)) {
    throw new EchRecordSignerError()
  }
  const record = EchConfigRecord.unmarshal(envelope.payload)
  const expiresAt = Math.min(record.expiresAt, record.issuedAt + MAX_RECORD_TTL_SECONDS)
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000)
  if (record.issuedAt > nowSeconds + MAX_RECORD_CLOCK_SKEW_SECONDS) {
    throw new EchRecordNotYetValidError(`Signed config record is issued ${record.issuedAt - nowSeconds} s in the future (allowed: ${MAX_RECORD_CLOCK_SKEW_SECONDS} s)`)
  }
  if (nowSeconds >= expiresAt) {
    throw new EchRecordExpiredError()
  }
  return { configList: record.configList, issuedAt: record.issuedAt, expiresAt, peerId: signer }
}
