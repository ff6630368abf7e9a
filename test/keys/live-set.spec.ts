/**
 * The live set is bounded (review "Hardening", item 8) and a destroyed key
 * leaves nothing at rest (item 13).
 *
 * Item 8: 56 X-Wing rotations inside one grace period used to make a
 * config list over 65535 bytes, so `getConfigList()` threw (earlier, its
 * u16 prefix wrapped), the signed record could not be made, and every
 * inbound ECH handshake, the well-known endpoint and the exchange failed
 * with it; X25519 stopped at 256 rotations with EchConfigIdExhaustedError.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { parseEchConfigList } from '../../src/config/codec.js'
import { createSignedConfigRecord, openSignedConfigRecord } from '../../src/config/record.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { MAX_CONFIG_LIST_BYTES } from '../../src/keys/live-set.js'
import { EchKeyManager } from '../../src/keys/manager.js'
import { SignedRecordCache } from '../../src/keys/signed-record.js'
import { encodeStoredEchKey } from '../../src/keys/stored-key.js'
import { Clock, DAY, T0, dsKeyOf, spyDestroy, storedKeys } from './fixtures.js'
import type { EchKey } from '../../src/keys/generate.js'
import type { EchKeyManagerInit, EchKeyExpiredDetail } from '../../src/keys/types.js'
import type { Datastore } from 'interface-datastore'

describe('keys/manager live set', function () {
  this.timeout(60_000)
  let clock: Clock
  let managers: EchKeyManager[]

  function manager (datastore?: Datastore, init: EchKeyManagerInit = {}): EchKeyManager {
    const m = new EchKeyManager({ logger: defaultLogger(), datastore }, { now: clock.now, ...init })
    managers.push(m)
    return m
  }

  /** The datastore holds exactly the live keys */
  async function expectAtRestIsLive (ds: Datastore, m: EchKeyManager): Promise<void> {
    expect(await storedKeys(ds)).to.deep.equal(m.getKeys().map(dsKeyOf).sort())
  }

  beforeEach(() => {
    clock = new Clock()
    managers = []
  })

  afterEach(async () => {
    await Promise.all(managers.map(async m => m.stop()))
  })

  describe('a bounded live set (item 8)', () => {
    it('many X-Wing rotations inside one grace period keep the list parseable, its u16 prefix true, and a record signable', async () => {
      const ds = new MemoryDatastore()
      const m = manager(ds, { gracePeriod: 365 * DAY, generate: { kem: 'x-wing' } })
      await m.start()
      const identity = await generateKeyPair('Ed25519')
      const expired: EchKeyExpiredDetail[] = []
      m.addEventListener('ech:key-expired', e => expired.push(e.detail))
      for (let i = 0; i < 60; i++) {
        clock.advance(1)
        await m.rotate()
        const list = m.getConfigList()
        expect((list[0] << 8) | list[1], `after ${i + 1} rotations`).to.equal(list.byteLength - 2)
      }
      const list = m.getConfigList()
      expect(parseEchConfigList(list).usable.map(c => c.configId)).to.deep.equal(m.getKeys().map(k => k.config.configId))
      expect(list.byteLength).to.be.at.most(MAX_CONFIG_LIST_BYTES)
      const record = await createSignedConfigRecord(identity, list)
      const opened = await openSignedConfigRecord(record, peerIdFromPrivateKey(identity))
      expect(opened.configList).to.equalBytes(list)
      // the cap retired the oldest keys early, each destroyed, deleted and announced
      expect(expired).to.have.lengthOf(61 - m.getKeys().length)
      expect(expired.every(e => e.reason === 'cap')).to.be.true()
      await expectAtRestIsLive(ds, m)
    })

    it('X25519 rotations never exhaust config ids, even with the largest cap', async () => {
      const m = manager(undefined, { gracePeriod: 365 * DAY, maxLiveKeys: 255 })
      await m.start()
      for (let i = 0; i < 300; i++) {
        clock.advance(1)
        await m.rotate()
      }
      const ids = m.getKeys().map(k => k.config.configId)
      expect(ids).to.have.lengthOf(255)
      expect(new Set(ids).size).to.equal(255)
      expect(parseEchConfigList(m.getConfigList()).usable).to.have.lengthOf(255)
    })

    it('maxLiveKeys: the oldest grace keys go first, the newest stays', async () => {
      const ds = new MemoryDatastore()
      const m = manager(ds, { maxLiveKeys: 3 })
      await m.start()
      const first = m.getKeys()[0]
      const destroyFirst = spyDestroy(first)
      clock.advance(DAY)
      const second = await m.rotate()
      clock.advance(DAY)
      const third = await m.rotate()
      expect(m.getKeys()).to.deep.equal([third, second, first])
      const expired: EchKeyExpiredDetail[] = []
      m.addEventListener('ech:key-expired', e => expired.push(e.detail))
      clock.advance(DAY)
      const fourth = await m.rotate()
      expect(m.getKeys()).to.deep.equal([fourth, third, second])
      expect(destroyFirst.calls).to.equal(1)
      expect(expired).to.deep.equal([{ configId: first.config.configId, createdAt: T0, reason: 'cap' }])
      await expectAtRestIsLive(ds, m)
      // maxLiveKeys 1: every rotation drops the previous key at once
      const single = manager(new MemoryDatastore(), { maxLiveKeys: 1 })
      await single.start()
      const only = await single.rotate()
      expect(single.getKeys()).to.deep.equal([only])
    })

    it('caps by encoded size too: X-Wing keys stop at MAX_CONFIG_LIST_BYTES whatever maxLiveKeys says, and the record signs', async () => {
      const m = manager(undefined, { gracePeriod: 365 * DAY, maxLiveKeys: 255, generate: { kem: 'x-wing' } })
      await m.start()
      const identity = await generateKeyPair('Ed25519')
      const records = new SignedRecordCache(m, identity, { now: clock.now })
      for (let i = 0; i < 40; i++) {
        clock.advance(1)
        await m.rotate()
        expect(m.getConfigList().byteLength, `after ${i + 1} rotations`).to.be.at.most(MAX_CONFIG_LIST_BYTES)
      }
      const perKey = m.getKeys()[0].config.raw.byteLength
      expect(m.getKeys()).to.have.lengthOf(Math.floor((MAX_CONFIG_LIST_BYTES - 2) / perKey))
      const opened = await openSignedConfigRecord(await records.get(), peerIdFromPrivateKey(identity), { now: clock.t })
      expect(opened.configList).to.equalBytes(m.getConfigList())
    })

    it('refuses application keys over the cap', async () => {
      const keys: EchKey[] = []
      for (let i = 0; i < 3; i++) { keys.push(await generateEchKey({ configId: i })) }
      expect(() => manager(undefined, { keys, maxLiveKeys: 2 })).to.throw().with.property('name', 'EchKeyOptionsError')
      expect(manager(undefined, { keys, maxLiveKeys: 3 }).getKeys()).to.deep.equal(keys)
    })

    it('refuses a cap outside 1..255', () => {
      for (const maxLiveKeys of [0, 256, 1.5, -1, Number.NaN]) {
        expect(() => manager(undefined, { maxLiveKeys }), String(maxLiveKeys)).to.throw().with.property('name', 'EchKeyOptionsError')
      }
    })
  })

  describe('nothing at rest once destroyed (item 13)', () => {
    it('an emergency rotate({ gracePeriod: 0 }) whose delete fails is still dropped at the next start', async () => {
      const ds = new MemoryDatastore()
      const m1 = manager(ds)
      await m1.start()
      const old = m1.getKeys()[0]
      const remove = ds.delete.bind(ds)
      ds.delete = async () => { throw new Error('read-only') }
      clock.advance(1)
      const fresh = await m1.rotate({ gracePeriod: 0 })
      expect(m1.getKeys()).to.deep.equal([fresh])
      await m1.stop()
      // the record is still there, but it now says when the key expired
      expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(old), dsKeyOf(fresh)].sort())
      ds.delete = remove
      const m2 = manager(ds)
      await m2.start()
      expect(m2.getKeys().map(k => k.config.configId)).to.deep.equal([fresh.config.configId])
      expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(fresh)])
    })

    it('a stored key that loses a config_id collision is deleted from the datastore at start', async () => {
      const ds = new MemoryDatastore()
      const winner = await generateEchKey({ configId: 10, createdAt: T0 - DAY })
      const loser = await generateEchKey({ configId: 10, createdAt: T0 - 2 * DAY })
      await ds.put(new Key(dsKeyOf(winner)), encodeStoredEchKey(winner))
      await ds.put(new Key(dsKeyOf(loser)), encodeStoredEchKey(loser))
      const m = manager(ds)
      await m.start()
      expect(m.getKeys().map(k => k.createdAt)).to.deep.equal([T0 - DAY])
      expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(winner)])
    })

    it('keys above the cap at start are destroyed and deleted too', async () => {
      const ds = new MemoryDatastore()
      const stored: EchKey[] = []
      for (let i = 0; i < 6; i++) {
        const key = await generateEchKey({ configId: i, createdAt: T0 - (6 - i) * 1000 })
        stored.push(key)
        await ds.put(new Key(dsKeyOf(key)), encodeStoredEchKey(key))
      }
      const m = manager(ds, { maxLiveKeys: 4 })
      await m.start()
      expect(m.getKeys().map(k => k.config.configId)).to.deep.equal([5, 4, 3, 2])
      await expectAtRestIsLive(ds, m)
    })

    it('stop() deletes keys whose grace period ended before it wipes the rest; live keys stay for the restart', async () => {
      const ds = new MemoryDatastore()
      const m = manager(ds, { gracePeriod: DAY })
      await m.start()
      const old = m.getKeys()[0]
      const destroyOld = spyDestroy(old)
      clock.advance(1)
      const fresh = await m.rotate()
      // past the grace period, before the timer ran maintain()
      clock.advance(DAY)
      await m.stop()
      expect(destroyOld.calls).to.equal(1)
      expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(fresh)])
    })

    it('expiry deletes the key from the datastore', async () => {
      const ds = new MemoryDatastore()
      const m = manager(ds, { gracePeriod: DAY })
      await m.start()
      clock.advance(1)
      await m.rotate()
      clock.advance(DAY)
      await m.maintain()
      expect(m.getKeys()).to.have.lengthOf(1)
      await expectAtRestIsLive(ds, m)
    })
  })
})
