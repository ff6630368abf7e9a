import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { expect } from 'aegir/chai'
import { encodeEchConfigList } from '../../src/config/codec.js'
import { createEchConfig } from '../../src/config/create.js'
import { ECH_PEER_STORE_KEY, PeerConfigStore } from '../../src/config/peer-store.js'
import {
  DEFAULT_RECORD_TTL_SECONDS, ECH_RECORD_CODEC, ECH_RECORD_DOMAIN, EchConfigRecord, MAX_RECORD_CLOCK_SKEW_SECONDS, MAX_RECORD_TTL_SECONDS,
  createSignedConfigRecord, openSignedConfigRecord
} from '../../src/config/record.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { rejection } from '../fixtures/errors.js'
import { memoryPeerStore } from '../fixtures/peer-store.js'
import type { PeerId, PeerStore, PrivateKey, Record as EnvelopeRecord } from '@libp2p/interface'

const NOW = Date.UTC(2025, 0, 1)
const NOW_S = NOW / 1000

function configList (): Uint8Array {
  const config = createEchConfig({
    configId: 7,
    kemId: 0x0020,
    publicKey: new Uint8Array(32).fill(9),
    cipherSuites: [{ kdfId: 1, aeadId: 1 }],
    publicName: 'example.invalid'
  })
  return encodeEchConfigList([config])
}

/** A record of our payload type and any domain, for envelopes we must refuse */
class OtherRecord implements EnvelopeRecord {
  constructor (readonly domain: string, readonly codec: Uint8Array, private readonly payload: Uint8Array) {}
  marshal (): Uint8Array { return this.payload }
  equals (): boolean { return false }
}

