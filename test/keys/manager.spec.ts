import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { parseEchConfigList } from '../../src/config/codec.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { DEFAULT_KEY_NAMESPACE, EchKeyManager } from '../../src/keys/manager.js'
import { encodeStoredEchKey } from '../../src/keys/stored-key.js'
import { rejection } from '../fixtures/errors.js'
import { Clock, DAY, T0, spyDestroy, storedKeys } from './fixtures.js'
import type { EchKeyManagerInit, EchKeyExpiredDetail, EchKeyRotatedDetail } from '../../src/keys/types.js'
import type { Datastore } from 'interface-datastore'

function ids (manager: EchKeyManager): number[] {
  return manager.getKeys().map(k => k.config.configId)
}

describe('keys/manager', () => {
  let clock: Clock
  let managers: EchKeyManager[]

  function manager (datastore?: Datastore, init: EchKeyManagerInit = {}): EchKeyManager {
    const m = new EchKeyManager({ logger: defaultLogger(), datastore }, { now: clock.now, ...init })
    managers.push(m)
    return m
  }

  beforeEach(() => {
    clock = new Clock()
    managers = []
  })

  afterEach(async () => {
    await Promise.all(managers.map(async m => m.stop()))
  })

  it('makes and persists a first key on start', async () => {
    const ds = new MemoryDatastore()
    const m = manager(ds, { generate: { publicName: 'node.example.com' } })
    const rotated: EchKeyRotatedDetail[] = []
    m.addEventListener('ech:rotated', e => rotated.push(e.detail))
    await m.start()
    expect(m.isStarted()).to.be.true()
    const [key] = m.getKeys()
    expect(m.getKeys()).to.have.lengthOf(1)
    expect(key.createdAt).to.equal(T0)
    expect(key.config.publicName).to.equal('node.example.com')
    expect(await storedKeys(ds)).to.deep.equal([`${DEFAULT_KEY_NAMESPACE}/${key.config.configId}-${T0}`])
    expect(rotated).to.deep.equal([{ added: key.config.configId, retired: [] }])
    await m.start()
    expect(m.getKeys()).to.have.lengthOf(1)
  })

  it('rotates: newest first, old keys kept, events name the ids', async () => {
    const m = manager(new MemoryDatastore())
    await m.start()
    const first = m.getKeys()[0]
    const rotated: EchKeyRotatedDetail[] = []
    m.addEventListener('ech:rotated', e => rotated.push(e.detail))
    clock.advance(1000)
    const second = await m.rotate()
    clock.advance(1000)
    const third = await m.rotate()
    expect(m.getKeys()).to.deep.equal([third, second, first])
    expect(rotated).to.deep.equal([
      { added: second.config.configId, retired: [first.config.configId] },
      { added: third.config.configId, retired: [second.config.configId] }
    ])
    expect(new Set(ids(m)).size).to.equal(3)
    expect(m.findByConfigId(second.config.configId)).to.equal(second)
    const list = parseEchConfigList(m.getConfigList())
    expect(list.usable.map(c => c.configId)).to.deep.equal(ids(m))
    expect(list.usable[0].raw).to.equalBytes(third.config.raw)
  })

  it('keeps config ids unique among live keys', async () => {
    const m = manager(undefined, { gracePeriod: 365 * DAY, maxLiveKeys: 255 })
    await m.start()
    for (let i = 0; i < 60; i++) {
      clock.advance(1)
      await m.rotate()
    }
    expect(new Set(ids(m)).size).to.equal(61)
    expect(m.findByConfigId(-1)).to.be.undefined()
  })

  it('wipes retired keys after the grace period', async () => {
    const ds = new MemoryDatastore()
    const m = manager(ds, { gracePeriod: 7 * DAY, rotationInterval: 30 * DAY })
    await m.start()
    const old = m.getKeys()[0]
    const destroy = spyDestroy(old)
    const expired: EchKeyExpiredDetail[] = []
    m.addEventListener('ech:key-expired', e => expired.push(e.detail))
    clock.advance(DAY)
    const fresh = await m.rotate()
    clock.advance(7 * DAY - 1)
    await m.maintain()
    expect(m.getKeys()).to.have.lengthOf(2)
    expect(destroy.calls).to.equal(0)
    clock.advance(1)
    await m.maintain()
    expect(m.getKeys()).to.deep.equal([fresh])
    expect(destroy.calls).to.equal(1)
    expect(expired).to.deep.equal([{ configId: old.config.configId, createdAt: T0, reason: 'grace-ended' }])
    expect(await storedKeys(ds)).to.deep.equal([`${DEFAULT_KEY_NAMESPACE}/${fresh.config.configId}-${fresh.createdAt}`])
  })

  it('tells when it next rotates and when a retired key expires', async () => {
    const m = manager(new MemoryDatastore(), { gracePeriod: 7 * DAY, rotationInterval: 30 * DAY })
    expect(m.getNextRotation()).to.be.undefined()
    await m.start()
    const old = m.getKeys()[0]
    expect(m.getNextRotation()).to.equal(T0 + 30 * DAY)
    expect(m.getKeyExpiry(old.config.configId)).to.be.undefined()
    clock.advance(DAY)
    const fresh = await m.rotate()
    expect(m.getNextRotation()).to.equal(T0 + 31 * DAY)
    expect(m.getKeyExpiry(old.config.configId)).to.equal(T0 + 8 * DAY)
    expect(m.getKeyExpiry(fresh.config.configId)).to.be.undefined()
    expect(m.getKeyExpiry(-1)).to.be.undefined()
    const fixed = manager(undefined, { keys: [fresh], autoRotate: false })
    await fixed.start()
    expect(fixed.getNextRotation()).to.be.undefined()
  })

  it('rotates to a key of the same KEM, public name and suites as the current one', async () => {
    const xwing = await generateEchKey({ kem: 'x-wing', publicName: 'pq.example.org', createdAt: T0 })
    const m = manager(undefined, { keys: [xwing] })
    await m.start()
    const fresh = await m.rotate()
    expect(fresh.config.kemId).to.equal(xwing.config.kemId)
    expect(fresh.config.publicName).to.equal('pq.example.org')
    expect(fresh.config.cipherSuites).to.deep.equal(xwing.config.cipherSuites)
    expect(fresh.config.configId).to.not.equal(xwing.config.configId)
    const configured = manager(undefined, { keys: [xwing], generate: { kem: 'x25519' } })
    await configured.start()
    expect((await configured.rotate()).config.kemId).to.equal(0x0020)
  })

  it('rotates when the interval has passed', async () => {
    const m = manager(undefined, { rotationInterval: 30 * DAY })
    await m.start()
    clock.advance(30 * DAY - 1)
    await m.maintain()
    expect(m.getKeys()).to.have.lengthOf(1)
    clock.advance(1)
    await m.maintain()
    expect(m.getKeys()).to.have.lengthOf(2)
    expect(m.getKeys()[0].createdAt).to.equal(T0 + 30 * DAY)
  })

  it('rotates and expires on its own timer', async () => {
    const m = new EchKeyManager({ logger: defaultLogger() }, { rotationInterval: 40, gracePeriod: 30 })
    managers.push(m)
    await m.start()
    const first = m.getKeys()[0]
    const rotated = new Promise<EchKeyRotatedDetail>(resolve => { m.addEventListener('ech:rotated', e => { resolve(e.detail) }, { once: true }) })
    const expired = new Promise<EchKeyExpiredDetail>(resolve => { m.addEventListener('ech:key-expired', e => { resolve(e.detail) }, { once: true }) })
    expect((await rotated).retired).to.deep.equal([first.config.configId])
    expect((await expired).configId).to.equal(first.config.configId)
    expect(m.getKeys().map(k => k.config.configId)).to.not.include(first.config.configId)
  })

  it('survives a restart with a MemoryDatastore', async () => {
    const ds = new MemoryDatastore()
    const m1 = manager(ds)
    await m1.start()
    clock.advance(DAY)
    await m1.rotate()
    const before = m1.getConfigList()
    const beforeIds = ids(m1)
    await m1.stop()
    expect(m1.isStarted()).to.be.false()
    const m2 = manager(ds)
    await m2.start()
    expect(m2.getConfigList()).to.equalBytes(before)
    expect(ids(m2)).to.deep.equal(beforeIds)
    expect(m2.getKeys()[1].createdAt).to.equal(T0)
  })

  it('survives closing and reopening a LevelDatastore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'noise-ech-keys-'))
    try {
      const ds1 = new LevelDatastore(join(dir, 'db'))
      await ds1.open()
      const m1 = manager(ds1)
      await m1.start()
      clock.advance(DAY)
      await m1.rotate()
      const before = m1.getConfigList()
      const secrets = m1.getKeys().map(k => k.privateKey.exportSecret())
      await m1.stop()
      await ds1.close()

      const ds2 = new LevelDatastore(join(dir, 'db'))
      await ds2.open()
      const m2 = manager(ds2)
      await m2.start()
      expect(m2.getConfigList()).to.equalBytes(before)
      expect(m2.getKeys().map(k => k.privateKey.exportSecret())).to.deep.equal(secrets)
      await m2.stop()
      await ds2.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('drops keys that expired while stopped, and rotates if overdue', async () => {
    const ds = new MemoryDatastore()
    const m1 = manager(ds)
    await m1.start()
    clock.advance(DAY)
    await m1.rotate()
    await m1.stop()
    clock.advance(8 * DAY)
    const m2 = manager(ds)
    const expired: number[] = []
    m2.addEventListener('ech:key-expired', e => expired.push(e.detail.configId))
    await m2.start()
    expect(m2.getKeys()).to.have.lengthOf(1)
    expect(expired).to.have.lengthOf(1)
    expect(await storedKeys(ds)).to.have.lengthOf(1)
    await m2.stop()
    clock.advance(31 * DAY)
    const m3 = manager(ds)
    await m3.start()
    expect(m3.getKeys()).to.have.lengthOf(2)
    expect(m3.getKeys()[0].createdAt).to.equal(clock.t)
  })

  it('skips corrupted datastore entries', async () => {
    const ds = new MemoryDatastore()
    const good = await generateEchKey({ configId: 10, createdAt: T0 - DAY })
    const sameIdOlder = await generateEchKey({ configId: 10, createdAt: T0 - 2 * DAY })
    await ds.put(new Key(`${DEFAULT_KEY_NAMESPACE}/10-${T0 - DAY}`), encodeStoredEchKey(good))
    await ds.put(new Key(`${DEFAULT_KEY_NAMESPACE}/10-${T0 - 2 * DAY}`), encodeStoredEchKey(sameIdOlder))
    await ds.put(new Key(`${DEFAULT_KEY_NAMESPACE}/junk`), Uint8Array.from([1, 2, 3]))
    const flipped = encodeStoredEchKey(good)
    flipped[flipped.length - 3] ^= 0xff
    await ds.put(new Key(`${DEFAULT_KEY_NAMESPACE}/flipped`), flipped)
    await ds.put(new Key(`${DEFAULT_KEY_NAMESPACE}/empty`), new Uint8Array(0))
    const m = manager(ds)
    await m.start()
    expect(m.getKeys()).to.have.lengthOf(1)
    expect(m.getKeys()[0].configList).to.equalBytes(good.configList)
  })

  /** Start on `ds` (one key), rotate, then let the retired key expire while deletes fail: one key stays live */
  async function rotateAndExpireWithFailingDeletes (ds: MemoryDatastore): Promise<void> {
    const m = manager(ds)
    await m.start()
    expect(m.getKeys()).to.have.lengthOf(1)
    clock.advance(1)
    await m.rotate()
    ds.delete = async () => { throw new Error('read-only') }
    clock.advance(8 * DAY)
    await m.maintain()
    expect(m.getKeys()).to.have.lengthOf(1)
  }

  it('starts with a fresh key when the datastore cannot be read or written', async () => {
    const ds = new MemoryDatastore()
    ds.query = async function * () { yield * []; throw new Error('disk on fire') }
    ds.put = async () => { throw new Error('read-only') }
    await rotateAndExpireWithFailingDeletes(ds)
  })

  it('logs a failed delete of an expired key and carries on', async () => {
    await rotateAndExpireWithFailingDeletes(new MemoryDatastore())
  })

  it('uses application keys as given, without persisting them', async () => {
    const ds = new MemoryDatastore()
    const a = await generateEchKey({ createdAt: T0 - 100 * DAY })
    const b = await generateEchKey({ createdAt: T0 - 200 * DAY, avoidConfigIds: [a.config.configId] })
    const m = manager(ds, { keys: [a, b] })
    expect(m.getKeys()).to.deep.equal([a, b])
    await m.start()
    clock.advance(365 * DAY)
    await m.maintain()
    expect(m.getKeys()).to.deep.equal([a, b])
    expect(await storedKeys(ds)).to.deep.equal([])
    const c = await m.rotate()
    expect(ids(m)).to.deep.equal([c.config.configId, a.config.configId, b.config.configId])
    const destroyA = spyDestroy(a)
    clock.advance(7 * DAY)
    await m.maintain()
    expect(m.getKeys()).to.deep.equal([c])
    expect(destroyA.calls).to.equal(1)
    await m.stop()
    expect(m.getKeys()).to.deep.equal([c])
  })

  it('wipes its own keys on stop', async () => {
    const m = manager()
    await m.start()
    const destroy = spyDestroy(m.getKeys()[0])
    await m.stop()
    await m.stop()
    expect(destroy.calls).to.equal(1)
    expect(() => m.getKeys()).to.throw().with.property('name', 'EchKeyManagerNotStartedError')
  })

  it('refuses use before start and bad options', async () => {
    const m = manager()
    expect(() => m.getKeys()).to.throw().with.property('name', 'EchKeyManagerNotStartedError')
    expect(() => m.getConfigList()).to.throw().with.property('name', 'EchKeyManagerNotStartedError')
    expect(() => m.findByConfigId(1)).to.throw().with.property('name', 'EchKeyManagerNotStartedError')
    expect((await rejection(m.rotate())).name).to.equal('EchKeyManagerNotStartedError')
    await m.maintain()
    const key = await generateEchKey({ configId: 1 })
    const twin = await generateEchKey({ configId: 1 })
    const bad: EchKeyManagerInit[] = [
      { keys: [] }, { keys: [key, twin] }, { rotationInterval: -1 }, { gracePeriod: Number.NaN }, { gracePeriod: '1' as any }
    ]
    for (const init of bad) {
      expect(() => manager(undefined, init)).to.throw().with.property('name', 'EchKeyOptionsError')
    }
  })

  it('does not start when the first key cannot be made', async () => {
    const m = manager(undefined, { generate: { kem: 'nope' } })
    expect((await rejection(m.start())).name).to.equal('EchUnsupportedKemError')
    expect(m.isStarted()).to.be.false()
  })
})
