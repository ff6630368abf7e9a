/**
 * The DHT lookup on the dial path, against a scripted kad-dht `get` and a
 * real peer store: the bound on a dial's wait, one query per peer, the
 * quorum, newest-wins, negative caching, the concurrency cap, and late
 * results serving the next dial.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { findConfigs, registerEchConfigFinder } from '../../src/config/finders.js'
import { PeerConfigStore } from '../../src/config/peer-store.js'
import { defaultProvider } from '../../src/crypto/default.js'
import { DhtConfigFinder } from '../../src/dht/finder.js'
import { kemIdsByName } from '../../src/hpke/registry.js'
import { ECH_PEER_STORE_KEY, createSignedConfigRecord, echDhtKey, generateEchKey } from '../../src/index.js'
import { memoryPeerStore } from '../fixtures/peer-store.js'
import type { EchDhtLookupResult, EchDhtQueryEvent } from '../../src/index.js'
import type { PeerId, PeerStore, PrivateKey } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000
const log = defaultLogger().forComponent('test:dht-finder')

/** A scripted kad-dht query: yields what the test pushes, ends when the test ends it or the signal aborts */
class ScriptedQuery {
  readonly queue: EchDhtQueryEvent[] = []
  private wake?: () => void
  ended = false
  /** The signal the finder gave the query */
  signal?: AbortSignal

  push (event: EchDhtQueryEvent): void {
    this.queue.push(event)
    this.wake?.()
  }

  end (): void {
    this.ended = true
    this.wake?.()
  }

  async * run (signal: AbortSignal): AsyncGenerator<EchDhtQueryEvent> {
    this.signal = signal
    const aborted = new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    for (;;) {
      const next = this.queue.shift()
      if (next != null) { yield next; continue }
      if (this.ended) { return }
      await Promise.race([new Promise<void>(resolve => { this.wake = resolve }), aborted])
      signal.throwIfAborted()
    }
  }
}