describe('config/record', () => {
  let key: PrivateKey
  let other: PrivateKey

  before(async () => {
    key = await generateKeyPair('Ed25519')
    other = await generateKeyPair('Ed25519')
  })

  it('round-trips the config list with issue and expiry times', async () => {
    const list = configList()
    const bytes = await createSignedConfigRecord(key, list, { now: NOW })
    const opened = await openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW + 1000 })
    expect(opened.configList).to.equalBytes(list)
    expect(opened.issuedAt).to.equal(NOW_S)
    expect(opened.expiresAt).to.equal(NOW_S + DEFAULT_RECORD_TTL_SECONDS)
    expect(opened.peerId.equals(peerIdFromPrivateKey(key))).to.be.true()
  })

  it('uses the current time by default', async () => {
    const bytes = await createSignedConfigRecord(key, configList(), { ttlSeconds: 60 })
    const opened = await openSignedConfigRecord(bytes, peerIdFromPrivateKey(key))
    expect(Math.abs(opened.issuedAt - Date.now() / 1000)).to.be.lessThan(5)
    expect(opened.expiresAt - opened.issuedAt).to.equal(60)
  })

  it('works with a secp256k1 identity', async () => {
    const secp = await generateKeyPair('secp256k1')
    const bytes = await createSignedConfigRecord(secp, configList(), { now: NOW })
    const opened = await openSignedConfigRecord(bytes, peerIdFromPrivateKey(secp), { now: NOW })
    expect(opened.configList).to.equalBytes(configList())
  })

  it('refuses a record signed by another peer', async () => {
    const bytes = await createSignedConfigRecord(other, configList(), { now: NOW })
    const err = await rejection(openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW }))
    expect(err.name).to.equal('EchRecordSignerError')
  })

  it('refuses tampered bytes', async () => {
    const bytes = await createSignedConfigRecord(key, configList(), { now: NOW })
    // the config list sits at the end of the payload, just before the signature
    for (const index of [bytes.length - 70, bytes.length - 1, 40]) {
      const tampered = bytes.slice()
      tampered[index] ^= 0x01
      const err = await rejection(openSignedConfigRecord(tampered, peerIdFromPrivateKey(key), { now: NOW }))
      expect(err.name).to.equal('EchRecordInvalidError', `flipping byte ${index}`)
    }
  })

  it('refuses malformed bytes', async () => {
    for (const junk of [new Uint8Array(0), Uint8Array.from([0xff, 0xff, 0xff]), new Uint8Array(100).fill(7)]) {
      const err = await rejection(openSignedConfigRecord(junk, peerIdFromPrivateKey(key), { now: NOW }))
      expect(err.name).to.equal('EchRecordInvalidError')
    }
  })

  it('refuses an envelope sealed for another domain', async () => {
    const payload = new EchConfigRecord({ configList: configList(), issuedAt: NOW_S, expiresAt: NOW_S + 60 }).marshal()
    const envelope = await RecordEnvelope.seal(new OtherRecord('libp2p-peer-record', ECH_RECORD_CODEC, payload), key)
    const err = await rejection(openSignedConfigRecord(envelope.marshal(), peerIdFromPrivateKey(key), { now: NOW }))
    expect(err.name).to.equal('EchRecordInvalidError')
  })

  it('refuses an envelope of another payload type', async () => {
    const payload = new EchConfigRecord({ configList: configList(), issuedAt: NOW_S, expiresAt: NOW_S + 60 }).marshal()
    const envelope = await RecordEnvelope.seal(new OtherRecord(ECH_RECORD_DOMAIN, Uint8Array.from([0x03, 0x01]), payload), key)
    const err = await rejection(openSignedConfigRecord(envelope.marshal(), peerIdFromPrivateKey(key), { now: NOW }))
    expect(err.name).to.equal('EchRecordInvalidError')
  })

  it('refuses validly signed payloads that are malformed', async () => {
    const good = new EchConfigRecord({ configList: configList(), issuedAt: NOW_S, expiresAt: NOW_S + 60 }).marshal()
    const badVersion = good.slice()
    badVersion[0] = 2
    const badList = good.slice(0, good.length - 1)
    const backwards = new EchConfigRecord({ configList: configList(), issuedAt: NOW_S, expiresAt: NOW_S }).marshal()
    const huge = good.slice()
    huge.fill(0xff, 9, 17)
    const cases: Record<string, Uint8Array> = { truncated: good.slice(0, 10), badVersion, badList, backwards, huge }
    for (const [name, payload] of Object.entries(cases)) {
      const envelope = await RecordEnvelope.seal(new OtherRecord(ECH_RECORD_DOMAIN, ECH_RECORD_CODEC, payload), key)
      const err = await rejection(openSignedConfigRecord(envelope.marshal(), peerIdFromPrivateKey(key), { now: NOW }))
      expect(err.name).to.equal('EchRecordInvalidError', name)
    }
  })

  it('refuses an expired record', async () => {
    const bytes = await createSignedConfigRecord(key, configList(), { now: NOW, ttlSeconds: 60 })
    await openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW + 59_000 })
    const err = await rejection(openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW + 60_000 }))
    expect(err.name).to.equal('EchRecordExpiredError')
  })

  it('refuses a record issued beyond the clock-skew allowance (EchRecordNotYetValidError); one within it opens', async () => {
    const skew = MAX_RECORD_CLOCK_SKEW_SECONDS * 1000
    const ahead = await createSignedConfigRecord(key, configList(), { now: NOW + skew + 1000 })
    const err = await rejection(openSignedConfigRecord(ahead, peerIdFromPrivateKey(key), { now: NOW }))
    expect(err.name).to.equal('EchRecordNotYetValidError')
    const slightly = await createSignedConfigRecord(key, configList(), { now: NOW + skew })
    expect((await openSignedConfigRecord(slightly, peerIdFromPrivateKey(key), { now: NOW })).issuedAt).to.equal(NOW_S + MAX_RECORD_CLOCK_SKEW_SECONDS)
    // a record issued years ahead with a short signed validity is refused too, not "valid until then"
    const far = await createSignedConfigRecord(key, configList(), { now: NOW + 365 * 86400_000, ttlSeconds: 60 })
    expect((await rejection(openSignedConfigRecord(far, peerIdFromPrivateKey(key), { now: NOW }))).name).to.equal('EchRecordNotYetValidError')
  })

  it('caps a signed validity longer than 48 hours', async () => {
    const record = new EchConfigRecord({ configList: configList(), issuedAt: NOW_S, expiresAt: NOW_S + 365 * 86400 })
    const bytes = (await RecordEnvelope.seal(record, key)).marshal()
    const opened = await openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW })
    expect(opened.expiresAt).to.equal(NOW_S + MAX_RECORD_TTL_SECONDS)
    const err = await rejection(openSignedConfigRecord(bytes, peerIdFromPrivateKey(key), { now: NOW + MAX_RECORD_TTL_SECONDS * 1000 }))
    expect(err.name).to.equal('EchRecordExpiredError')
  })

  it('refuses bad creation options', async () => {
    for (const ttlSeconds of [0, -1, 1.5, MAX_RECORD_TTL_SECONDS + 1]) {
      const err = await rejection(createSignedConfigRecord(key, configList(), { ttlSeconds }))
      expect(err.name).to.equal('EchRecordOptionsError', `ttl ${ttlSeconds}`)
    }
    for (const list of [new Uint8Array(0), Uint8Array.from([0, 5, 1]), 'abc' as any]) {
      const err = await rejection(createSignedConfigRecord(key, list))
      expect(err.name).to.equal('EchRecordOptionsError')
    }
  })

  it('compares records by content', () => {
    const a = new EchConfigRecord({ configList: configList(), issuedAt: 1, expiresAt: 2 })
    const b = new EchConfigRecord({ configList: configList(), issuedAt: 1, expiresAt: 2 })
    const c = new EchConfigRecord({ configList: configList(), issuedAt: 1, expiresAt: 3 })
    expect(a.equals(b)).to.be.true()
    expect(a.equals(c)).to.be.false()
    expect(a.equals(new OtherRecord(ECH_RECORD_DOMAIN, ECH_RECORD_CODEC, a.marshal()))).to.be.false()
    expect(EchConfigRecord.unmarshal(a.marshal()).equals(a)).to.be.true()
  })
})

