/**
 * A cheaper way for a dial to learn that its peer has no ECH config, the
 * answer almost every dial gets. `PeerConfigStore.lookup` calls it in place
 * of `readStoredConfig` (`config/peer-store.ts`).
 *
 * `@libp2p/peer-store` serves every `get` under a per-peer read lock (a
 * mortice mutex made and finalised per call when no one else holds it) and
 * decodes the whole record, each multiaddr parsed: 145–180 µs here, about 4 %
 * of a stock handshake. The record itself is one datastore value: the `Peer`
 * protobuf (`peer.proto`, metadata in field 6 as `map<string, bytes>`) under
 * `/peers/<peer id as a base32 CID>`, the persisted format every node reopens
 * its datastore with. Reading that value costs a datastore get and a scan of a
 * few hundred bytes.
 *
 * The raw value answers the two common cases. "No config": no record, or a
 * record without an `ECH_PEER_STORE_KEY` entry and without an address that
 * may carry an `/ech` component (a dial also takes configs from the peer's
 * stored `/noise/ech/…` addresses, `addressConfig` in `outbound.ts`).
 * "This config": the `ECH_PEER_STORE_KEY` and `ECH_ANNOUNCED_EXPIRY_KEY`
 * values, without the rest of the record (`PeerConfigStore.lookup` reads the
 * record itself when that config gives no offer). Both are what `get` would
 * return, decoded from the same bytes. Everything else (an `/ech` address
 * without a config, a value that does not scan, a datastore failure) is read
 * with `get` as before.
 *
 * An address may carry `/ech` when its bytes hold the varint of code 9849
 * (`F9 4C`) anywhere: every component that `@multiformats/multiaddr` parses
 * as `/ech` with a value starts with those bytes (it reads the code with
 * `varint.decode` but steps over it by the canonical length, so an overlong
 * encoding leaves the value empty). The bytes may also turn up inside
 * another component's value: that only costs the full read.
 *
 * No lock is needed for that: a datastore `put` replaces the value whole, so
 * the raw read sees it from before or after a concurrent write, as a `get`
 * begun at that moment could; a write that has resolved is always seen. So a
 * config written by any path (the application's `merge`/`patch`/`save`, retry
 * configs, the exchange service, identify, `dialWithEch`) is found by the
 * very next dial, whether or not the peer store emitted `peer:update` for it
 * (it does not for metadata merged into a known peer).
 *
 * Trusted only once proven on this store: until a record reads the same both
 * ways (found raw, same metadata keys, same config bytes, an `/ech` address
 * seen in the raw value too), every read goes
 * through `get` and is compared. This node's own record (libp2p's registrar
 * writes its protocols there at start) or any dialled peer's record proves
 * it. A store that keeps records anywhere else is never proven and is always
 * read with `get`.
 */
import { Key } from 'interface-datastore'
import { ECH_ANNOUNCED_EXPIRY_KEY, ECH_PEER_STORE_KEY, readStoredConfig } from '../config/peer-store.js'
import { equalBytes } from '../crypto/bytes.js'
import { CODE_ECH } from '../multiaddr/ech.js'
import { Reader } from '../noise/payload.js'
import type { StoredConfig } from '../config/peer-store.js'
import type { Logger, Peer, PeerId, PeerStore } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** `peer.proto`: `repeated Address addresses = 1`, each `{ bytes multiaddr = 1, … }` */
const FIELD_ADDRESSES = 1
const ADDRESS_MULTIADDR = 1
/** The unsigned-varint of `CODE_ECH` (9849), as a multiaddr's bytes start an `/ech` component */
const ECH_CODE_BYTES = Uint8Array.of((CODE_ECH & 0x7f) | 0x80, CODE_ECH >> 7)
/** `peer.proto`: `map<string, bytes> metadata = 6`, each entry `{ key = 1, value = 2 }` */
const FIELD_METADATA = 6
const ENTRY_KEY = 1
const ENTRY_VALUE = 2
/** `@libp2p/peer-store` `NAMESPACE_COMMON` */
const PEERS_PREFIX = '/peers/'
const ECH_KEY_BYTES = new TextEncoder().encode(ECH_PEER_STORE_KEY)
const EXPIRY_KEY_BYTES = new TextEncoder().encode(ECH_ANNOUNCED_EXPIRY_KEY)
const decoder = new TextDecoder()

