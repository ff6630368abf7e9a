import { expect } from 'aegir/chai'
import { MONITOR_DEFAULTS } from '../../src/monitor/index.js'
import { MINUTE, SECOND, harness, ipOf, tcp } from './helpers.js'

describe('monitor/exhaustion', () => {
  describe('slow-handshake', () => {
    it('more than 10 handshakes from one source hitting their deadline in a minute: slow-handshake/medium, the stage as reason', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 10; i++) {
        monitor.stalled({ remoteAddr: tcp('203.0.113.5', 30000 + i), stage: 'message1' })
        clock.advance(5 * SECOND)
      }
      expect(threats).to.have.length(0)
      monitor.stalled({ remoteAddr: tcp('203.0.113.5', 31000), stage: 'handshake' })
      expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([['slow-handshake', 'medium', 11, 'handshake']])
      expect(threats[0].remoteAddr?.toString()).to.equal('/ip4/203.0.113.5/tcp/31000')
      expect(monitor.getCounters().stalls).to.deep.equal({ message1: 10, handshake: 1 })
    })

    it('does not fire when spread out or split over sources, and honours a custom limit', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 30; i++) {
        monitor.stalled({ remoteAddr: tcp('203.0.113.5'), stage: 'handshake' })
        monitor.stalled({ remoteAddr: tcp(ipOf(i)), stage: 'message1' })
        clock.advance(7 * SECOND)
      }
      expect(threats).to.have.length(0)
      const custom = harness({ slowHandshakes: { limit: 1, windowMs: MINUTE } })
      custom.monitor.stalled({ stage: 'message1' })
      custom.monitor.stalled({ stage: 'message1' })
      expect(custom.threats.map(t => t.count)).to.deep.equal([2])
    })

    it('an unknown stage is counted as `handshake`', () => {
      const { monitor } = harness()
      monitor.stalled({ stage: 'bogus' as any })
      expect(monitor.getCounters().stalls).to.deep.equal({ message1: 0, handshake: 1 })
    })
  })

  describe('half-open', () => {
    it('more than 8 concurrent inbound handshakes from one source: half-open/medium with the number in flight', () => {
      const { monitor, threats } = harness()
      for (let i = 0; i < 8; i++) {
        monitor.inboundStarted(tcp('198.51.100.20', 20000 + i))
      }
      expect(threats).to.have.length(0)
      monitor.inboundStarted(tcp('198.51.100.20', 21000))
      expect(threats.map(t => [t.kind, t.severity, t.count])).to.deep.equal([['half-open', 'medium', 9]])
      expect(threats[0].remoteAddr?.toString()).to.equal('/ip4/198.51.100.20/tcp/21000')
    })

    it('handshakes that end free their place: sequential handshakes never fire', () => {
      const { monitor, threats } = harness()
      for (let i = 0; i < 1000; i++) {
        monitor.inboundStarted(tcp('198.51.100.20'))
        monitor.inboundStarted(tcp('198.51.100.20'))
        monitor.inboundEnded(tcp('198.51.100.20'))
        monitor.inboundEnded(tcp('198.51.100.20'))
      }
      // more ends than starts (a caller bug) must not bank credit below zero
      for (let i = 0; i < 20; i++) {
        monitor.inboundEnded(tcp('198.51.100.20'))
      }
      for (let i = 0; i < 8; i++) {
        monitor.inboundStarted(tcp('198.51.100.20'))
      }
      expect(threats).to.have.length(0)
      monitor.inboundStarted(tcp('198.51.100.20'))
      expect(threats.map(t => t.count)).to.deep.equal([9])
    })

    it('1,000 half-open handshakes from one source: every start over the limit is a detection, one event per interval', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 1000; i++) {
        monitor.inboundStarted(tcp('192.0.2.44', 10000 + i))
        clock.advance(100)
      }
      expect(monitor.getCounters().threats['half-open']).to.equal(1000 - MONITOR_DEFAULTS.maxHalfOpen)
      // 100 s of starts: an event at the 9th and one a minute later
      expect(threats.map(t => t.count)).to.deep.equal([9, 609])
    })

    it('honours maxHalfOpen; sources without an address share one count', () => {
      const { monitor, threats } = harness({ maxHalfOpen: 1 })
      monitor.inboundStarted()
      monitor.inboundStarted(tcp('192.0.2.1'))
      expect(threats).to.have.length(0)
      monitor.inboundStarted()
      expect(threats.map(t => [t.kind, t.count])).to.deep.equal([['half-open', 2]])
    })

    it('100,000 sources each holding a handshake open: the tracker stays at maxSources', () => {
      const { monitor } = harness({ maxSources: 1000 })
      for (let i = 0; i < 100_000; i++) {
        monitor.inboundStarted(tcp(ipOf(i)))
      }
      expect(monitor.getTrackerSizes().halfOpen).to.equal(1000)
      // an evicted source's end is ignored, not counted below zero
      monitor.inboundEnded(tcp(ipOf(0)))
      expect(monitor.getTrackerSizes().halfOpen).to.equal(1000)
    })
  })
})