/**
 * The one freshness rule for signed records, applied where every path
 * (retry configs, config exchange, HTTP, `importSignedConfigRecord`) stores
 * one: the newest issue time wins, an equal one is a no-op, an older one is
 * refused with EchRecordRollbackError. Only a stored record that still
 * verifies takes part: an expired or unusable value never blocks a valid one.
 */
describe('config/record: freshness rule (PeerConfigStore.storeSignedRecord)', () => {
  const HOUR = 60 * 60 * 1000
  let key: PrivateKey
  let peer: PeerId
  let peerStore: PeerStore
  let store: PeerConfigStore
  let now: number

  beforeEach(async () => {
    key = await generateKeyPair('Ed25519')
    peer = peerIdFromPrivateKey(key)
    peerStore = await memoryPeerStore()
    now = NOW
    store = new PeerConfigStore({ peerStore, provider: nodeProvider, log: defaultLogger().forComponent('test:record'), now: () => now })
  })

  const stored = async (): Promise<Uint8Array | undefined> => (await peerStore.get(peer)).metadata.get(ECH_PEER_STORE_KEY)
  const record = async (at: number, ttlSeconds?: number): Promise<Uint8Array> => createSignedConfigRecord(key, configList(), { now: at, ttlSeconds })

  it('a newer record replaces an older one; an older one is refused (EchRecordRollbackError) and the newer kept', async () => {
    const older = await record(NOW - HOUR)
    const newer = await record(NOW)
    await store.storeSignedRecord(peer, older)
    await store.storeSignedRecord(peer, newer)
    expect(await stored()).to.equalBytes(newer)
    const err = await rejection(store.storeSignedRecord(peer, older))
    expect(err.name).to.equal('EchRecordRollbackError')
    expect(await stored()).to.equalBytes(newer)
  })

  it('the same record again is a no-op; another record of the same second replaces it (a rotation re-signs at once)', async () => {
    const first = await record(NOW)
    const rotated = await createSignedConfigRecord(key, encodeEchConfigList([createEchConfig({
      configId: 8, kemId: 0x0020, publicKey: new Uint8Array(32).fill(5), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'example.invalid'
    })]), { now: NOW + 999 })
    await store.storeSignedRecord(peer, first)
    expect(await store.storeSignedRecord(peer, first)).to.include({ stored: false, reason: 'same-record' })
    expect(await store.storeSignedRecord(peer, rotated)).to.include({ stored: true })
    expect(await stored()).to.equalBytes(rotated)
  })

  it('an expired stored record, even one issued later, does not block a valid one', async () => {
    const expired = await record(NOW - HOUR, 60)
    await peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: expired } })
    const valid = await record(NOW - 2 * HOUR)
    await store.storeSignedRecord(peer, valid)
    expect(await stored()).to.equalBytes(valid)
  })

  it('a record issued in the future is refused, so it cannot pin the stored value', async () => {
    const future = await record(NOW + 24 * HOUR)
    expect((await rejection(store.storeSignedRecord(peer, future))).name).to.equal('EchRecordNotYetValidError')
    const current = await record(NOW)
    await store.storeSignedRecord(peer, current)
    expect(await stored()).to.equalBytes(current)
  })

  it('concurrent stores end with the newest record, whichever starts first', async () => {
    const older = await record(NOW - HOUR)
    const newer = await record(NOW)
    const race = async (order: Uint8Array[]): Promise<{ stored?: Uint8Array, refused: string[] }> => {
      const raceStore = await memoryPeerStore()
      const configs = new PeerConfigStore({ peerStore: raceStore, provider: nodeProvider, log: defaultLogger().forComponent('test:record'), now: () => NOW })
      const results = await Promise.allSettled(order.map(async r => configs.storeSignedRecord(peer, r)))
      const refused = results.flatMap(r => r.status === 'rejected' ? [r.reason.name as string] : [])
      return { stored: (await raceStore.get(peer)).metadata.get(ECH_PEER_STORE_KEY), refused }
    }
    const olderFirst = await race([older, newer])
    expect(olderFirst.stored).to.equalBytes(newer)
    expect(olderFirst.refused).to.deep.equal([])
    // the older one runs second and is refused by name
    const newerFirst = await race([newer, older])
    expect(newerFirst.stored).to.equalBytes(newer)
    expect(newerFirst.refused).to.deep.equal(['EchRecordRollbackError'])
  })
})