export interface PeerStoreReadInit {
  peerStore: PeerStore
  /** The datastore the peer store keeps its records in (libp2p gives both from the same components) */
  datastore: Datastore
  /** This node's peer id: its own record proves the layout */
  localPeer: PeerId
  log: Logger
}

/** Not in the datastore */
const ABSENT = Symbol('absent')

/** Keys of recently dialled peers: the base32 CID costs more than the read itself */
const KEY_CACHE_SIZE = 1024

/**
 * A peer's datastore key, and whether its record was missing last time: then
 * `has` asks first, since a missing key makes `get` throw (an error with a
 * stack trace, ~9 µs); the answer itself is never cached
 */
interface RecordKey { key: Key, absent: boolean }

/** The datastore key `@libp2p/peer-store` keeps `peer` under (`peerIdToDatastoreKey`) */
export function peerRecordKey (peer: PeerId): Key {
  return new Key(`${PEERS_PREFIX}${peer.toCID().toString()}`)
}

/** The metadata entries of a stored `Peer` record, keys decoded; throws `ProtobufDecodeError` */
export function recordMetadata (record: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  const r = new Reader(record)
  while (!r.done()) {
    const f = r.field()
    if (f.number === FIELD_METADATA && f.bytes != null) {
      const entry = metadataEntry(f.bytes)
      out.set(decoder.decode(entry.key), entry.value)
    }
  }
  return out
}

/** What a scan of a stored `Peer` record found */
export interface ScannedRecord {
  /** The `ECH_PEER_STORE_KEY` value (a copy) */
  value?: Uint8Array
  /** The `ECH_ANNOUNCED_EXPIRY_KEY` value (a copy) */
  announcedExpiry?: Uint8Array
  /** Some address holds the code of `/ech` (it may carry a config) */
  echAddress: boolean
}

/**
 * The config entries of a stored `Peer` record and whether an address may
 * carry `/ech`; a repeated map key keeps its last value, as protobuf map
 * decoding (and so `get`) does. Throws `ProtobufDecodeError`
 */
export function scanRecord (record: Uint8Array): ScannedRecord {
  const out: ScannedRecord = { echAddress: false }
  const r = new Reader(record)
  while (!r.done()) {
    const f = r.field()
    if (f.bytes == null) { continue }
    if (f.number === FIELD_METADATA) {
      const entry = metadataEntry(f.bytes)
      if (equalBytes(entry.key, ECH_KEY_BYTES)) { out.value = entry.value.slice() }
      if (equalBytes(entry.key, EXPIRY_KEY_BYTES)) { out.announcedExpiry = entry.value.slice() }
    }
    if (f.number === FIELD_ADDRESSES && !out.echAddress) { out.echAddress = mayHoldEch(addressBytes(f.bytes)) }
  }
  return out
}

/** The `multiaddr` field of a stored `Address` */
function addressBytes (bytes: Uint8Array): Uint8Array {
  let out: Uint8Array = new Uint8Array(0)
  const r = new Reader(bytes)
  while (!r.done()) {
    const f = r.field()
    if (f.number === ADDRESS_MULTIADDR && f.bytes != null) { out = f.bytes }
  }
  return out
}

/** Whether multiaddr bytes hold the code of `/ech` anywhere (a superset of the addresses that carry one) */
function mayHoldEch (ma: Uint8Array): boolean {
  for (let i = ma.indexOf(ECH_CODE_BYTES[0]); i >= 0 && i + 1 < ma.byteLength; i = ma.indexOf(ECH_CODE_BYTES[0], i + 1)) {
    if (ma[i + 1] === ECH_CODE_BYTES[1]) { return true }
  }
  return false
}

