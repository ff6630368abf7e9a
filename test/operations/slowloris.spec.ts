/**
 * Slowloris on Noise message 1 (SECURITY.md §4.4), with libp2p's DEFAULT
 * connection manager on the listener: 10 pending inbound connections for
 * the whole node, 5 new ones per host per second, a 10 s upgrade timeout.
 *
 * The attacker (`slowloris-attack.ts`) keeps 200 sockets from 127.0.0.2 that
 * negotiate `/noise` and then send message 1 one byte a second. Against stock
 * `noise()` each accepted socket holds a pending slot for the whole upgrade
 * timeout and the attacker refills the slots faster than they free up, so
 * nearly every legitimate dial is refused (`benchmarks/slowloris.ts`
 * measures it). `echNoise` refuses a source's ninth handshake in flight at
 * once (`maxPendingPerSource`, 8) and drops a message 1 that has not arrived
 * after `message1Timeout` (2 s), so two of the ten slots stay for everyone
 * else.
 *
 * A legitimate dial here is what an application does: connect within 5 s
 * (trying again 250 ms after a refused connection), ping, hang up. The
 * retry is there because the attacker's refused ninth and tenth connections
 * hold the last two slots for the few milliseconds libp2p spends on
 * multistream-select before the encrypter refuses them; a dial landing then
 * is refused at once (2 of 68 one-try dials in the benchmark), and a test of
 * one try each would fail now and then for it. Against stock `noise()` the
 * same dials fail (7 of 8 ran out of their 5 s in one run), and so they do
 * against an `echNoise` without its two limits (`message1Timeout: 10_000`,
 * `maxPendingPerSource: 1000`: 8 of 8).
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { collectEchEvents, useNodes } from '../fixtures/nodes.js'
import { Slowloris, createListener, giveConfigs, legitDial } from './slowloris-attack.js'
import type { DialOutcome, Listener } from './slowloris-attack.js'
import type { EchThreat } from '../../src/index.js'

const ATTACKER = '127.0.0.2'
const DIAL = { timeoutMs: 5000, retryEveryMs: 250 }

/** Resolves once `threats` holds every kind in `kinds` (rejects after `timeoutMs`) */
async function threatsRaised (listener: Listener, threats: EchThreat[], kinds: Array<EchThreat['kind']>, timeoutMs: number): Promise<void> {
  const raised = (): boolean => kinds.every(kind => threats.some(t => t.kind === kind))
  if (raised()) { return }
  await pEvent(listener.ech as unknown as EventTarget, 'ech:threat', { filter: raised, signal: AbortSignal.timeout(timeoutMs) })
}

describe('operations: slowloris on Noise message 1 against a listener with libp2p\'s default connection manager', function () {
  this.timeout(90_000)
  const nodes = useNodes()

  it('echNoise: 8 of 8 legitimate dials succeed under 200 trickling sockets; the listener itself closes every attacker socket before message 1 is complete, raises slow-handshake and half-open against the attacker\'s address, and keeps serving', async () => {
    const listener = nodes.track(await createListener('ech'))
    const dialers = await Promise.all([0, 1, 2, 3].map(async () => nodes.create({ encrypter: 'ech' })))
    await Promise.all(dialers.map(async d => { await giveConfigs(d.node, listener) }))
    const threats = collectEchEvents(listener.ech!, 'ech:threat')
    const attack = nodes.closeAfter(new Slowloris({ port: listener.port, sockets: 200, sources: [ATTACKER] }))

    attack.start()
    // the attack is at full strength once its source has hit the per-source
    // cap (half-open: a ninth handshake in flight) and the message-1 deadline
    // more than 10 times (slow-handshake)
    await threatsRaised(listener, threats, ['half-open', 'slow-handshake'], 30_000)

    const outcomes: DialOutcome[] = []
    for (let round = 0; round < 2; round++) {
      for (const dialer of dialers) {
        outcomes.push(await legitDial(dialer.node, listener.addr, DIAL))
      }
    }
    expect(outcomes.filter(o => !o.ok), 'legitimate dials that failed during the attack').to.deep.equal([])
    expect(outcomes).to.have.lengthOf(8)

    attack.ceaseFire()
    // the sockets still open go at their message-1 deadline; none may outlive libp2p's upgrade timeout either
    await attack.drained(30_000)
    const negotiated = attack.sockets.filter(s => s.acceptedAt != null)
    expect(negotiated.length, 'attacker sockets that reached the encrypter').to.be.greaterThan(8)
    expect(attack.sockets.filter(s => s.closedBy !== 'listener'), 'attacker sockets not closed by the listener').to.deep.equal([])
    expect(attack.sockets.filter(s => s.finished), 'attacker sockets that got all of message 1 out').to.deep.equal([])

    const fromAttacker = threats.filter(t => t.remoteAddr?.toString().startsWith(`/ip4/${ATTACKER}/`) === true)
    expect(threats.map(t => t.kind), 'threats raised against another source than the attacker').to.deep.equal(fromAttacker.map(t => t.kind))
    expect(listener.ech!.monitor.getCounters().stalls.message1, 'message-1 deadlines hit').to.be.greaterThan(10)

    // the listener survives: a fresh dial after the attack, on one try
    expect(await legitDial(dialers[0].node, listener.addr, { timeoutMs: 5000 })).to.include({ ok: true, tries: 1 })
    expect(listener.node.status).to.equal('started')
  })

  it('stock noise() holds the same attacker sockets open after echNoise has closed its own: stock waits for libp2p\'s upgrade timeout, echNoise for message1Timeout', async () => {
    const stock = nodes.track(await createListener('stock'))
    const ech = nodes.track(await createListener('ech'))
    // four each: under libp2p's 5 new connections per host per second and echNoise's 8 per source, so all are accepted
    const onStock = nodes.closeAfter(new Slowloris({ port: stock.port, sockets: 4, sources: [ATTACKER], reconnectDelayMs: false }))
    const onEch = nodes.closeAfter(new Slowloris({ port: ech.port, sockets: 4, sources: [ATTACKER], reconnectDelayMs: false }))
    onStock.start()
    onEch.start()

    await onEch.drained(30_000)
    expect(onEch.sockets.map(s => [s.acceptedAt != null, s.closedBy, s.finished])).to.deep.equal(Array(4).fill([true, 'listener', false]))
    // at this point every stock socket is still open, still trickling message 1
    expect(onStock.sockets.map(s => [s.acceptedAt != null, s.closedBy])).to.deep.equal(Array(4).fill([true, undefined]))

    await onStock.drained(30_000)
    expect(onStock.sockets.map(s => [s.closedBy, s.finished])).to.deep.equal(Array(4).fill(['listener', false]))
  })
})
