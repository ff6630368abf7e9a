/**
 * What a rotation does to dialers holding the replaced config, over TCP on
 * 127.0.0.1 (review "Hardening", item 5; RUNBOOK §3b/§3c promise no more
 * than this). Dialers take the listener's configs from the gateway's
 * well-known document, as an operator would publish them.
 *
 * An opportunistic listener answers a stale offer with retry configs in
 * message 2: an opportunistic dialer's connection works and its next one is
 * accepted; a require-mode dialer drops that one connection and its next
 * one is accepted. A require-mode listener refuses a stale offer before
 * message 2, so no retry configs go out: every dialer holding only the
 * dropped config fails until it fetches the well-known document again. A
 * grace period of at least the 48 h cache keeps the old config working
 * meanwhile.
 */
import { expect } from 'aegir/chai'
import { createEchGateway } from '../../src/gateway/index.js'
import { ECH_PEER_STORE_KEY } from '../../src/index.js'
import { rejection } from '../fixtures/errors.js'
import { nextEchEvent, pingOver, storedConfig, trapUnhandled, useNodes } from '../fixtures/nodes.js'
import { ADMIN_TOKEN, request } from './fixtures.js'
import type { Exchange } from './fixtures.js'
import type { EchGateway } from '../../src/gateway/index.js'
import type { EchNoise, EchMode } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const CACHE = 48 * 60 * 60 * 1000

interface Listener { node: TestNode, ech: EchNoise, gateway: EchGateway, addr: Multiaddr }