function metadataEntry (bytes: Uint8Array): { key: Uint8Array, value: Uint8Array } {
  let key: Uint8Array = new Uint8Array(0)
  let value: Uint8Array = new Uint8Array(0)
  const r = new Reader(bytes)
  while (!r.done()) {
    const f = r.field()
    if (f.number === ENTRY_KEY && f.bytes != null) { key = f.bytes }
    if (f.number === ENTRY_VALUE && f.bytes != null) { value = f.bytes }
  }
  return { key, value }
}

export class PeerStoreConfigReader {
  private readonly init: PeerStoreReadInit
  private proven = false
  private readonly keys = new Map<string, RecordKey>()

  constructor (init: PeerStoreReadInit) {
    this.init = init
  }

  /** Whether the datastore's records have been seen to match the peer store's (then "no config" is read there) */
  isProven (): boolean {
    return this.proven
  }

  /**
   * What `readStoredConfig` returns, except that the record is left out of a
   * peer with a config, and of one with neither a config nor an address that
   * may carry one
   */
  async read (peer: PeerId): Promise<StoredConfig> {
    if (!this.proven) {
      return this.readAndProve(peer)
    }
    const raw = await this.raw(peer)
    if (raw === ABSENT) {
      return {}
    }
    const scanned = raw == null ? undefined : scan(raw)
    if (scanned?.value != null) {
      return { value: scanned.value, announcedExpiry: scanned.announcedExpiry }
    }
    if (scanned != null && !scanned.echAddress) {
      return {}
    }
    return readStoredConfig(this.init.peerStore, peer)
  }

  /** `get`, compared with the raw value; this node's own record is tried too */
  private async readAndProve (peer: PeerId): Promise<StoredConfig> {
    const current = await readStoredConfig(this.init.peerStore, peer)
    if (current.record != null) {
      this.prove(await this.raw(peer), current.record)
    }
    if (!this.proven && !peer.equals(this.init.localPeer)) {
      const own = await this.raw(this.init.localPeer)
      if (own !== ABSENT && own != null) {
        const record = (await readStoredConfig(this.init.peerStore, this.init.localPeer)).record
        if (record != null) { this.prove(own, record) }
      }
    }
    return current
  }

  private prove (raw: Uint8Array | typeof ABSENT | undefined, record: Peer): void {
    if (raw === ABSENT || raw == null) { return }
    let scanned: Map<string, Uint8Array>
    try {
      scanned = recordMetadata(raw)
    } catch {
      return
    }
    const same = scanned.size === record.metadata.size &&
      [...record.metadata].every(([key, value]) => scanned.has(key) && (key !== ECH_PEER_STORE_KEY || equalBytes(scanned.get(key) ?? new Uint8Array(0), value)))
    const echAddress = record.addresses.some(a => a.multiaddr.getComponents().some(c => c.code === CODE_ECH))
    if (same && (!echAddress || scan(raw)?.echAddress === true)) {
      this.proven = true
      this.init.log.trace('peer records read from the datastore match the peer store: no-config lookups skip its read lock')
    }
  }

  private keyOf (peer: PeerId): RecordKey {
    const id = peer.toString()
    let entry = this.keys.get(id)
    if (entry == null) {
      entry = { key: peerRecordKey(peer), absent: false }
      if (this.keys.size >= KEY_CACHE_SIZE) { this.keys.clear() }
      this.keys.set(id, entry)
    }
    return entry
  }

  /** The stored record, `ABSENT` when there is none, undefined when the datastore failed */
  private async raw (peer: PeerId): Promise<Uint8Array | typeof ABSENT | undefined> {
    const entry = this.keyOf(peer)
    try {
      if (entry.absent && !await this.init.datastore.has(entry.key)) {
        return ABSENT
      }
      const value = await this.init.datastore.get(entry.key)
      entry.absent = false
      return value
    } catch (err: any) {
      if (err?.name !== 'NotFoundError') { return undefined }
      entry.absent = true
      return ABSENT
    }
  }
}

/** The scanned record, or undefined when it does not scan (then the peer store decides) */
function scan (raw: Uint8Array): ScannedRecord | undefined {
  try {
    return scanRecord(raw)
  } catch {
    return undefined
  }
}
