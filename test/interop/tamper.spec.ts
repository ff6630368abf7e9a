/**
 * An on-path attacker between two ECH nodes: a TCP proxy flips one bit in,
 * truncates (re-framed shorter), or cuts (half a frame, then FIN) Noise
 * handshake message 1, 2 or 3 of an ECH-accepted handshake. Both sides must
 * fail with a typed error, nothing may crash or reject unhandled, and both
 * nodes must still connect normally afterwards.
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { assertWorks, collectEchEvents, nextEchEvent, pingOver, shareConfig, useNodes } from '../fixtures/nodes.js'
import { createCaptureProxy } from '../fixtures/proxy.js'
import { tcpPort } from '../fixtures/wire.js'
import type { Tamper } from '../fixtures/proxy.js'
import type { Connection } from '@libp2p/interface'

/** What a connection closed under a handshake fails with */
const CLOSED = 'UnexpectedEOFError'
/** What the initiator fails with when the connection closes after its outer hello, before a whole message 2 */
const REFUSED = 'EchRefusedError'

interface Case {
  title: string
  tamper: Tamper
  /** `err.name` the dialer's encrypter throws; `undefined`: the dialer finishes (message 3 is its last word) */
  dialer?: string
  /** `err.name` the listener's encrypter throws */
  listener: string
  /** Whether the listener's `ech:error` event must report it (default true) */
  listenerEvent?: boolean
}

const CASES: Case[] = [
  // message 1 is hashed by both sides and its `e` is bound into the HPKE aad: the
  // responder cannot open the outer hello and goes on as "rejected", then the
  // initiator cannot decrypt message 2 under either state
  { title: 'flips a bit in the middle of message 1', tamper: { message: 1, action: 'flip' }, dialer: 'InvalidCryptoExchangeError', listener: CLOSED },
  { title: 'flips a bit in the ephemeral key of message 1', tamper: { message: 1, action: 'flip', offset: 0 }, dialer: 'InvalidCryptoExchangeError', listener: CLOSED },
  { title: 'flips a bit in the HPKE tag of message 1', tamper: { message: 1, action: 'flip', offset: -1, bit: 7 }, dialer: 'InvalidCryptoExchangeError', listener: CLOSED },
  { title: 'truncates message 1 (re-framed shorter)', tamper: { message: 1, action: 'truncate' }, dialer: REFUSED, listener: 'EchDecodeError' },
  { title: 'cuts message 1 mid-frame and closes', tamper: { message: 1, action: 'cut' }, dialer: REFUSED, listener: CLOSED, listenerEvent: false },
  { title: 'flips a bit in the middle of message 2', tamper: { message: 2, action: 'flip' }, dialer: 'InvalidCryptoExchangeError', listener: CLOSED },
  { title: 'truncates message 2 (re-framed shorter)', tamper: { message: 2, action: 'truncate' }, dialer: 'InvalidCryptoExchangeError', listener: CLOSED },
  { title: 'cuts message 2 mid-frame and closes', tamper: { message: 2, action: 'cut' }, dialer: REFUSED, listener: CLOSED },
  { title: 'flips a bit in the middle of message 3', tamper: { message: 3, action: 'flip' }, listener: 'InvalidCryptoExchangeError' },
  { title: 'truncates message 3 (re-framed shorter)', tamper: { message: 3, action: 'truncate' }, listener: 'InvalidCryptoExchangeError' },
  { title: 'cuts message 3 mid-frame and closes', tamper: { message: 3, action: 'cut' }, listener: CLOSED }
]

describe('interop: tampered ECH handshakes fail cleanly', function () {
  this.timeout(20_000)

  const nodes = useNodes()

  async function run ({ tamper, ...expected }: Case): Promise<void> {
    const a = await nodes.create({ encrypter: 'ech' })
    const b = await nodes.create({ encrypter: 'ech' })
    await shareConfig(a, b)
    const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr), tamper }))
    const aErrors = collectEchEvents(a.ech!, 'ech:error')
    const bErrors = collectEchEvents(b.ech!, 'ech:error')
    const aOutcomes = collectEchEvents(a.ech!)
    const bOutcomes = collectEchEvents(b.ech!)

    let dialError: any
    let conn: Connection | undefined
    try {
      conn = await a.node.dial(proxy.addr(b.node.peerId))
    } catch (err) {
      dialError = err
    }
    await proxy.connections[0].tamperedEvent
    expect(proxy.connections[0].tampered, 'the proxy tampered with the handshake').to.be.true()

    // the listener fails with a typed error and records no outcome
    const bFailure = await b.nextFailure('inbound')
    expect(bFailure.error).to.have.property('name', expected.listener)
    expect(bOutcomes).to.be.empty()

    if (expected.dialer != null) {
      // libp2p's upgrader rewraps the encrypter's error, keeping only its message
      expect(dialError).to.have.property('name', 'EncryptionFailedError')
      const aFailure = await a.nextFailure('outbound')
      expect(aFailure.error).to.have.property('name', expected.dialer)
      expect(aErrors.map(e => e.error)).to.include(expected.dialer)
      expect(aOutcomes).to.be.empty()
    } else {
      // message 3 is the initiator's last word: it cannot see the attack, but the
      // listener drops the connection, so the dialer's connection dies and carries nothing
      expect(dialError).to.be.undefined()
      expect(conn).to.exist()
      if (conn?.status === 'open') {
        await pEvent(conn as unknown as EventTarget, 'close', { signal: AbortSignal.timeout(5000) })
      }
      await expect(pingOver(conn!)).to.eventually.be.rejected()
    }

    // the ECH engine reports the listener's failure as an event too, once it holds message 1
    if (expected.listenerEvent !== false) {
      expect(bErrors.map(e => e.error)).to.deep.equal([expected.listener])
    }

    // both nodes still work: a normal dial is accepted and carries data
    const aAccepted = nextEchEvent(a.ech!, 'ech:accepted')
    const bAccepted = nextEchEvent(b.ech!, 'ech:accepted')
    const good = await a.node.dial(b.addr, { force: true })
    await Promise.all([aAccepted, bAccepted])
    await assertWorks(a, b, good)
  }

  for (const c of CASES) {
    it(c.title, async () => { await run(c) })
  }
})