describe('gateway: dialers across a rotation', function () {
  this.timeout(60_000)
  trapUnhandled()
  const nodes = useNodes()
  let gateway: EchGateway | undefined

  afterEach(async () => {
    await gateway?.stop()
    gateway = undefined
  })

  async function listener (mode: EchMode): Promise<Listener> {
    const node = await nodes.create({ encrypter: 'ech', identify: false, ech: { mode } })
    gateway = createEchGateway({ libp2p: node.node, encrypter: node.ech!, tokens: { admin: [ADMIN_TOKEN] }, env: {} })
    await gateway.start()
    return { node, ech: node.ech!, gateway, addr: node.addr }
  }

  /** Fetch the well-known document and store its signed record for the listener, as a dialer's application would */
  async function fetchWellKnown (l: Listener, dialer: TestNode): Promise<Uint8Array> {
    const doc = (await request(l.gateway.url, '/.well-known/libp2p-noise-ech')).json()
    const record = Uint8Array.from(Buffer.from(doc.record, 'base64'))
    await dialer.node.peerStore.merge(l.node.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: record } })
    return record
  }

  async function rotate (l: Listener, gracePeriod: number): Promise<number> {
    const res = await request(l.gateway.url, '/ech/rotate', { method: 'POST', token: ADMIN_TOKEN, body: { gracePeriod } })
    expect(res.status, res.text).to.equal(200)
    return res.json().configId
  }

  async function dialAccepted (dialer: TestNode, addr: Multiaddr, configId: number): Promise<void> {
    const outcome = nextEchEvent(dialer.ech!, 'ech:outcome')
    await pingOver(await dialer.node.dial(addr, { force: true }))
    expect(await outcome).to.include({ outcome: 'accepted', configId })
  }

  it('POST /ech/rotate { gracePeriod } sets how long the replaced keys stay accepted; 0 drops them at once; bad values change nothing', async () => {
    const l = await listener('opportunistic')
    const post = async (body: unknown): Promise<Exchange> => request(l.gateway.url, '/ech/rotate', { method: 'POST', token: ADMIN_TOKEN, body })
    await rotate(l, CACHE)
    const previous = l.ech.keys.getKeys()[0].config.configId
    const before = Date.now()
    await rotate(l, 3_600_000)
    expect(l.ech.keys.getKeyExpiry(previous)).to.be.within(before + 3_600_000, Date.now() + 3_600_000)
    const fresh = await rotate(l, 0)
    expect(l.ech.keys.getKeys().map(k => k.config.configId)).to.deep.equal([fresh])
    // 1e400 parses as Infinity
    for (const body of ['{"gracePeriod":-1}', '{"gracePeriod":"0"}', '{"gracePeriod":null}', '{"gracePeriod":1e400}', '{"gracePeriod":0,"configId":1}']) {
      const res = await post(body)
      expect(res.status, body).to.equal(400)
      expect(res.json().error.code).to.equal('bad-request')
    }
    expect(l.ech.keys.getKeys().map(k => k.config.configId)).to.deep.equal([fresh])
  })

  it('opportunistic listener, grace 0: both kinds of dialer converge on their next connection through retry configs', async () => {
    const l = await listener('opportunistic')
    const opportunistic = await nodes.create({ encrypter: 'ech', identify: false })
    const required = await nodes.create({ encrypter: 'ech', identify: false, ech: { mode: 'require' } })
    const old = l.ech.keys.getKeys()[0].config.configId
    for (const dialer of [opportunistic, required]) {
      await fetchWellKnown(l, dialer)
      await dialAccepted(dialer, l.addr, old)
    }
    const fresh = await rotate(l, 0)
    expect(l.ech.keys.findByConfigId(old)).to.be.undefined()

    const rejected = nextEchEvent(opportunistic.ech!, 'ech:outcome')
    await pingOver(await opportunistic.node.dial(l.addr, { force: true }))
    expect(await rejected).to.include({ outcome: 'rejected', retryConfigsLearned: true })
    await dialAccepted(opportunistic, l.addr, fresh)

    // require mode: that one connection is refused before the dialer's identity goes out
    const refused = nextEchEvent(required.ech!, 'ech:outcome')
    expect((await rejection(required.node.dial(l.addr, { force: true })))).to.exist()
    expect(await refused).to.include({ outcome: 'rejected', retryConfigsLearned: true })
    await dialAccepted(required, l.addr, fresh)
  })

  it('require-mode listener, grace 0: a dialer holding the old config gets no retry configs and fails until it fetches the well-known document', async () => {
    const l = await listener('require')
    const dialers = [
      await nodes.create({ encrypter: 'ech', identify: false, ech: { mode: 'require' } }),
      await nodes.create({ encrypter: 'ech', identify: false })
    ]
    const old = l.ech.keys.getKeys()[0].config.configId
    const records: Uint8Array[] = []
    for (const dialer of dialers) {
      records.push(await fetchWellKnown(l, dialer))
      await dialAccepted(dialer, l.addr, old)
    }
    const refusalsBefore = l.ech.monitor.getCounters().requireRefusals
    const fresh = await rotate(l, 0)
    for (const [i, dialer] of dialers.entries()) {
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(await rejection(dialer.node.dial(l.addr, { force: true }))).to.exist()
        // nothing learned: it still holds the record it fetched
        expect(await storedConfig(dialer, l.node.node.peerId)).to.equalBytes(records[i])
      }
    }
    expect(l.ech.monitor.getCounters().requireRefusals).to.equal(refusalsBefore + 4)
    for (const dialer of dialers) {
      await fetchWellKnown(l, dialer)
      await dialAccepted(dialer, l.addr, fresh)
    }
  })

  it('require-mode listener, rotate({ gracePeriod: 48 h }): the old config keeps working, the new one is listed first', async () => {
    const l = await listener('require')
    const dialer = await nodes.create({ encrypter: 'ech', identify: false, ech: { mode: 'require' } })
    const old = l.ech.keys.getKeys()[0].config.configId
    await fetchWellKnown(l, dialer)
    const before = Date.now()
    const fresh = await rotate(l, CACHE)
    expect(l.ech.keys.getKeyExpiry(old)).to.be.at.least(before + CACHE)
    await dialAccepted(dialer, l.addr, old)
    await fetchWellKnown(l, dialer)
    await dialAccepted(dialer, l.addr, fresh)
  })
})
