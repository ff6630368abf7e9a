/**
 * Key rotation under load, over TCP 127.0.0.1: 200 ECH handshakes in flight
 * from four dialer nodes holding the listener's current config while the
 * listener runs `keys.rotate()` with the default grace period. None may fail
 * and all must be accepted (the retired key is still live). Then, past the
 * grace period on the key manager's injectable clock, `keys.maintain()` drops
 * the old key: a dialer still holding the old config is rejected with retry
 * configs and accepted on its next dial, without a downgrade alarm.
 *
 * libp2p's dial queue joins concurrent dials to the same peer (even with
 * `force`), so to have 200 handshakes genuinely in flight at once the dials
 * go through each node's transport manager, which still runs the real TCP
 * transport, multistream-select, the encrypter and the muxer upgrade.
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { DEFAULT_GRACE_PERIOD } from '../../src/index.js'
import { collectEchEvents, nextEchEvent, pingOver, shareConfig, useNodes } from '../fixtures/nodes.js'
import type { EchConnectionInfo } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const IN_FLIGHT = 200
const DIALERS = 4
/** The listener rotates when this many handshakes have completed */
const ROTATE_AFTER = 20

/** A dial that bypasses the dial queue's joining of concurrent dials to one peer */
async function rawDial (from: TestNode, addr: Multiaddr): Promise<Connection> {
  const transportManager = (from.node as any).components.transportManager
  return transportManager.dial(addr, { signal: AbortSignal.timeout(30_000) })
}

