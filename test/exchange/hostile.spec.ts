/**
 * Hostile and broken config exchange listeners, over real TCP: records signed
 * by another key, tampered or expired records, oversized, malformed and empty
 * responses, a listener that never answers. Each is refused or fails with a
 * typed error reported as a service event; nothing is stored; nothing throws
 * into the event loop; the connection keeps working.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { ECH_PEER_STORE_KEY, createSignedConfigRecord } from '../../src/index.js'
import { nextEchEvent, pingOver, storedConfig, useNodes } from '../fixtures/nodes.js'
import { collectExchangeEvents, createExchangeNode, lengthPrefixed, nextExchangeEvent, serveRaw } from './fixtures.js'
import type { ExchangeNode } from './fixtures.js'
import type { EchConfigExchangeEvents } from '../../src/exchange/index.js'
import type { Stream } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

describe('exchange: hostile listeners', function () {
  this.timeout(20_000)

  const nodes = useNodes(createExchangeNode)
  const make = nodes.create

  /**
   * `a` (with the service) dials a listener `b` whose exchange handler is
   * `serve(b)`; resolves with the first failure-or-refusal event and checks
   * nothing was stored and the connection still works
   */
  async function against (
    serve: (b: ExchangeNode) => (stream: Stream) => void | Promise<void>,
    type: 'ech:record-refused' | 'ech:fetch-failed',
    exchange = {}
  ): Promise<EchConfigExchangeEvents[typeof type]['detail']> {
    const a = await make({ exchange })
    const b: ExchangeNode = await make({ serve: async (stream) => serve(b)(stream) })
    const events = collectExchangeEvents(a.exchange!)
    const event = nextExchangeEvent(a.exchange!, type, b.node.peerId)
    const conn = await a.node.dial(b.addr)
    const detail = await event
    expect(events.map(e => e.type)).to.deep.equal([type])
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.be.undefined()
    await pingOver(conn)
    return detail
  }

  it('a record signed by another key: refused (EchRecordSignerError), nothing stored', async () => {
    const other = await generateKeyPair('Ed25519')
    const detail = await against(b => serveRaw(async () => lengthPrefixed(await createSignedConfigRecord(other, b.ech!.getEchConfigList()))), 'ech:record-refused')
    expect(detail.error).to.equal('EchRecordSignerError')
  })

  it('a forged record leaves an earlier good one in place, and the next dial still uses it', async () => {
    const other = await generateKeyPair('Ed25519')
    const a = await make()
    const b: ExchangeNode = await make({ serve: serveRaw(async () => lengthPrefixed(await createSignedConfigRecord(other, b.ech!.getEchConfigList()))) })
    // a record from b, obtained some other way and about to need a refresh
    const good = await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 47.5 * HOUR, ttlSeconds: 48 * 3600 })
    await a.node.peerStore.merge(b.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: good } })

    const refused = nextExchangeEvent(a.exchange!, 'ech:record-refused', b.node.peerId)
    const accepted = nextEchEvent(a.ech!, 'ech:accepted')
    await a.node.dial(b.addr)
    expect((await refused).error).to.equal('EchRecordSignerError')
    await accepted
    expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.equalBytes(good)
  })

  it('a tampered record: refused (EchRecordInvalidError)', async () => {
    const detail = await against(b => serveRaw(async () => {
      const record = (await b.ech!.getSignedConfigRecord()).slice()
      record[record.length - 5] ^= 0x01
      return lengthPrefixed(record)
    }), 'ech:record-refused')
    expect(detail.error).to.equal('EchRecordInvalidError')
  })

  it('an expired record: refused (EchRecordExpiredError)', async () => {
    const detail = await against(b => serveRaw(async () => lengthPrefixed(
      await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 49 * HOUR, ttlSeconds: 48 * 3600 })
    )), 'ech:record-refused')
    expect(detail.error).to.equal('EchRecordExpiredError')
  })

  it('a record older than maxAge: refused (EchRecordExpiredError)', async () => {
    const detail = await against(b => serveRaw(async () => lengthPrefixed(
      await createSignedConfigRecord(b.privateKey, b.ech!.getEchConfigList(), { now: Date.now() - 3 * HOUR, ttlSeconds: 48 * 3600 })
    )), 'ech:record-refused', { maxAge: 2 * HOUR, refreshMargin: 0 })
    expect(detail.error).to.equal('EchRecordExpiredError')
  })

  it('random bytes in a well-formed message: refused (EchRecordInvalidError)', async () => {
    const junk = crypto.getRandomValues(new Uint8Array(300))
    const detail = await against(() => serveRaw(lengthPrefixed(junk)), 'ech:record-refused')
    expect(detail.error).to.equal('EchRecordInvalidError')
  })

  it('an announced length over maxRecordSize: EchConfigResponseTooLargeError', async () => {
    // 1 MiB announced, a little sent
    const bytes = Uint8Array.from([0x80, 0x80, 0x40, 1, 2, 3])
    const detail = await against(() => serveRaw(bytes), 'ech:fetch-failed')
    expect(detail.error).to.equal('EchConfigResponseTooLargeError')
  })

  it('a real message over maxRecordSize: EchConfigResponseTooLargeError', async () => {
    const detail = await against(() => serveRaw(lengthPrefixed(new Uint8Array(2048))), 'ech:fetch-failed', { maxRecordSize: 1024 })
    expect(detail.error).to.equal('EchConfigResponseTooLargeError')
  })

  it('a runaway length varint: EchConfigResponseTooLargeError', async () => {
    const detail = await against(() => serveRaw(new Uint8Array(64).fill(0xff)), 'ech:fetch-failed')
    expect(detail.error).to.equal('EchConfigResponseTooLargeError')
  })

  it('an endless length varint: EchConfigResponseTooLargeError at once, not a timeout', async () => {
    const detail = await against(() => async (stream) => {
      for (let i = 0; i < 1000 && stream.status === 'open'; i++) {
        stream.send(Uint8Array.of(0xff))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }, 'ech:fetch-failed', { timeout: 3000 })
    expect(detail.error).to.equal('EchConfigResponseTooLargeError')
  })

  it('an empty response: EchConfigResponseInvalidError', async () => {
    const detail = await against(() => serveRaw(new Uint8Array(0)), 'ech:fetch-failed')
    expect(detail.error).to.equal('EchConfigResponseInvalidError')
  })

  it('a zero-length message: EchConfigResponseInvalidError', async () => {
    const detail = await against(() => serveRaw(Uint8Array.of(0)), 'ech:fetch-failed')
    expect(detail.error).to.equal('EchConfigResponseInvalidError')
  })

  it('a message cut short: EchConfigResponseInvalidError', async () => {
    const detail = await against(() => serveRaw(Uint8Array.of(100, 1, 2, 3)), 'ech:fetch-failed')
    expect(detail.error).to.equal('EchConfigResponseInvalidError')
  })

  it('a silent listener: EchConfigFetchTimeoutError after the timeout, no hang', async () => {
    const start = Date.now()
    const detail = await against(() => async () => { await new Promise(() => {}) }, 'ech:fetch-failed', { timeout: 300 })
    expect(detail.error).to.equal('EchConfigFetchTimeoutError')
    expect(Date.now() - start).to.be.lessThan(5000)
  })

  it('a listener that trickles a message forever: EchConfigFetchTimeoutError', async () => {
    const detail = await against(() => async (stream) => {
      // a valid length prefix (16 KiB) then an endless trickle
      stream.send(Uint8Array.of(0x80, 0x80, 0x01))
      for (let i = 0; i < 1000 && stream.status === 'open'; i++) {
        stream.send(new Uint8Array(64))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }, 'ech:fetch-failed', { timeout: 500 })
    expect(detail.error).to.equal('EchConfigFetchTimeoutError')
  })

  it('a listener that resets the stream: reported by name', async () => {
    const detail = await against(() => (stream) => { stream.abort(new Error('go away')) }, 'ech:fetch-failed')
    expect(detail.error).to.be.oneOf(['StreamResetError', 'StreamAbortedError', 'EchConfigResponseInvalidError'])
  })

  for (const [title, ech] of [['disabled mode', { mode: 'disabled' as const }], ['the kill switch', { enabled: false }]] as const) {
    it(`a listener with ECH off (${title}) serves nothing`, async () => {
      const a = await make()
      const b = await make({ ech })
      const failed = nextExchangeEvent(a.exchange!, 'ech:fetch-failed', b.node.peerId)
      await a.node.dial(b.addr)
      expect((await failed).error).to.be.oneOf(['StreamResetError', 'StreamAbortedError', 'EchConfigResponseInvalidError'])
      expect(await storedConfig(a, b.node.peerId, ECH_PEER_STORE_KEY)).to.be.undefined()
    })
  }
})
