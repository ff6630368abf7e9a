/**
 * Handing over from one key to the next (review "Hardening", item 5, the
 * key manager's part): `rotate({ gracePeriod })` publishes the next key
 * (accepted and listed first) while the replaced one stays accepted for the
 * given time, persisted across restarts; a grace period shorter than the
 * 48 h a dialer may cache a config is reported; and the manager tells when
 * the first listed config stops being accepted.
 */
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { parseEchConfigList } from '../../src/config/codec.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { EchKeyManager } from '../../src/keys/manager.js'
import { rejection } from '../fixtures/errors.js'
import { Clock, DAY, HOUR, T0, dsKeyOf, linesLogger, storedKeys } from './fixtures.js'
import type { EchKeyManagerInit, EchKeyExpiredDetail } from '../../src/keys/types.js'
import type { ComponentLogger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const CACHE = 48 * HOUR

describe('keys/manager handover', () => {
  let clock: Clock
  let managers: EchKeyManager[]

  function manager (datastore?: Datastore, init: EchKeyManagerInit = {}, logger: ComponentLogger = defaultLogger()): EchKeyManager {
    const m = new EchKeyManager({ logger, datastore }, { now: clock.now, ...init })
    managers.push(m)
    return m
  }

  function listedIds (m: EchKeyManager): number[] {
    return parseEchConfigList(m.getConfigList()).usable.map(c => c.configId)
  }

  beforeEach(() => {
    clock = new Clock()
    managers = []
  })

  afterEach(async () => {
    await Promise.all(managers.map(async m => m.stop()))
  })

  it('rotate({ gracePeriod }) keeps the replaced key accepted and listed that long, across a restart', async () => {
    const ds = new MemoryDatastore()
    // configured with no grace at all: a plain rotate() would drop the old key at once
    const m1 = manager(ds, { gracePeriod: 0 })
    await m1.start()
    const old = m1.getKeys()[0]
    clock.advance(HOUR)
    const next = await m1.rotate({ gracePeriod: CACHE })
    expect(listedIds(m1)).to.deep.equal([next.config.configId, old.config.configId])
    expect(m1.findByConfigId(old.config.configId)).to.equal(old)
    expect(m1.getKeyExpiry(old.config.configId)).to.equal(T0 + HOUR + CACHE)
    await m1.stop()

    clock.advance(CACHE - 1)
    const m2 = manager(ds, { gracePeriod: 0 })
    await m2.start()
    expect(listedIds(m2)).to.deep.equal([next.config.configId, old.config.configId])
    expect(m2.getKeyExpiry(old.config.configId)).to.equal(T0 + HOUR + CACHE)
    clock.advance(1)
    await m2.maintain()
    expect(listedIds(m2)).to.deep.equal([next.config.configId])
    expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(m2.getKeys()[0])])
  })

  it('rotate({ gracePeriod: 0 }) stops accepting every older key now and deletes them (emergency rotation)', async () => {
    const ds = new MemoryDatastore()
    const m = manager(ds, { gracePeriod: 7 * DAY })
    await m.start()
    const a = m.getKeys()[0]
    clock.advance(HOUR)
    const b = await m.rotate()
    const expired: EchKeyExpiredDetail[] = []
    m.addEventListener('ech:key-expired', e => expired.push(e.detail))
    clock.advance(HOUR)
    const c = await m.rotate({ gracePeriod: 0 })
    expect(m.getKeys()).to.deep.equal([c])
    expect(expired.map(e => [e.configId, e.reason])).to.deep.equal([[b.config.configId, 'grace-ended'], [a.config.configId, 'grace-ended']])
    expect(await storedKeys(ds)).to.deep.equal([dsKeyOf(c)])
  })

  it('a shorter per-rotation grace caps older keys, a longer one extends only the key it replaces', async () => {
    const m = manager(undefined, { gracePeriod: 7 * DAY })
    await m.start()
    const a = m.getKeys()[0]
    clock.advance(1)
    const b = await m.rotate()
    clock.advance(DAY)
    const c = await m.rotate({ gracePeriod: HOUR })
    expect(m.getKeyExpiry(a.config.configId)).to.equal(T0 + 1 + DAY + HOUR)
    expect(m.getKeyExpiry(b.config.configId)).to.equal(T0 + 1 + DAY + HOUR)
    clock.advance(1)
    await m.rotate({ gracePeriod: 30 * DAY })
    expect(m.getKeyExpiry(c.config.configId)).to.equal(T0 + 2 + 31 * DAY)
    expect(m.getKeyExpiry(a.config.configId)).to.equal(T0 + 1 + DAY + HOUR)
    for (const gracePeriod of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1' as any]) {
      expect((await rejection(m.rotate({ gracePeriod }))).name, String(gracePeriod)).to.equal('EchKeyOptionsError')
    }
  })

  it('keys made in the same millisecond keep their order across a restart', async () => {
    const ds = new MemoryDatastore()
    const m1 = manager(ds)
    await m1.start()
    await m1.rotate()
    await m1.rotate()
    const before = listedIds(m1)
    const createdAt = m1.getKeys().map(k => k.createdAt)
    expect(createdAt).to.deep.equal([T0 + 2, T0 + 1, T0])
    await m1.stop()
    const m2 = manager(ds)
    await m2.start()
    expect(listedIds(m2)).to.deep.equal(before)
  })

  it('reports a grace period shorter than the 48 h config cache: a log line and isGraceShorterThanCache()', async () => {
    const short = linesLogger()
    const m = manager(undefined, { gracePeriod: CACHE - 1 }, short.logger)
    expect(m.isGraceShorterThanCache()).to.be.true()
    expect(short.lines.filter(l => l.startsWith('warning: gracePeriod'))).to.have.lengthOf(1)
    await m.start()
    await m.rotate({ gracePeriod: HOUR })
    expect(short.lines.filter(l => l.startsWith('warning: gracePeriod'))).to.have.lengthOf(2)

    const long = linesLogger()
    const ok = manager(undefined, { gracePeriod: CACHE }, long.logger)
    expect(ok.isGraceShorterThanCache()).to.be.false()
    expect(manager(undefined, {}).isGraceShorterThanCache()).to.be.false()
    await ok.start()
    await ok.rotate()
    expect(long.lines.filter(l => l.startsWith('warning:'))).to.deep.equal([])
  })

  it('tells when the first listed config stops being accepted', async () => {
    const m = manager(undefined, { gracePeriod: 7 * DAY, rotationInterval: 30 * DAY })
    expect(m.getConfigListExpiry()).to.be.undefined()
    await m.start()
    // the current key alone: retired at the next rotation, accepted a grace period more
    expect(m.getConfigListExpiry()).to.equal(T0 + 37 * DAY)
    clock.advance(DAY)
    await m.rotate()
    expect(m.getConfigListExpiry()).to.equal(T0 + 8 * DAY)
    clock.advance(1)
    await m.rotate({ gracePeriod: HOUR })
    expect(m.getConfigListExpiry()).to.equal(T0 + DAY + 1 + HOUR)

    const fixed = manager(undefined, { keys: [await generateEchKey({ createdAt: T0 })] })
    await fixed.start()
    expect(fixed.getConfigListExpiry()).to.be.undefined()
  })
})