describe('dht: lookup on the dial path', () => {
  let peerStore: PeerStore
  let configs: PeerConfigStore
  let remoteKey: PrivateKey
  let remote: PeerId
  let queries: ScriptedQuery[]
  let reports: EchDhtLookupResult[]
  let unregister: () => void

  function finder (overrides: Partial<ConstructorParameters<typeof DhtConfigFinder>[0]> = {}): DhtConfigFinder {
    const f = new DhtConfigFinder({
      get: (_key, options) => {
        const query = new ScriptedQuery()
        queries.push(query)
        return query.run(options.signal)
      },
      keyOf: echDhtKey,
      store: async (peer, record) => {
        await configs.storeSignedRecord(peer, record, { keepConfigList: true })
        return true
      },
      timeout: 200,
      queryTimeout: 60_000,
      quorum: 3,
      settleTime: 60_000,
      negativeTtl: 60_000,
      maxConcurrent: 8,
      maxNegativeEntries: 16,
      now: Date.now,
      log,
      report: (_peer, result) => { reports.push(result) },
      counted: () => {},
      ...overrides
    })
    unregister = registerEchConfigFinder(peerStore, f)
    return f
  }

  async function record (issuedAgo = 0, key = remoteKey): Promise<Uint8Array> {
    return createSignedConfigRecord(key, (await generateEchKey()).configList, { now: Date.now() - issuedAgo })
  }

  function response (value: Uint8Array): EchDhtQueryEvent {
    return { name: 'PEER_RESPONSE', messageName: 'GET_VALUE', record: { value } }
  }

  beforeEach(async () => {
    peerStore = await memoryPeerStore()
    configs = new PeerConfigStore({ peerStore, provider: defaultProvider, log })
    remoteKey = await generateKeyPair('Ed25519')
    remote = peerIdFromPrivateKey(remoteKey)
    queries = []
    reports = []
  })

  afterEach(() => {
    unregister?.()
  })

  it('a dial stops waiting at the bound and goes on without a config; the query goes on and serves the next dial', async () => {
    const f = finder()
    const first = await configs.lookup(remote)
    expect(first).to.have.property('reason', 'no-config')
    expect(reports).to.deep.equal(['gave-up'])
    expect(queries).to.have.length(1)
    expect(queries[0].signal?.aborted).to.equal(false)

    // the record arrives after the dial gave up: stored, and the next dial has it without a query
    const late = await record()
    queries[0].push(response(late))
    queries[0].end()
    while (f.sizes.running > 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    const second = await configs.lookup(remote)
    expect(second.offer).to.not.equal(undefined)
    expect(queries).to.have.length(1)
  })

  it('a finder that ignores its signal still holds a dial no longer than its timeout', async () => {
    let released = false
    unregister = registerEchConfigFinder(peerStore, { timeout: 50, find: async () => new Promise(() => {}) })
    const result = await configs.lookup(remote).then(r => { released = true; return r })
    expect(released).to.equal(true)
    expect(result).to.have.property('reason', 'no-config')
  })

  it('a dial that is aborted stops waiting for a finder at once, not at its timeout (findConfigs with the dial\'s signal)', async () => {
    let released = false
    // a timeout past mocha's (60 s): only the abort can release the dial within the test
    unregister = registerEchConfigFinder(peerStore, { timeout: 120_000, find: async () => new Promise(() => {}) })
    const controller = new AbortController()
    const found = findConfigs(peerStore, remote, log, { signal: controller.signal }).then(r => { released = true; return r })
    await new Promise(resolve => setTimeout(resolve, 5))
    expect(released).to.equal(false)
    controller.abort()
    expect(await found).to.equal(true)
    expect(released).to.equal(true)
  })

  it('dials to the same peer share one query', async () => {
    finder({ timeout: 5000 })
    const dials = [configs.lookup(remote), configs.lookup(remote), configs.lookup(remote)]
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record()))
    queries[0].end()
    const results = await Promise.all(dials)
    expect(queries).to.have.length(1)
    expect(results.every(r => r.offer != null)).to.equal(true)
    expect(reports).to.deep.equal(['found', 'found', 'found'])
  })

  it('takes the newest of the records holders return, and stops the query at the quorum', async () => {
    finder({ timeout: 5000, quorum: 3 })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    const older = await record(2 * HOUR)
    const newest = await record(HOUR)
    queries[0].push(response(older))
    queries[0].push(response(newest))
    queries[0].push(response(older))
    expect((await dial).offer).to.not.equal(undefined)
    expect(queries[0].signal?.aborted).to.equal(true)
    expect((await peerStore.get(remote)).metadata.get(ECH_PEER_STORE_KEY)).to.equalBytes(newest)
  })

  it('a record older than the one stored is refused (rollback); the stored one stays', async () => {
    // a dialer that encrypts to X-Wing only: the stored X25519 record verifies but offers nothing, so the dial looks further
    configs = new PeerConfigStore({ peerStore, provider: defaultProvider, log, kemIds: kemIdsByName(['x-wing']) })
    const stored = await record(HOUR)
    await configs.storeSignedRecord(remote, stored)
    finder({ timeout: 5000 })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record(2 * HOUR)))
    queries[0].end()
    expect(await dial).to.have.property('reason', 'unusable-config')
    expect(reports).to.deep.equal(['refused'])
    expect((await peerStore.get(remote)).metadata.get(ECH_PEER_STORE_KEY)).to.equalBytes(stored)
  })

  it('remembers a peer without a record (a query that ran to its end, servers answered): no query for it until negativeTtl has passed', async () => {
    finder({ timeout: 5000 })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push({ name: 'PEER_RESPONSE', messageName: 'GET_VALUE' })
    queries[0].end()
    expect(await dial).to.have.property('reason', 'no-config')
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(1)
    expect(reports).to.deep.equal(['not-found', 'cached-miss'])
  })

  it('a peer whose identify listed no ECH config protocol is not looked up (not-ech), and is remembered; one it cannot tell about is', async () => {
    const asked: string[] = []
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    finder({
      timeout: 5000,
      notEch: async (peer) => {
        asked.push(peer.toString())
        if (peer.equals(other)) { throw new Error('datastore failed') }
        return peer.equals(remote)
      }
    })
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(0)
    expect(reports).to.deep.equal(['not-ech', 'cached-miss'])
    // remembered: the second dial did not read the peer store again
    expect(asked).to.deep.equal([remote.toString()])

    // a failed read tells nothing: the peer is looked up
    const dial = configs.lookup(other)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push({ name: 'PEER_RESPONSE', messageName: 'GET_VALUE' })
    queries[0].end()
    await dial
    expect(reports).to.deep.equal(['not-ech', 'cached-miss', 'not-found'])
  })

  it('reports every query once with how it ended, however many dials waited for it', async () => {
    const ended: Array<{ peer: string, result: string }> = []
    finder({ timeout: 5000, counted: (peer, result) => { ended.push({ peer: peer.toString(), result }) } })
    const dials = [configs.lookup(remote), configs.lookup(remote)]
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push({ name: 'PEER_RESPONSE', messageName: 'GET_VALUE' })
    queries[0].end()
    await Promise.all(dials)
    expect(ended).to.deep.equal([{ peer: remote.toString(), result: 'not-found' }])
  })

  it('a query that reached no server or timed out is a miss with backoff: dials in between start none (no runaway lookups)', async () => {
    let clock = Date.now()
    finder({ timeout: 5000, queryTimeout: 50, now: () => clock })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push({ name: 'QUERY_ERROR', error: new Error('unreachable') })
    queries[0].end()
    expect(await dial).to.have.property('reason', 'no-config')
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(1)

    // past the first 5 s: the next query never ends, and is cut at queryTimeout
    clock += 5001
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(2)
    // the second miss lasts 10 s
    clock += 5001
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(2)
    expect(reports).to.deep.equal(['error', 'cached-miss', 'error', 'cached-miss'])
  })

  it('a query whose kad-dht get ignores its signal still ends at queryTimeout: its slot frees, the peer is a miss', async () => {
    const ended: string[] = []
    const f = finder({
      timeout: 5000,
      queryTimeout: 50,
      // a get stuck on something that does not honour the signal (a dial, a stream read)
      get: async function * () { await new Promise(() => {}); yield * [] },
      counted: (_peer, result) => { ended.push(result) }
    })
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(ended).to.deep.equal(['error'])
    expect(reports).to.deep.equal(['error'])
    expect(f.sizes).to.deep.equal({ running: 0, misses: 1 })
  })

  it('queryTimeout fires even when garbage collection runs meanwhile (no AbortSignal.any over an unreferenced AbortSignal.timeout)', async () => {
    // a composite signal holds its sources weakly: on Node 20 a timeout signal nothing else
    // references is collected, and the composite never aborts
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const ended: string[] = []
    finder({
      timeout: 3000,
      queryTimeout: 200,
      get: async function * () { await new Promise(() => {}); yield * [] },
      counted: (_peer, result) => { ended.push(result) }
    })
    const collecting = setInterval(gc, 20)
    try {
      await configs.lookup(remote)
    } finally {
      clearInterval(collecting)
    }
    expect(ended).to.deep.equal(['error'])
    expect(reports).to.deep.equal(['error'])
  })

  it('queries in flight never exceed maxConcurrent, however many dials to peers whose queries never end', async () => {
    const f = finder({ timeout: 20, maxConcurrent: 2 })
    const peers = await Promise.all(Array.from({ length: 5 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    for (let round = 0; round < 3; round++) {
      for (const peer of peers) { await configs.lookup(peer) }
      expect(f.sizes.running).to.be.at.most(2)
    }
    expect(queries).to.have.length(2)
    expect(reports.filter(r => r === 'gave-up')).to.have.length(6)
  })

  it('a record that is stored but gives this dialer no offer is a miss: the next dial starts no query', async () => {
    finder({ timeout: 5000, quorum: 1, store: async () => false })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record()))
    await dial
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(1)
    expect(reports).to.deep.equal(['unusable', 'cached-miss'])
  })

  it('beyond maxConcurrent queries a dial goes ahead at once (busy)', async () => {
    finder({ timeout: 5000, maxConcurrent: 1 })
    const first = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(await configs.lookup(other)).to.have.property('reason', 'no-config')
    expect(reports).to.deep.equal(['busy'])
    queries[0].end()
    await first
    expect(queries).to.have.length(1)
  })

  it('the dial a lookup\'s own query announced does not wait for it (nested); a later dial to that peer does', async () => {
    finder({ timeout: 5000, quorum: 1 })
    const application = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    // kad-dht announces that the query dials the very peer it looks up
    queries[0].push({ name: 'DIAL_PEER', peer: remote })
    while (queries[0].queue.length > 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(reports).to.deep.equal(['nested'])

    // another dial of the application's comes meanwhile: it waits for the record as the first does
    const later = configs.lookup(remote)
    queries[0].push(response(await record()))
    expect((await application).offer).to.not.equal(undefined)
    expect((await later).offer).to.not.equal(undefined)
    expect(reports).to.deep.equal(['nested', 'found', 'found'])
  })

  it('a dial a query of ours announced may look up (a require-mode node needs its DHT peers\' configs), briefly', async () => {
    const f = finder({ timeout: 5000, quorum: 1 })
    f.dialing(remote)
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record()))
    expect((await dial).offer).to.not.equal(undefined)
    expect(reports).to.deep.equal(['found'])
  })

  it('the dials our queries announce start queries only while half the slots are free: lookups do not fan out', async () => {
    const f = finder({ timeout: 5000, maxConcurrent: 2 })
    const application = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    f.dialing(other)
    expect(await configs.lookup(other)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(1)
    expect(reports).to.deep.equal(['nested'])
    queries[0].end()
    await application
  })

  it('an announced dial to a connected peer marks nothing: kad-dht reuses the connection, so the application\'s next dial waits as any other', async () => {
    // one slot: a nested dial could start no query, an application dial can
    const f = finder({ timeout: 5000, quorum: 1, maxConcurrent: 1, connected: () => true })
    f.dialing(remote)
    const state = { settled: false }
    const dial = configs.lookup(remote).finally(() => { state.settled = true })
    // until the query starts, or the dial went ahead without one
    while (queries.length === 0 && !state.settled) { await new Promise(resolve => setTimeout(resolve, 5)) }
    expect(queries).to.have.length(1)
    queries[0].push(response(await record()))
    expect((await dial).offer).to.not.equal(undefined)
    expect(reports).to.deep.equal(['found'])
  })

  it('held until kad-dht has run its first self-query: a dial starts no query and waits for none (busy)', async () => {
    const f = finder({ timeout: 5000, quorum: 1 })
    f.hold()
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(0)
    f.ready()
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record()))
    expect((await dial).offer).to.not.equal(undefined)
    expect(reports).to.deep.equal(['busy', 'found'])
  })

  it('a record signed by another peer is never stored', async () => {
    finder({ timeout: 5000, quorum: 1 })
    const dial = configs.lookup(remote)
    while (queries.length === 0) { await new Promise(resolve => setTimeout(resolve, 5)) }
    queries[0].push(response(await record(0, await generateKeyPair('Ed25519'))))
    expect(await dial).to.have.property('reason', 'no-config')
    expect(reports).to.deep.equal(['refused'])
    expect(await peerStore.has(remote)).to.equal(false)
    // a refused record is a miss too: no query on the next dial
    expect(await configs.lookup(remote)).to.have.property('reason', 'no-config')
    expect(queries).to.have.length(1)
    expect(reports).to.deep.equal(['refused', 'cached-miss'])
  })
})
