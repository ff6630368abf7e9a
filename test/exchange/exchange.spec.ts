/**
 * The config exchange service between real TCP nodes: two fresh nodes learn
 * each other's configs after identify and the next connection is accepted;
 * the freshness rule (fresh records, app-given lists, expired and expiring
 * records, maxAge); one fetch per peer and the global cap.
 */
import { expect } from 'aegir/chai'
import { isWireConfigList } from '../../src/config/codec.js'
import { ECH_PEER_STORE_KEY, createSignedConfigRecord, openSignedConfigRecord } from '../../src/index.js'
import { collectEchEvents, nextEchEvent, shareConfig, storedConfig, useNodes } from '../fixtures/nodes.js'
import { collectExchangeEvents, createExchangeNode, lengthPrefixed, nextExchangeEvent, nextIdentify } from './fixtures.js'
import type { ExchangeNode } from './fixtures.js'
import type { EchConfigExchangeEvents } from '../../src/exchange/index.js'
import type { Stream } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

describe('exchange: config exchange service over TCP', function () {
  this.timeout(20_000)

  const nodes = useNodes(createExchangeNode)
  const make = nodes.create

  /** `a` holds `record` for `b` and dials it: resolves with the record-stored event once a new record replaced it */
  async function replaced (a: ExchangeNode, b: ExchangeNode, record: Uint8Array): Promise<EchConfigExchangeEvents['ech:record-stored']['detail']> {
    await shareConfig(a, b, record)
    const stored = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    await a.node.dial(b.addr)
    const detail = await stored
    expect(await storedConfig(a, b.node.peerId)).to.not.equalBytes(record)
    return detail
  }

  it('two fresh nodes learn each other\'s configs after identify; the next connection is accepted', async () => {
    const a = await make()
    const b = await make()
    const aStored = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    const bStored = nextExchangeEvent(b.exchange!, 'ech:record-stored', a.node.peerId)
    const aOutcomes = collectEchEvents(a.ech!)

    const conn1 = await a.node.dial(b.addr)
    const [aDetail, bDetail] = await Promise.all([aStored, bStored])
    // nothing was known at the first dial
    expect(aOutcomes.map(i => i.outcome)).to.deep.equal(['fallback'])
    expect(a.ech!.getConnectionInfo(conn1)).to.include({ outcome: 'fallback', reason: 'no-config' })

    // each side holds the other's signed record, verified against its peer id
    const aHolds = await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)
    const bHolds = await storedConfig(b, a.node.peerId, ECH_PEER_STORE_KEY)
    expect(aHolds).to.exist()
    expect(bHolds).to.exist()
    expect(isWireConfigList(aHolds!)).to.be.false()
    const opened = await openSignedConfigRecord(aHolds!, b.node.peerId)
    expect(opened.configList).to.equalBytes(b.ech!.getEchConfigList())
    expect((await openSignedConfigRecord(bHolds!, a.node.peerId)).configList).to.equalBytes(a.ech!.getEchConfigList())
    expect(aDetail.expiresAt).to.equal(opened.expiresAt * 1000)
    expect(aDetail.expiresAt - Date.now()).to.be.within(47 * HOUR, 48 * HOUR)
    expect(bDetail.remotePeer.equals(a.node.peerId)).to.be.true()

    await a.node.hangUp(b.node.peerId)
    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const conn2 = await a.node.dial(b.addr, { force: true })
    expect(conn2.id).to.not.equal(conn1.id)
    const [aInfo, bInfo] = await Promise.all([aAccepted, bAccepted])
    expect(aInfo).to.include({ direction: 'outbound', outcome: 'accepted', configId: b.ech!.keys.getKeys()[0].config.configId })
    expect(bInfo).to.include({ direction: 'inbound', outcome: 'accepted' })
    expect(a.ech!.getConnectionInfo(conn2)).to.equal(aInfo)

    // and the other way round
    await a.node.hangUp(b.node.peerId)
    await b.node.hangUp(a.node.peerId)
    const bOutbound = nextEchEvent(b.ech!, 'ech:accepted')
    await b.node.dial(a.addr, { force: true })
    expect(await bOutbound).to.include({ direction: 'outbound', outcome: 'accepted' })
  })

  it('a fresh stored record is not fetched again', async () => {
    const a = await make()
    const b = await make()
    const stored = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    await a.node.dial(b.addr)
    await stored
    const before = await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)

    await a.node.hangUp(b.node.peerId)
    const skipped = nextExchangeEvent(a.exchange!, 'ech:fetch-skipped', b.node.peerId)
    await a.node.dial(b.addr, { force: true })
    expect(await skipped).to.include({ reason: 'fresh' })
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.equalBytes(before!)
  })

  it('an app-given config list is not overwritten, and is used', async () => {
    const a = await make()
    const b = await make()
    const list = b.ech!.getEchConfigList()
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: list } })

    const skipped = nextExchangeEvent(a.exchange!, 'ech:fetch-skipped', b.node.peerId)
    const bStored = nextExchangeEvent(b.exchange!, 'ech:record-stored', a.node.peerId)
    const accepted = nextEchEvent(a.ech!, 'ech:accepted')
    await a.node.dial(b.addr)
    expect(await skipped).to.include({ reason: 'config-list' })
    await accepted
    await bStored
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.equalBytes(list)

    // even a forced refresh leaves it alone
    const again = nextExchangeEvent(a.exchange!, 'ech:fetch-skipped', b.node.peerId)
    await a.exchange!.refresh(a.node.getConnections(b.node.peerId)[0])
    expect(await again).to.include({ reason: 'config-list' })
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.equalBytes(list)
  })

  it('an expired stored record is not used, and is replaced', async () => {
    const a = await make()
    const b = await make()
    const expired = await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 3 * HOUR, ttlSeconds: 3600 })

    const outcome = nextEchEvent(a.ech!)
    await replaced(a, b, expired)
    const info = await outcome
    expect(info.outcome).to.equal('fallback')
    expect(info.reason).to.be.oneOf(['no-config', 'expired-config', 'unusable-config'])
    const now = await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)
    expect((await openSignedConfigRecord(now!, b.node.peerId)).expiresAt * 1000).to.be.greaterThan(Date.now() + 47 * HOUR)
  })

  it('a record with less than refreshMargin left is refreshed', async () => {
    const a = await make()
    const b = await make()
    // issued 47.5 h ago for 48 h: 30 min left, under the 1 h margin
    const expiring = await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 47.5 * HOUR, ttlSeconds: 48 * 3600 })
    const detail = await replaced(a, b, expiring)
    expect(detail.expiresAt).to.be.greaterThan(Date.now() + 47 * HOUR)
  })

  it('maxAge caps how long a record counts as fresh', async () => {
    const a = await make({ exchange: { maxAge: 2 * HOUR, refreshMargin: 30 * 60 * 1000 } })
    const b = await make()
    // valid for 48 h by its signature, but issued 3 h ago: older than maxAge
    const old = await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 3 * HOUR, ttlSeconds: 48 * 3600 })
    const detail = await replaced(a, b, old)
    // the new record is trusted for maxAge from its issue time, not its signed 48 h
    expect(detail.expiresAt - detail.issuedAt).to.equal(2 * HOUR)
  })

  it('refresh() picks up a rotated key at once', async () => {
    const a = await make()
    const b = await make({ ech: { keyManager: { gracePeriod: 0 } } })
    const stored = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    const conn = await a.node.dial(b.addr)
    await stored
    const key = await b.ech!.keys.rotate()

    const again = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    await a.exchange!.refresh(conn)
    await again
    const opened = await openSignedConfigRecord((await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY))!, b.node.peerId)
    expect(opened.configList).to.equalBytes(b.ech!.getEchConfigList())
    expect(opened.configList).to.not.equalBytes(new Uint8Array())
    expect(b.ech!.keys.getKeys()[0].config.configId).to.equal(key.config.configId)
  })

  it('one fetch in flight per peer, however many identify events arrive', async () => {
    let requests = 0
    const slow = async (stream: Stream): Promise<void> => {
      requests++
      await new Promise(resolve => setTimeout(resolve, 300))
      stream.send(lengthPrefixed(await b.ech!.getSignedConfigRecord()))
      await stream.close()
    }
    const a = await make()
    const b = await make({ serve: slow })

    const identified = nextIdentify(a)
    const events = collectExchangeEvents(a.exchange!)
    const stored = nextExchangeEvent(a.exchange!, 'ech:record-stored', b.node.peerId)
    await a.node.dial(b.addr)
    const result = await identified
    // the same identify result again, three times, while the first fetch runs
    for (let i = 0; i < 3; i++) {
      a.components!.events.safeDispatchEvent('peer:identify', { detail: result })
    }
    await stored
    expect(requests).to.equal(1)
    expect(events.filter(e => e.type === 'ech:fetch-skipped').map(e => e.detail.reason)).to.deep.equal(['in-flight', 'in-flight', 'in-flight'])
  })

  it('maxConcurrentFetches caps fetches across peers', async () => {
    let active = 0
    let highest = 0
    const servers: ExchangeNode[] = []
    const serveFor = (index: number) => async (stream: Stream): Promise<void> => {
      active++
      highest = Math.max(highest, active)
      await new Promise(resolve => setTimeout(resolve, 200))
      active--
      stream.send(lengthPrefixed(await servers[index].ech!.getSignedConfigRecord()))
      await stream.close()
    }
    const a = await make({ exchange: { maxConcurrentFetches: 1 } })
    for (let i = 0; i < 3; i++) {
      servers.push(await make({ serve: serveFor(i) }))
    }
    const stored = servers.map(async s => nextExchangeEvent(a.exchange!, 'ech:record-stored', s.node.peerId))
    await Promise.all(servers.map(async s => a.node.dial(s.addr)))
    await Promise.all(stored)
    expect(highest).to.equal(1)
  })

  it('a peer that does not serve the protocol is left alone', async () => {
    const a = await make()
    const b = await make({ exchange: false })
    const events = collectExchangeEvents(a.exchange!)
    const identified = nextIdentify(a)
    const conn = await a.node.dial(b.addr)
    await identified
    // a forced fetch, queued behind anything identify might have queued, fails
    // as the protocol is not served: it is the only event
    await a.exchange!.refresh(conn)
    expect(events.map(e => [e.type, e.detail.error])).to.deep.equal([['ech:fetch-failed', 'UnsupportedProtocolError']])
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.be.undefined()
  })

  it('stop() during a fetch returns promptly and reports nothing', async () => {
    const a = await make({ exchange: { timeout: 60_000 } })
    let entered: () => void = () => {}
    const serving = new Promise<void>(resolve => { entered = resolve })
    const b = await make({ serve: async () => { entered(); await new Promise(() => {}) } })
    const events = collectExchangeEvents(a.exchange!)
    await a.node.dial(b.addr)
    await serving
    const start = Date.now()
    await a.node.stop()
    expect(Date.now() - start).to.be.lessThan(3000)
    expect(events).to.be.empty()
  })
})
