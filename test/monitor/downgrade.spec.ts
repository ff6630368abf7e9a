import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { MINUTE, fakePeer, harness, tcp } from './helpers.js'
import type { EchHandshakeReport } from '../../src/monitor/index.js'

function handshake (over: Partial<EchHandshakeReport> = {}): EchHandshakeReport {
  return { role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: 12, ...over }
}

interface BreakerEvents {
  'breaker:open': CustomEvent<{ peer: string, failures: number, cooldownMs: number }>
  'breaker:half-open': CustomEvent<{ peer: string, failures: number, cooldownMs: number }>
  'breaker:close': CustomEvent<{ peer: string, failures: number, cooldownMs: number }>
}

/** A stand-in for the policy: only its `breaker:*` events matter to the monitor */
function policy (): TypedEventEmitter<BreakerEvents> {
  return new TypedEventEmitter<BreakerEvents>()
}

describe('monitor/downgrade', () => {
  const peer = fakePeer('12D3KooWPeerA')

  describe('rejected without retry configs', () => {
    it('a peer that accepted ECH and now rejects it without retry configs: high, one event per peer per interval, every one counted', () => {
      const { monitor, clock, threats } = harness()
      monitor.handshake(handshake({ remotePeer: peer, configId: 7 }))
      clock.advance(MINUTE)
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected', retryConfigs: false, remoteAddr: tcp('192.0.2.1') }))
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected', reason: 'require-refused' }))
      clock.advance(MINUTE)
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected', reason: 'require-refused' }))
      expect(threats.map(t => [t.kind, t.severity, t.count, t.remotePeer?.toString(), t.error])).to.deep.equal([
        ['downgrade', 'high', 1, '12D3KooWPeerA', undefined],
        ['downgrade', 'high', 3, '12D3KooWPeerA', 'require-refused']
      ])
      expect(monitor.getCounters().threats.downgrade).to.equal(3)
    })

    it('a rejection with retry configs is a key rotation, not a downgrade', () => {
      const { monitor, threats } = harness()
      monitor.handshake(handshake({ remotePeer: peer }))
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected', retryConfigs: true }))
      expect(threats).to.have.length(0)
    })

    it('needs a previous acceptance as initiator, and resets on acceptance', () => {
      const { monitor, threats } = harness()
      monitor.handshake(handshake({ remotePeer: peer, role: 'responder' }))
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected' }))
      monitor.handshake(handshake({ remotePeer: fakePeer('other'), outcome: 'rejected' }))
      monitor.handshake(handshake({ outcome: 'rejected' }))
      expect(threats).to.have.length(0)
      monitor.handshake(handshake({ remotePeer: peer }))
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected' }))
      monitor.handshake(handshake({ remotePeer: peer }))
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected' }))
      expect(threats.map(t => t.count)).to.deep.equal([1, 1])
    })

    it('forgets a peer after downgradeMemoryMs', () => {
      const { monitor, clock, threats } = harness({ downgradeMemoryMs: MINUTE })
      monitor.handshake(handshake({ remotePeer: peer }))
      clock.advance(MINUTE)
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected' }))
      expect(threats).to.have.length(0)
    })
  })

  describe('breaker opened', () => {
    it('the policy opening the breaker of a peer that accepted ECH before is a high downgrade, naming the peer', () => {
      const { monitor, threats } = harness()
      const events = policy()
      monitor.observe({ policy: events })
      monitor.handshake(handshake({ remotePeer: peer }))
      events.safeDispatchEvent('breaker:open', { detail: { peer: peer.toString(), failures: 3, cooldownMs: MINUTE } })
      expect(threats.map(t => [t.kind, t.severity, t.count, t.remotePeer?.toString(), t.error])).to.deep.equal([
        ['downgrade', 'high', 1, '12D3KooWPeerA', 'breaker-open']
      ])
      expect(monitor.getRecentThreats()[0]).to.include({ kind: 'downgrade', severity: 'high', remotePeer: '12D3KooWPeerA', reason: 'breaker-open' })
    })

    it('a breaker opening for a peer that never accepted ECH, or half-opening and closing, is no threat', () => {
      const { monitor, threats } = harness()
      const events = policy()
      monitor.observe({ policy: events })
      const breakers: string[] = []
      monitor.addEventListener('ech:breaker', (e) => { breakers.push(e.detail.state) })
      events.safeDispatchEvent('breaker:open', { detail: { peer: 'never-accepted', failures: 3, cooldownMs: MINUTE } })
      monitor.handshake(handshake({ remotePeer: peer }))
      events.safeDispatchEvent('breaker:half-open', { detail: { peer: peer.toString(), failures: 3, cooldownMs: MINUTE } })
      events.safeDispatchEvent('breaker:close', { detail: { peer: peer.toString(), failures: 0, cooldownMs: MINUTE } })
      expect(threats).to.have.length(0)
      expect(breakers).to.deep.equal(['open', 'half-open', 'closed'])
    })
  })

  describe('offers that failed before the responder authenticated', () => {
    it('to a peer that accepted before: medium downgrade from the 3rd in a row, counting every signal since the acceptance', () => {
      const { monitor, clock, threats } = harness({ eventIntervalMs: 0 })
      monitor.handshake(handshake({ remotePeer: peer }))
      for (let i = 0; i < 4; i++) {
        monitor.offerFailed({ remotePeer: peer, remoteAddr: tcp('192.0.2.1'), authenticated: false })
        clock.advance(1000)
      }
      expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([
        ['downgrade', 'medium', 3, 'offer-failed'],
        ['downgrade', 'medium', 4, 'offer-failed']
      ])
      expect(threats[0].remoteAddr?.toString()).to.equal('/ip4/192.0.2.1/tcp/4001')
      expect(monitor.getCounters().threats.downgrade).to.equal(2)
    })

    it('an authenticated failure, a rejection with retry configs, or an acceptance ends the run of failures', () => {
      const { monitor, threats } = harness({ eventIntervalMs: 0 })
      const failed = (authenticated: boolean): void => { monitor.offerFailed({ remotePeer: peer, authenticated }) }
      monitor.handshake(handshake({ remotePeer: peer }))
      failed(false); failed(false); failed(true)
      failed(false); failed(false)
      monitor.handshake(handshake({ remotePeer: peer, outcome: 'rejected', retryConfigs: true }))
      failed(false); failed(false)
      monitor.handshake(handshake({ remotePeer: peer }))
      failed(false); failed(false)
      expect(threats).to.have.length(0)
      failed(false)
      expect(threats.map(t => [t.severity, t.count])).to.deep.equal([['medium', 3]])
    })

    it('to a peer that never accepted ECH: nothing, however many', () => {
      const { monitor, threats } = harness()
      for (let i = 0; i < 20; i++) {
        monitor.offerFailed({ remotePeer: fakePeer('stranger'), authenticated: false })
      }
      expect(threats).to.have.length(0)
      expect(monitor.getCounters().threats.downgrade).to.equal(0)
    })

    it('honours preAuthFailuresAt', () => {
      const { monitor, threats } = harness({ preAuthFailuresAt: 1 })
      monitor.handshake(handshake({ remotePeer: peer }))
      monitor.offerFailed({ remotePeer: peer, authenticated: false })
      expect(threats.map(t => [t.severity, t.count])).to.deep.equal([['medium', 1]])
    })

    it('the breaker opening right after a medium signal is still reported at once: a rise in severity passes the per-peer interval', () => {
      const { monitor, threats } = harness()
      const events = policy()
      monitor.observe({ policy: events })
      monitor.handshake(handshake({ remotePeer: peer }))
      for (let i = 0; i < 3; i++) {
        monitor.offerFailed({ remotePeer: peer, authenticated: false })
      }
      events.safeDispatchEvent('breaker:open', { detail: { peer: peer.toString(), failures: 3, cooldownMs: MINUTE } })
      monitor.offerFailed({ remotePeer: peer, authenticated: false })
      expect(threats.map(t => [t.severity, t.count, t.error])).to.deep.equal([['medium', 3, 'offer-failed'], ['high', 4, 'breaker-open']])
      expect(monitor.getCounters().threats.downgrade).to.equal(3)
    })
  })
})
