import { expect } from 'aegir/chai'
import { EchDecodeError } from '../../src/ech/errors.js'
import { MONITOR_DEFAULTS } from '../../src/monitor/index.js'
import { MINUTE, SECOND, enc, encOf, fakePeer, harness, ipOf, tcp } from './helpers.js'
import type { EchHandshakeReport } from '../../src/monitor/index.js'

function handshake (over: Partial<EchHandshakeReport> = {}): EchHandshakeReport {
  return { role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: 12, ...over }
}

describe('monitor/detectors', () => {
  describe('probing', () => {
    it('100 GREASE hellos (not openable) whose handshakes complete raise no probing', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 100; i++) {
        const remoteAddr = tcp('203.0.113.9', 40000 + i)
        monitor.outerHelloFailed({ remoteAddr, reason: 'open-failed', enc: enc() })
        // message 3 arrived: the initiator authenticated, the connection is plain XX
        monitor.handshake(handshake({ role: 'responder', outcome: 'rejected', remotePeer: fakePeer(`12D3KooWGrease${i % 7}`), remoteAddr }))
        clock.advance(100)
      }
      expect(threats).to.deep.equal([])
      expect(monitor.getCounters().threats.probing).to.equal(0)
      expect(monitor.getCounters().outerHellos.failed).to.equal(100)
      expect(monitor.getTrackerSizes().probing).to.equal(0)
    })

    it('peers holding a stale config after a rotation (unknown-config, then completed) raise no probing', () => {
      const { monitor, threats } = harness()
      for (let i = 0; i < 50; i++) {
        monitor.outerHelloFailed({ remoteAddr: tcp('198.51.100.40'), reason: 'unknown-config', enc: enc() })
        monitor.handshake(handshake({ role: 'responder', outcome: 'rejected', remoteAddr: tcp('198.51.100.40') }))
      }
      expect(threats).to.deep.equal([])
    })

    it('fires when one IP has more than 10 connections in a minute that failed after an unopenable hello, whatever its ports', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 10; i++) {
        const remoteAddr = tcp('203.0.113.9', 40000 + i)
        monitor.outerHelloFailed({ remoteAddr, reason: 'unknown-config', enc: enc() })
        monitor.probe({ remoteAddr, reason: 'unknown-config' })
        clock.advance(5 * SECOND)
      }
      expect(threats).to.have.length(0)
      monitor.probe({ remoteAddr: tcp('203.0.113.9', 50000), reason: 'open-failed' })
      expect(threats).to.have.length(1)
      expect(threats[0]).to.include({ kind: 'probing', severity: 'medium', count: 11, error: 'open-failed' })
      expect(threats[0].remoteAddr?.toString()).to.equal('/ip4/203.0.113.9/tcp/50000')
    })

    it('counts one IPv6 /64 as one source', () => {
      const { monitor, threats } = harness()
      for (let i = 1; i <= 11; i++) {
        monitor.probe({ remoteAddr: tcp(`2001:db8:5:6::${i.toString(16)}`) })
      }
      expect(threats.map(t => t.kind)).to.deep.equal(['probing'])
    })

    it('does not fire on 11 failures spread over more than a minute', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 11; i++) {
        monitor.probe({ remoteAddr: tcp('203.0.113.9') })
        clock.advance(6 * SECOND + 1)
      }
      expect(threats).to.have.length(0)
    })

    it('emits at most one event per IP per minute while over the rate; counts every detection', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 50; i++) {
        monitor.probe({ remoteAddr: tcp('198.51.100.3') })
        clock.advance(2 * SECOND)
      }
      // one failure every 2 s: over the rate from the 11th (t=20 s); events at 20 s and 80 s
      expect(threats.map(t => t.count)).to.deep.equal([11, 41])
      expect(monitor.getCounters().threats.probing).to.equal(40)
    })

    it('honours a custom limit and window', () => {
      const { monitor, threats } = harness({ probing: { limit: 2, windowMs: SECOND } })
      monitor.probe({ remoteAddr: tcp('192.0.2.1') })
      monitor.probe({ remoteAddr: tcp('192.0.2.1') })
      monitor.probe({ remoteAddr: tcp('192.0.2.1') })
      expect(threats.map(t => t.count)).to.deep.equal([3])
    })
  })

  describe('malformed', () => {
    it('reports the first one at once, then one event per IP per minute with the running count; low, then medium at once from the 10th', () => {
      const { monitor, clock, threats } = harness()
      const err = new EchDecodeError('version', 'Malformed ECH hello: version 0x02 key=abc')
      for (let i = 0; i < 25; i++) {
        monitor.malformed({ remoteAddr: tcp('192.0.2.77', 1000 + i), error: err })
        clock.advance(5 * SECOND)
      }
      expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([
        ['malformed', 'low', 1, 'EchDecodeError:version'],
        // the rise to medium passes the per-source interval; the next event is a minute after it
        ['malformed', 'medium', 10, 'EchDecodeError:version'],
        ['malformed', 'medium', 22, 'EchDecodeError:version']
      ])
      expect(monitor.getCounters().threats.malformed).to.equal(25)
      expect(monitor.getCounters().outerHellos.malformed).to.equal(25)
    })

    it('escalates with every event reported, counting across minutes, and forgets a source after countMemoryMs', () => {
      const { monitor, clock, threats } = harness({ eventIntervalMs: 0, malformedMediumAt: 2, countMemoryMs: 10 * MINUTE })
      monitor.malformed({ remoteAddr: tcp('192.0.2.9'), error: 'EchDecodeError' })
      clock.advance(2 * MINUTE)
      monitor.malformed({ remoteAddr: tcp('192.0.2.9'), error: 'EchDecodeError' })
      clock.advance(10 * MINUTE)
      monitor.malformed({ remoteAddr: tcp('192.0.2.9'), error: 'EchDecodeError' })
      expect(threats.map(t => [t.severity, t.count])).to.deep.equal([['low', 1], ['medium', 2], ['low', 1]])
    })

    it('each IP gets its own first event', () => {
      const { monitor, threats } = harness()
      monitor.malformed({ remoteAddr: tcp('192.0.2.1'), error: 'EchDecodeError' })
      monitor.malformed({ remoteAddr: tcp('192.0.2.2'), error: 'EchDecodeError' })
      monitor.malformed({ remoteAddr: tcp('192.0.2.2'), error: 'EchDecodeError' })
      expect(threats.map(t => t.remoteAddr?.toString())).to.deep.equal(['/ip4/192.0.2.1/tcp/4001', '/ip4/192.0.2.2/tcp/4001'])
    })
  })

  describe('require-refusals', () => {
    it('fires above 10 refusals a minute from one source', () => {
      const { monitor, threats } = harness()
      for (let i = 0; i < 10; i++) {
        monitor.requireRefused({ role: 'responder', remoteAddr: tcp('192.0.2.200', i + 1) })
      }
      expect(threats).to.have.length(0)
      monitor.requireRefused({ role: 'responder', remoteAddr: tcp('192.0.2.200'), reason: 'not-offered' })
      expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([['require-refusals', 'medium', 11, 'not-offered']])
      expect(monitor.getCounters().requireRefusals).to.equal(11)
    })

    it('honours a custom limit and window', () => {
      const { monitor, clock, threats } = harness({ requireRefusals: { limit: 1, windowMs: 10 * SECOND } })
      monitor.requireRefused({ role: 'responder' })
      clock.advance(10 * SECOND)
      monitor.requireRefused({ role: 'responder' })
      expect(threats).to.have.length(0)
      monitor.requireRefused({ role: 'responder' })
      expect(threats.map(t => t.count)).to.deep.equal([3])
    })

    it('does not fire when spread out, and ignores a report with an unknown role', () => {
      const { monitor, clock, threats } = harness()
      for (let i = 0; i < 30; i++) {
        monitor.requireRefused({ role: 'initiator', remoteAddr: tcp('192.0.2.200') })
        clock.advance(7 * SECOND)
      }
      monitor.requireRefused({ role: 'spy' as any })
      expect(threats).to.have.length(0)
      expect(monitor.getCounters().requireRefusals).to.equal(30)
    })
  })

  describe('bad retry configs', () => {
    it('is high, per peer, rate-limited like the others', () => {
      const { monitor, threats } = harness()
      const peer = fakePeer('12D3KooWBad')
      monitor.retryConfigsRefused({ remotePeer: peer, error: Object.assign(new Error('bad sig'), { name: 'InvalidSignatureError' }) })
      monitor.retryConfigsRefused({ remotePeer: peer })
      expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([['bad-retry-configs', 'high', 1, 'InvalidSignatureError']])
      expect(monitor.getCounters().threats['bad-retry-configs']).to.equal(2)
    })
  })

  describe('normal traffic', () => {
    it('1,000 ordinary handshakes from a handful of peers and addresses raise no threat', () => {
      const { monitor, clock, threats } = harness()
      const peers = Array.from({ length: 6 }, (_, i) => fakePeer(`12D3KooWPeer${i}`))
      const addrs = ['192.0.2.1', '192.0.2.2', '198.51.100.7', '2001:db8::1', '2001:db8:0:1::1'].map(ip => tcp(ip))
      for (let i = 0; i < 1000; i++) {
        const remotePeer = peers[i % peers.length]
        const remoteAddr = addrs[i % addrs.length]
        const kind = i % 4
        if (kind === 0) {
          // inbound ECH: accepted
          monitor.outerHelloAccepted({ enc: enc(), remoteAddr, remotePeer })
          monitor.handshake(handshake({ role: 'responder', remotePeer, remoteAddr }))
        } else if (kind === 1) {
          // inbound plain Noise
          monitor.fallback('not-offered', remotePeer)
          monitor.handshake(handshake({ role: 'responder', outcome: 'not-offered', path: 'stock', remotePeer, remoteAddr }))
        } else if (kind === 2) {
          monitor.handshake(handshake({ remotePeer, remoteAddr }))
        } else {
          monitor.fallback('no-config', remotePeer)
          monitor.handshake(handshake({ outcome: 'fallback', path: 'stock', reason: 'no-config', remotePeer, remoteAddr }))
        }
        clock.advance(250)
      }
      // a key rotation: a few stale hellos fail and peers get retry configs
      for (let i = 0; i < 5; i++) {
        monitor.outerHelloFailed({ enc: enc(), reason: 'unknown-config', remoteAddr: addrs[i] })
        monitor.handshake(handshake({ outcome: 'rejected', retryConfigs: true, remotePeer: peers[i] }))
      }
      expect(threats).to.deep.equal([])
      expect(Object.values(monitor.getCounters().threats).every(n => n === 0)).to.equal(true)
      expect(monitor.getCounters().handshakes).to.include({ responder_accepted: 250, 'responder_not-offered': 250, initiator_accepted: 250, initiator_fallback: 250, initiator_rejected: 5 })
    })
  })

  describe('bounded memory under a flood', () => {
    it('100,000 distinct IPs, encs and peers leave every tracker at or under its cap', function () {
      this.timeout(60_000)
      const caps = { maxSources: 1000, maxReplayEntries: 2000, maxPeers: 500, maxRecentThreats: 50 }
      const { monitor, clock, threats } = harness(caps)
      for (let i = 0; i < 100_000; i++) {
        const remoteAddr = tcp(ipOf(i))
        monitor.outerHelloFailed({ enc: encOf(i), remoteAddr })
        monitor.outerHelloAccepted({ enc: encOf(-1 - i), remoteAddr })
        monitor.outerHelloAccepted({ enc: encOf(-1 - i), remoteAddr })
        monitor.probe({ remoteAddr })
        monitor.stalled({ remoteAddr, stage: 'message1' })
        monitor.inboundStarted(remoteAddr)
        monitor.offerFailed({ remotePeer: fakePeer(`peer${i}`), remoteAddr, authenticated: false })
        monitor.malformed({ remoteAddr, error: 'EchDecodeError' })
        monitor.requireRefused({ role: 'responder', remoteAddr })
        monitor.retryConfigsRefused({ remotePeer: fakePeer(`peer${i}`) })
        monitor.handshake(handshake({ remotePeer: fakePeer(`peer${i}`) }))
        if (i % 1000 === 0) {
          const sizes = monitor.getTrackerSizes()
          expect(sizes.probing).to.be.at.most(caps.maxSources)
          expect(sizes.replay).to.be.at.most(caps.maxReplayEntries)
          expect(sizes.halfOpen).to.be.at.most(caps.maxSources)
        }
        clock.advance(1)
      }
      expect(monitor.getTrackerSizes()).to.deep.equal({
        probing: 1000, malformed: 1000, requireRefusals: 1000, retryConfigs: 1000, slowHandshakes: 1000, halfOpen: 1000, replay: 2000, replaySources: 1000, acceptedPeers: 500, recentThreats: 50
      })
      // 100,000 sources each earn a first malformed, bad-retry and replay event; the global budget
      // lets through the burst plus 10/s over the 100 s of scripted time
      expect(threats.length).to.be.at.most(MONITOR_DEFAULTS.threatEventBurst + 10 * 100)
      const counters = monitor.getCounters()
      expect(counters.suppressedThreatEvents).to.equal(300_000 - threats.length)
      expect(counters.threats.malformed).to.equal(100_000)
      expect(counters.threats.replay).to.equal(100_000)
    })

    it('the default caps hold too', function () {
      this.timeout(60_000)
      const { monitor } = harness()
      for (let i = 0; i < 100_000; i++) {
        monitor.outerHelloAccepted({ enc: encOf(i), remoteAddr: tcp(ipOf(i)) })
        monitor.probe({ remoteAddr: tcp(ipOf(i)) })
      }
      const sizes = monitor.getTrackerSizes()
      expect(sizes.probing).to.equal(MONITOR_DEFAULTS.maxSources)
      expect(sizes.replay).to.equal(MONITOR_DEFAULTS.maxReplayEntries)
      monitor.stop()
      expect(Object.values(monitor.getTrackerSizes()).every(n => n === 0)).to.equal(true)
    })
  })
})
