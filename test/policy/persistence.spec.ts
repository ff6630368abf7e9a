import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { decodeBreakerRecord, encodeBreakerRecord } from '../../src/policy/breaker-store.js'
import { DEFAULT_POLICY_NAMESPACE } from '../../src/policy/config.js'
import { captureLogger, Clock, HOUR, MINUTE, peers, policy, show, stopAll, throws } from './helpers.js'
import type { EchPolicy } from '../../src/policy/policy.js'
import type { EchPolicyInit } from '../../src/policy/types.js'
import type { PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const encoder = new TextEncoder()

async function records (ds: Datastore, prefix = DEFAULT_POLICY_NAMESPACE): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for await (const { key, value } of ds.query({ prefix })) {
    out[key.toString().slice(prefix.length + 1)] = JSON.parse(new TextDecoder().decode(value))
  }
  return out
}

function fail (p: EchPolicy, id: PeerId, times: number): void {
  for (let i = 0; i < times; i++) { p.recordFailure(id, 'reset') }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('policy/persistence', () => {
  let clock: Clock
  let a: PeerId
  let b: PeerId
  let c: PeerId

  before(async () => {
    [a, b, c] = await peers(3)
  })

  beforeEach(() => {
    clock = new Clock()
  })

  afterEach(stopAll)

  function make (datastore?: Datastore, init: EchPolicyInit = {}, logger = captureLogger().logger): EchPolicy {
    return policy({ datastore, logger }, { now: clock.now, persistDelayMs: 60_000, ...init })
  }

  /** a: open at backoff level 2 (4 min); b: open at level 0; c: two failures, still closed */
  async function scenario (ds: Datastore, init: EchPolicyInit = {}): Promise<EchPolicy> {
    const p = make(ds, init)
    await p.start()
    fail(p, a, 3)
    for (let i = 0; i < 2; i++) {
      clock.t = p.getState().openBreakers[0].openUntil
      expect(show(p.decide(a))).to.equal('trial')
      p.recordFailure(a, 'timeout')
    }
    fail(p, b, 3)
    fail(p, c, 2)
    return p
  }

  type Breakers = ReturnType<EchPolicy['getState']>['openBreakers']

  async function checkRestored (ds: Datastore, before: Breakers): Promise<void> {
    const p = make(ds)
    await p.start()
    // restored least-recently-used first in order of cool-down end
    expect(p.getState().openBreakers).to.deep.equal([...before].sort((x, y) => x.openUntil - y.openUntil))
    // a kept its backoff level: its next failed trial waits 8 min
    clock.t = before[0].openUntil
    expect(show(p.decide(a))).to.equal('trial')
    p.recordFailure(a, 'reset')
    expect(p.getState().openBreakers.find(x => x.peer === a.toString())).to.include({ cooldownMs: 8 * MINUTE, failures: 6 })
    // closed breakers are not persisted: c starts from zero
    p.recordFailure(c, 'reset')
    expect(show(p.decide(c))).to.equal('offer')
  }

  it('survives a restart with a MemoryDatastore', async () => {
    const ds = new MemoryDatastore()
    const p = await scenario(ds)
    const saved = p.getState().openBreakers
    expect(saved.map(x => x.peer)).to.deep.equal([a, b].map(String))
    expect(await records(ds)).to.deep.equal({})
    await p.stop()
    expect(await records(ds)).to.deep.equal({
      [a.toString()]: { v: 1, failures: 5, level: 2, openUntil: saved[0].openUntil },
      [b.toString()]: { v: 1, failures: 3, level: 0, openUntil: saved[1].openUntil }
    })
    await checkRestored(ds, saved)
  })

  it('survives a restart with a LevelDatastore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ech-policy-'))
    try {
      let ds = new LevelDatastore(join(dir, 'ds'))
      await ds.open()
      const p = await scenario(ds)
      const saved = p.getState().openBreakers
      await p.stop()
      await ds.close()
      ds = new LevelDatastore(join(dir, 'ds'))
      await ds.open()
      await checkRestored(ds, saved)
      await stopAll()
      await ds.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('writes changes after the debounce delay, without stop()', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds, { persistDelayMs: 5 })
    await p.start()
    fail(p, a, 3)
    fail(p, b, 3)
    expect(await records(ds)).to.deep.equal({})
    await sleep(30)
    expect(Object.keys(await records(ds))).to.have.members([a, b].map(String))
    p.recordSuccess(a)
    await sleep(30)
    expect(Object.keys(await records(ds))).to.deep.equal([b.toString()])
  })

  it('persists a half-open breaker as open, due for a new trial after restart', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds)
    await p.start()
    fail(p, a, 3)
    clock.advance(MINUTE)
    expect(show(p.decide(a))).to.equal('trial')
    await p.stop()
    const q = make(ds)
    await q.start()
    expect(q.getState().openBreakers[0]).to.include({ state: 'open', openUntil: clock.t })
    expect(show(q.decide(a))).to.equal('trial')
  })

  it('keeps state gathered before start() and writes it once started', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds)
    fail(p, a, 3)
    await p.stop()
    expect(await records(ds)).to.deep.equal({})
    await p.start()
    await p.stop()
    const q = make(ds)
    await q.start()
    expect(q.getState().openBreakers.map(x => x.peer)).to.deep.equal([a.toString()])
  })

  it('prefers live state over a stored record of the same peer', async () => {
    const ds = new MemoryDatastore()
    await ds.put(new Key(`${DEFAULT_POLICY_NAMESPACE}/${a.toString()}`), encodeBreakerRecord({ failures: 9, level: 3, openUntil: clock.t + 5 * MINUTE }))
    const p = make(ds)
    fail(p, a, 3)
    await p.start()
    expect(p.getState().openBreakers[0]).to.include({ failures: 3, cooldownMs: MINUTE })
  })

  it('deletes the record of an evicted peer', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds, { maxPeers: 2, failureThreshold: 1 })
    await p.start()
    for (const id of [a, b, c]) { p.recordFailure(id, 'reset') }
    await p.flush()
    expect(Object.keys(await records(ds))).to.have.members([b, c].map(String))
  })

  it('restores no more than maxPeers, keeping the latest cool-downs', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds, { failureThreshold: 1 })
    await p.start()
    for (const id of [a, b, c]) {
      p.recordFailure(id, 'reset')
      clock.advance(1000)
    }
    await p.stop()
    const q = make(ds, { maxPeers: 2 })
    await q.start()
    expect(q.getState().openBreakers.map(x => x.peer)).to.deep.equal([b, c].map(String))
    await q.flush()
    expect(Object.keys(await records(ds))).to.have.members([b, c].map(String))
  })

  it('uses its own namespace', async () => {
    const ds = new MemoryDatastore()
    const p = make(ds, { namespace: '/custom/breakers' })
    await p.start()
    fail(p, a, 3)
    await p.stop()
    expect(Object.keys(await records(ds, '/custom/breakers'))).to.deep.equal([a.toString()])
    expect(await records(ds)).to.deep.equal({})
  })

  it('treats stored bytes as untrusted: malformed entries are logged and skipped, not deleted', async () => {
    const ds = new MemoryDatastore()
    const ns = DEFAULT_POLICY_NAMESPACE
    const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))
    const good = { v: 1, failures: 3, level: 1, openUntil: clock.t + MINUTE }
    const bad: Array<[string, Uint8Array]> = [
      [`${ns}/${b.toString()}`, encoder.encode('not json')],
      [`${ns}/${c.toString()}`, Uint8Array.of(0xff, 0xfe, 0x7b)],
      [`${ns}/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N`, json([1, 2, 3])],
      [`${ns}/12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5`, json(null)],
      [`${ns}/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq`, json({ ...good, v: 2 })],
      [`${ns}/12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba`, json({ ...good, failures: '3' })],
      [`${ns}/16Uiu2HAmKEVj4znLDy4WZGUMTuD9qJjKH91PzAJLfhB1HgXug6zC`, json({ ...good, level: -1 })],
      [`${ns}/not-a-peer-id`, json(good)],
      [`${ns}/${a.toString()}/nested`, json(good)],
      [`${ns}/bafzaajaiaejcbzdibmxyzdjbvkvp7aix5sfwh4gtgnowgd4skyx5uj4asndz5xcz`, json(good)],
      [`${ns}/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5M`, encoder.encode(' '.repeat(300))]
    ]
    for (const [key, value] of bad) { await ds.put(new Key(key), value) }
    await ds.put(new Key(`${ns}/${a.toString()}`), json(good))
    const { logger, errors } = captureLogger()
    const p = make(ds, {}, logger)
    await p.start()
    expect(p.getState().openBreakers).to.deep.equal([
      { peer: a.toString(), state: 'open', failures: 3, openUntil: good.openUntil, cooldownMs: 2 * MINUTE }
    ])
    expect(errors.filter(e => e.includes('skipping unreadable breaker record'))).to.have.lengthOf(bad.length)
    const stored: string[] = []
    for await (const key of ds.queryKeys({ prefix: ns })) { stored.push(key.toString()) }
    expect(stored).to.have.lengthOf(bad.length + 1)
  })

  it('clamps stored times and levels to what this configuration allows', async () => {
    const ds = new MemoryDatastore()
    const key = (id: PeerId): Key => new Key(`${DEFAULT_POLICY_NAMESPACE}/${id.toString()}`)
    await ds.put(key(a), encodeBreakerRecord({ failures: 3, level: 0, openUntil: clock.t + 365 * 24 * HOUR }))
    await ds.put(key(b), encodeBreakerRecord({ failures: 50, level: 64, openUntil: clock.t + 10 * MINUTE }))
    const p = make(ds)
    await p.start()
    expect(p.getState().openBreakers).to.deep.equal([
      { peer: b.toString(), state: 'open', failures: 50, openUntil: clock.t + 10 * MINUTE, cooldownMs: HOUR },
      { peer: a.toString(), state: 'open', failures: 3, openUntil: clock.t + MINUTE, cooldownMs: MINUTE }
    ])
  })

  it('decodes only well-formed records', () => {
    expect(decodeBreakerRecord(encodeBreakerRecord({ failures: 3, level: 2, openUntil: 5 }))).to.deep.equal({ failures: 3, level: 2, openUntil: 5 })
    expect(throws(() => decodeBreakerRecord('{}' as unknown as Uint8Array))).to.have.property('name', 'BreakerRecordError')
    expect(throws(() => decodeBreakerRecord(encoder.encode('{"v":1,"failures":0,"level":0,"openUntil":1}')))).to.have.property('name', 'BreakerRecordError')
    expect(throws(() => decodeBreakerRecord(encoder.encode('{"v":1,"failures":1,"level":0,"openUntil":1.5}')))).to.have.property('name', 'BreakerRecordError')
  })

  it('survives a failing datastore', async () => {
    const broken = new MemoryDatastore()
    broken.query = () => { throw new Error('query failed') }
    broken.batch = () => { throw new Error('batch failed') }
    const { logger, errors } = captureLogger()
    const p = make(broken, {}, logger)
    await p.start()
    fail(p, a, 3)
    await p.stop()
    expect(show(p.decide(a))).to.equal('breaker-open')
    expect(errors.some(e => e.includes('could not read persisted breakers'))).to.equal(true)
    expect(errors.some(e => e.includes('could not persist breakers'))).to.equal(true)
  })

  it('starts and stops idempotently, and works without a datastore', async () => {
    const p = make()
    expect(p.isStarted()).to.equal(false)
    await p.start()
    await p.start()
    expect(p.isStarted()).to.equal(true)
    fail(p, a, 3)
    await p.flush()
    await p.stop()
    await p.stop()
    expect(p.isStarted()).to.equal(false)
    expect(show(p.decide(a))).to.equal('breaker-open')
  })
})