describe('operations: key rotation under load over TCP', function () {
  this.timeout(60_000)

  const nodes = useNodes()

  it(`${IN_FLIGHT} handshakes in flight across keys.rotate() (default grace) all succeed and are accepted; after expiry the old config is rejected with retry configs, then accepted`, async () => {
    let offset = 0
    const now = (): number => Date.now() + offset
    const listener = await nodes.create({ encrypter: 'ech', identify: false, ech: { keyManager: { now } } })
    const dialers: TestNode[] = []
    for (let i = 0; i < DIALERS; i++) {
      const dialer = await nodes.create({ encrypter: 'ech', identify: false })
      dialers.push(dialer)
      await shareConfig(dialer, listener)
    }
    const ech = listener.ech!
    const oldId = ech.keys.getKeys()[0].config.configId
    const dialerThreats = collectEchEvents(dialers.map(d => d.ech!), 'ech:threat')
    const dialerOutcomes = collectEchEvents(dialers.map(d => d.ech!), 'ech:outcome')

    // rotate from inside the event stream, once ROTATE_AFTER handshakes are done
    const outcomes: Array<EchConnectionInfo & { afterRotation: boolean }> = []
    let rotated = false
    let rotation: Promise<number> | undefined
    ech.addEventListener('ech:rotated', () => { rotated = true })
    ech.addEventListener('ech:outcome', (evt) => {
      outcomes.push({ ...evt.detail, afterRotation: rotated })
      if (outcomes.length === ROTATE_AFTER) {
        rotation = ech.keys.rotate().then(key => key.config.configId)
      }
    })

    // how many times the key list was read while both keys were live: every inbound ECH
    // handshake reads it once for message 1 (plus one read to re-sign the retry record)
    let readsWithBothKeys = 0
    const getKeys = ech.keys.getKeys.bind(ech.keys)
    ech.keys.getKeys = () => {
      const keys = getKeys()
      if (keys.length === 2) { readsWithBothKeys++ }
      return keys
    }

    const started = performance.now()
    const dials = Array.from({ length: IN_FLIGHT }, async (_, i) => rawDial(dialers[i % DIALERS], listener.addr))
    const results = await Promise.allSettled(dials)
    const rejected = results.flatMap(r => r.status === 'rejected' ? [r.reason] : [])
    expect(rejected.map(e => `${e.name}: ${e.message}`), 'failed dials').to.deep.equal([])
    if (outcomes.length < IN_FLIGHT) {
      await nextEchEvent(ech, 'ech:outcome', () => outcomes.length >= IN_FLIGHT, 10_000)
    }
    const elapsed = performance.now() - started
    ech.keys.getKeys = getKeys

    expect(rotation, 'rotation started').to.exist()
    const newId = await rotation!
    expect(newId).to.not.equal(oldId)
    // handshakes really were in flight across the rotation
    const after = outcomes.filter(o => o.afterRotation)
    expect(after.length, `handshakes completed after the rotation (of ${IN_FLIGHT}, in ${Math.round(elapsed)} ms)`).to.be.greaterThan(0)
    expect(outcomes.length - after.length).to.be.at.least(ROTATE_AFTER)
    // and some read message 1 only after it, against [new, old]
    expect(readsWithBothKeys, 'message 1 processed with both keys live').to.be.greaterThan(1)
    // eslint-disable-next-line no-console
    console.log(`      (${IN_FLIGHT} handshakes in ${Math.round(elapsed)} ms; ${after.length} completed after the rotation, ~${readsWithBothKeys - 1} read message 1 after it)`)
    // every one accepted with the (now retired) key the dialers hold
    expect(outcomes.map(o => `${o.outcome}/${o.configId}`)).to.deep.equal(new Array(IN_FLIGHT).fill(`accepted/${oldId}`))
    expect(dialerOutcomes.map(o => o.outcome)).to.deep.equal(new Array(IN_FLIGHT).fill('accepted'))
    expect([listener, ...dialers].flatMap(n => n.failures)).to.deep.equal([])
    expect(ech.keys.getKeys().map(k => k.config.configId)).to.deep.equal([newId, oldId])
    // the default grace period: the retired key lives 7 days past the rotation
    const expiry = ech.keys.getKeyExpiry(oldId)
    expect(expiry).to.equal(ech.keys.getKeys()[0].createdAt + DEFAULT_GRACE_PERIOD)

    // still inside the grace period: a fresh dial with the old config is accepted
    const graceAccepted = nextEchEvent(dialers[0].ech!, 'ech:outcome')
    const listenerGrace = nextEchEvent(ech, 'ech:outcome')
    await dialers[0].node.dial(listener.addr, { force: true })
    expect(await graceAccepted).to.include({ outcome: 'accepted', configId: oldId })
    expect(await listenerGrace).to.include({ outcome: 'accepted', configId: oldId })

    // past the grace period on the key manager's clock: maintenance drops the old key
    offset = expiry! - Date.now() + 1
    const expired = pEvent(ech.keys as unknown as EventTarget, 'ech:key-expired', { timeout: 5000 }) as unknown as Promise<CustomEvent<{ configId: number }>>
    await ech.keys.maintain()
    expect((await expired).detail).to.include({ configId: oldId })
    expect(ech.keys.getKeys().map(k => k.config.configId)).to.deep.equal([newId])

    // a dialer still holding the old config: rejected with retry configs, then accepted
    const dialer = dialers[1]
    const first = nextEchEvent(dialer.ech!, 'ech:outcome')
    const listenerFirst = nextEchEvent(ech, 'ech:outcome', o => o.remotePeer?.equals(dialer.node.peerId) === true)
    const conn1 = await dialer.node.dial(listener.addr, { force: true })
    expect(await first).to.include({ outcome: 'rejected', retryConfigsLearned: true })
    expect(await listenerFirst).to.include({ outcome: 'rejected' })
    await pingOver(conn1)

    const second = nextEchEvent(dialer.ech!, 'ech:outcome')
    const conn2 = await dialer.node.dial(listener.addr, { force: true })
    expect(await second).to.include({ outcome: 'accepted', configId: newId })
    await pingOver(conn2)

    // an honest rotation is not a downgrade: the dialers raised nothing
    expect(dialerThreats).to.deep.equal([])
    expect(ech.monitor.getCounters().threats).to.deep.include({ probing: 0, replay: 0, malformed: 0 })
  })
})
