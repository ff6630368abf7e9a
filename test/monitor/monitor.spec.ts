import { expect } from 'aegir/chai'
import { TypedEventEmitter } from 'main-event'
import { AUDIT_FIELDS, EchMonitor, MONITOR_DEFAULTS } from '../../src/monitor/index.js'
import { MINUTE, T0, collect, enc, fakePeer, harness, recordingLogger, tcp } from './helpers.js'
import type { AuditEntry, EchHandshakeReport, EchMonitorEvents } from '../../src/monitor/index.js'

const peer = fakePeer('12D3KooWAuditPeer')

/** Drive one of every audited event through the monitor */
function scriptEverything (monitor: EchMonitor, secret: Uint8Array): void {
  monitor.handshake({ role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: 3, remotePeer: peer, configId: 9 })
  monitor.handshake({ role: 'initiator', outcome: 'rejected', path: 'ech', durationMs: 3, remotePeer: peer, remoteAddr: tcp('192.0.2.5'), reason: 'require-refused' })
  monitor.outerHelloAccepted({ enc: secret, remoteAddr: tcp('192.0.2.6'), remotePeer: peer })
  monitor.outerHelloAccepted({ enc: secret, remoteAddr: tcp('192.0.2.6') })
  // an error whose message carries something secret-looking: only its name may be logged
  monitor.malformed({ remoteAddr: tcp('192.0.2.7'), error: Object.assign(new Error(`bad hello ${Buffer.from(secret).toString('hex')}`), { name: 'EchDecodeError', field: 'enc', enc: secret }) })
  for (let i = 0; i < 11; i++) {
    monitor.outerHelloFailed({ remoteAddr: tcp('192.0.2.8'), reason: 'open-failed' })
    monitor.probe({ remoteAddr: tcp('192.0.2.8'), reason: 'open-failed' })
    monitor.requireRefused({ role: 'responder', remoteAddr: tcp('192.0.2.9') })
  }
  for (let i = 0; i < 11; i++) {
    monitor.stalled({ remoteAddr: tcp('192.0.2.10'), stage: 'message1' })
  }
  for (let i = 0; i < 9; i++) {
    monitor.inboundStarted(tcp('192.0.2.11'))
  }
  monitor.retryConfigsRefused({ remotePeer: peer, error: new Error('nope') })
  monitor.rotation({ added: 42, retired: [7, 9] })
  monitor.breaker({ peer: peer.toString(), state: 'open', failures: 3, cooldownMs: 60_000 })
}

describe('monitor/monitor', () => {
  describe('events', () => {
    it('dispatches ech:<outcome> and ech:outcome with the report object itself, on the monitor and on `events`', () => {
      const target = new TypedEventEmitter<EchMonitorEvents>()
      const { monitor } = harness({ events: target })
      const mine = collect(monitor, 'ech:outcome')
      const accepted: unknown[] = []
      const outcome: unknown[] = []
      target.addEventListener('ech:accepted', e => accepted.push(e.detail))
      target.addEventListener('ech:outcome', e => outcome.push(e.detail))
      const report = { role: 'responder', direction: 'inbound', outcome: 'accepted', path: 'ech', durationMs: 4 } as const
      monitor.handshake(report)
      expect(accepted).to.have.length(1)
      expect(accepted[0]).to.equal(report)
      expect(outcome[0]).to.equal(report)
      expect(mine[0]).to.equal(report)
    })

    it('every outcome has its event; a failure is ech:error and not ech:outcome', () => {
      const { monitor } = harness()
      const seen: string[] = []
      for (const type of ['ech:accepted', 'ech:rejected', 'ech:grease', 'ech:not-offered', 'ech:fallback', 'ech:outcome', 'ech:error'] as const) {
        monitor.addEventListener(type, (e) => seen.push(`${type}:${e.detail.outcome}`))
      }
      for (const outcome of ['accepted', 'rejected', 'grease', 'not-offered', 'fallback', 'failed'] as const) {
        monitor.handshake({ role: 'initiator', outcome, path: 'ech', durationMs: 1 })
      }
      expect(seen).to.deep.equal([
        'ech:accepted:accepted', 'ech:outcome:accepted',
        'ech:rejected:rejected', 'ech:outcome:rejected',
        'ech:grease:grease', 'ech:outcome:grease',
        'ech:not-offered:not-offered', 'ech:outcome:not-offered',
        'ech:fallback:fallback', 'ech:outcome:fallback',
        'ech:error:failed'
      ])
    })

    it('a require-mode rejection (outcome with error) is ech:rejected, ech:outcome and ech:error, counted once, not timed', () => {
      const { monitor } = harness()
      const seen: string[] = []
      for (const type of ['ech:rejected', 'ech:outcome', 'ech:error'] as const) {
        monitor.addEventListener(type, () => seen.push(type))
      }
      monitor.handshake({ role: 'initiator', outcome: 'rejected', path: 'ech', durationMs: 9, error: 'EchRejectedError', reason: 'require-refused' })
      expect(seen).to.deep.equal(['ech:rejected', 'ech:outcome', 'ech:error'])
      expect(monitor.getCounters().handshakes.initiator_rejected).to.equal(1)
      expect(monitor.getCounters().handshakes.initiator_failed).to.equal(0)
    })

    it('rotation and breaker changes are events', () => {
      const { monitor } = harness()
      const rotated = collect(monitor, 'ech:rotated')
      const breakers = collect(monitor, 'ech:breaker')
      monitor.rotation({ added: 1, retired: [] })
      monitor.breaker({ peer: 'p', state: 'half-open' })
      monitor.breaker({ peer: 'p', state: 'closed' })
      expect(rotated).to.deep.equal([{ added: 1, retired: [] }])
      expect(breakers.map(b => b.state)).to.deep.equal(['half-open', 'closed'])
    })

    it('dispatches no event of a type nobody listens to, on the monitor or on a typed `events`, and still counts it; a listener added later gets the next one', () => {
      const target = new TypedEventEmitter<EchMonitorEvents>()
      const { monitor } = harness({ events: target })
      const dispatched: string[] = []
      for (const emitter of [monitor, target] as EventTarget[]) {
        const dispatch = emitter.dispatchEvent.bind(emitter)
        emitter.dispatchEvent = (evt: Event): boolean => {
          dispatched.push(`${emitter === monitor ? 'monitor' : 'events'} ${evt.type}`)
          return dispatch(evt)
        }
      }
      const report = { role: 'responder', direction: 'inbound', outcome: 'not-offered', path: 'stock', durationMs: 4 } as const
      monitor.handshake(report)
      expect(dispatched).to.deep.equal([])
      expect(monitor.getCounters().handshakes['responder_not-offered']).to.equal(1)

      const mine = collect(monitor, 'ech:outcome')
      const theirs: unknown[] = []
      target.addEventListener('ech:not-offered', e => theirs.push(e.detail))
      monitor.handshake(report)
      expect(dispatched).to.deep.equal(['events ech:not-offered', 'monitor ech:outcome'])
      expect(mine).to.deep.equal([report])
      expect(theirs).to.deep.equal([report])
      expect(monitor.getCounters().handshakes['responder_not-offered']).to.equal(2)
    })

    it('an `events` target that cannot count its listeners (a plain EventTarget) gets every event', () => {
      const target = new EventTarget()
      const { monitor } = harness({ events: target })
      const dispatched: string[] = []
      const dispatch = target.dispatchEvent.bind(target)
      target.dispatchEvent = (evt: Event): boolean => {
        dispatched.push(evt.type)
        return dispatch(evt)
      }
      monitor.handshake({ role: 'initiator', outcome: 'fallback', path: 'stock', durationMs: 1 })
      expect(dispatched).to.deep.equal(['ech:fallback', 'ech:outcome'])
    })

    it('ignores a handshake report with an unknown role or outcome (from untyped callers)', () => {
      const { monitor } = harness()
      const all = collect(monitor, 'ech:outcome')
      monitor.handshake({ role: 'initiator', outcome: 'bogus', path: 'ech', durationMs: 1 } as unknown as EchHandshakeReport)
      monitor.handshake({ role: 'x', outcome: 'accepted', path: 'ech', durationMs: 1 } as unknown as EchHandshakeReport)
      expect(all).to.have.length(0)
      expect(Object.values(monitor.getCounters().handshakes).every(n => n === 0)).to.equal(true)
    })
  })

  describe('per-source limit before the global event budget', () => {
    it('a replay flood from one source does not drain the budget: a malformed hello from another source is still emitted', () => {
      const { monitor, threats } = harness()
      const captured = enc()
      monitor.outerHelloAccepted({ enc: captured, remoteAddr: tcp('192.0.2.10') })
      for (let i = 0; i < 1000; i++) {
        monitor.outerHelloAccepted({ enc: captured, remoteAddr: tcp('203.0.113.66', 1024 + i) })
      }
      monitor.malformed({ remoteAddr: tcp('198.51.100.1'), error: 'EchDecodeError' })
      expect(threats.map(t => [t.kind, t.count])).to.deep.equal([['replay', 2], ['malformed', 1]])
      expect(monitor.getCounters().threats.replay).to.equal(1000)
      expect(monitor.getCounters().suppressedThreatEvents).to.equal(0)
    })

    it('every kind goes through the per-source interval: one source flooding each kind gets one event per kind', () => {
      const { monitor, threats } = harness({ threatEventBurst: 1000, malformedMediumAt: 100, preAuthFailuresAt: 1, maxHalfOpen: 0, probing: { limit: 0 }, requireRefusals: { limit: 0 }, slowHandshakes: { limit: 0 } })
      const remoteAddr = tcp('203.0.113.66')
      const captured = enc()
      monitor.outerHelloAccepted({ enc: captured, remoteAddr })
      monitor.handshake({ role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: 1, remotePeer: peer })
      for (let i = 0; i < 20; i++) {
        monitor.outerHelloAccepted({ enc: captured, remoteAddr })
        monitor.probe({ remoteAddr })
        monitor.malformed({ remoteAddr, error: 'EchDecodeError' })
        monitor.requireRefused({ role: 'responder', remoteAddr })
        monitor.retryConfigsRefused({ remotePeer: peer, remoteAddr })
        monitor.offerFailed({ remotePeer: peer, remoteAddr, authenticated: false })
        monitor.stalled({ remoteAddr, stage: 'message1' })
        monitor.inboundStarted(remoteAddr)
      }
      const kinds = threats.map(t => t.kind).sort()
      expect(kinds).to.deep.equal(['bad-retry-configs', 'downgrade', 'half-open', 'malformed', 'probing', 'replay', 'require-refusals', 'slow-handshake'])
      expect(Object.values(monitor.getCounters().threats)).to.deep.equal(new Array(8).fill(20))
    })
  })

  describe('global threat event budget', () => {
    it('lets a burst through, then the sustained rate; the rest are counted, not dispatched', () => {
      const { monitor, clock, threats } = harness({ threatEventBurst: 5, threatEventsPerSecond: 1 })
      for (let i = 0; i < 50; i++) {
        monitor.malformed({ remoteAddr: tcp(`192.0.2.${i + 1}`), error: 'EchDecodeError' })
      }
      expect(threats).to.have.length(5)
      clock.advance(3000)
      for (let i = 50; i < 60; i++) {
        monitor.malformed({ remoteAddr: tcp(`192.0.2.${i + 1}`), error: 'EchDecodeError' })
      }
      expect(threats).to.have.length(8)
      expect(monitor.getCounters()).to.include({ suppressedThreatEvents: 52 })
      expect(monitor.getCounters().threats.malformed).to.equal(60)
      expect(monitor.getRecentThreats()).to.have.length(8)
    })
  })

  describe('audit log', () => {
    it('writes one JSON line per security event to libp2p:noise-ech:audit, and the same entry to the sink', () => {
      const entries: AuditEntry[] = []
      const { logger, lines } = recordingLogger()
      const monitor = new EchMonitor({ logger }, { now: () => T0, auditSink: e => entries.push(e) })
      scriptEverything(monitor, enc())
      const audit = lines.filter(l => l.component === 'libp2p:noise-ech:audit')
      expect(audit.map(l => JSON.parse(l.args[1] as string))).to.deep.equal(entries)
      expect(audit.every(l => l.level === 'log' && l.args[0] === '%s')).to.equal(true)
      expect(entries.map(e => e.event === 'threat' ? `${e.kind}/${e.severity}` : e.event)).to.deep.equal([
        'downgrade/high', 'replay/high', 'malformed/low', 'probing/medium', 'require-refusals/medium', 'slow-handshake/medium', 'half-open/medium', 'bad-retry-configs/high', 'rotation', 'breaker'
      ])
      // the breaker opening for a peer that accepted before is one more downgrade, its event held back by the per-peer interval
      expect(monitor.getCounters().threats.downgrade).to.equal(2)
      expect(entries[0]).to.deep.equal({
        time: '2025-01-01T00:00:00.000Z',
        event: 'threat',
        kind: 'downgrade',
        severity: 'high',
        remotePeer: '12D3KooWAuditPeer',
        remoteAddr: '/ip4/192.0.2.5/tcp/4001',
        count: 1,
        reason: 'require-refused'
      })
      expect(entries.slice(-2)).to.deep.equal([
        { time: '2025-01-01T00:00:00.000Z', event: 'rotation', configId: 42, count: 2, reason: 'retired:7,9' },
        { time: '2025-01-01T00:00:00.000Z', event: 'breaker', remotePeer: '12D3KooWAuditPeer', reason: 'open', count: 3 }
      ])
    })

    it('entries carry only the allowed fields and nothing derived from enc or error messages', () => {
      const entries: AuditEntry[] = []
      const { monitor } = harness({ auditSink: e => entries.push(e) })
      const secret = enc()
      scriptEverything(monitor, secret)
      expect(entries).to.have.length(10)
      for (const entry of entries) {
        for (const key of Object.keys(entry)) {
          expect(AUDIT_FIELDS, `field ${key}`).to.include(key)
        }
        expect(Object.isFrozen(entry)).to.equal(true)
      }
      // a threat entry with every field present has exactly the allowed set, minus configId
      expect(Object.keys(entries[0]).sort()).to.deep.equal(AUDIT_FIELDS.filter(f => f !== 'configId').sort())
      const text = JSON.stringify(entries)
      const hex = Buffer.from(secret).toString('hex')
      expect(text).to.not.include(hex.slice(0, 16))
      expect(text).to.not.include(Buffer.from(secret).toString('base64').slice(0, 12))
      expect(text).to.not.include('bad hello')
      expect(text).to.not.include('nope')
      expect(entries.find(e => e.kind === 'malformed')?.reason).to.equal('EchDecodeError:enc')
    })

    it('a throwing sink does not break the monitor: events and later entries still flow, failures are counted', () => {
      let calls = 0
      const { monitor, threats, lines } = harness({ auditSink: () => { calls++; throw new Error('sink down') } })
      scriptEverything(monitor, enc())
      expect(calls).to.equal(10)
      expect(threats).to.have.length(8)
      expect(monitor.getCounters().auditSinkErrors).to.equal(10)
      expect(lines.filter(l => l.component === 'libp2p:noise-ech:monitor' && l.args[0] === 'audit sink failed - %e')).to.have.length(10)
    })

    it('a rejecting async sink is contained (no unhandled rejection)', async () => {
      const unhandled: unknown[] = []
      const onUnhandled = (err: unknown): void => { unhandled.push(err) }
      process.on('unhandledRejection', onUnhandled)
      try {
        const { monitor } = harness({ auditSink: (async () => { throw new Error('async sink down') }) as unknown as (e: AuditEntry) => void })
        monitor.rotation({ added: 1, retired: [] })
        await new Promise(resolve => setTimeout(resolve, 20))
        expect(unhandled).to.deep.equal([])
        expect(monitor.getCounters().auditSinkErrors).to.equal(1)
      } finally {
        process.off('unhandledRejection', onUnhandled)
      }
    })
  })

  describe('status helpers', () => {
    it('getRecentThreats returns the newest first, at most the ring size', () => {
      const { monitor, clock } = harness({ maxRecentThreats: 3 })
      for (let i = 0; i < 5; i++) {
        monitor.malformed({ remoteAddr: tcp(`192.0.2.${i + 1}`), error: 'EchDecodeError' })
        clock.advance(MINUTE)
      }
      expect(monitor.getRecentThreats().map(t => t.remoteAddr)).to.deep.equal(['/ip4/192.0.2.5/tcp/4001', '/ip4/192.0.2.4/tcp/4001', '/ip4/192.0.2.3/tcp/4001'])
      expect(monitor.getRecentThreats(1)).to.have.length(1)
    })

    it('getCounters is a snapshot', () => {
      const { monitor } = harness()
      monitor.fallback('breaker-open', peer)
      monitor.fallback('rollout')
      monitor.fallback('made-up' as any)
      const counters = monitor.getCounters()
      expect(counters.fallbacks).to.deep.equal({ disabled: 0, rollout: 1, 'breaker-open': 1, 'address-refused': 0, 'config-refused': 0, 'no-peer-id': 0, 'no-config': 0, 'expired-config': 0, 'unusable-config': 0, 'not-offered': 0, other: 1 })
      counters.fallbacks.rollout = 99
      expect(monitor.getCounters().fallbacks.rollout).to.equal(1)
    })

    it('stop forgets tracked state', () => {
      const { monitor } = harness()
      scriptEverything(monitor, enc())
      expect(Object.values(monitor.getTrackerSizes()).some(n => n > 0)).to.equal(true)
      monitor.stop()
      expect(monitor.getTrackerSizes()).to.deep.equal({ probing: 0, malformed: 0, requireRefusals: 0, retryConfigs: 0, slowHandshakes: 0, halfOpen: 0, replay: 0, replaySources: 0, acceptedPeers: 0, recentThreats: 0 })
    })

    it('works with the default clock and no options', () => {
      const monitor = new EchMonitor({ logger: recordingLogger().logger })
      const threats = collect(monitor, 'ech:threat')
      monitor.malformed({ error: 'EchDecodeError' })
      expect(threats[0]).to.include({ kind: 'malformed', count: 1 })
      expect(Date.parse(monitor.getRecentThreats()[0].time)).to.be.closeTo(Date.now(), 5000)
    })
  })

  describe('options', () => {
    it('has documented defaults', () => {
      expect(MONITOR_DEFAULTS).to.deep.equal({
        probing: { limit: 10, windowMs: 60_000 },
        requireRefusals: { limit: 10, windowMs: 60_000 },
        slowHandshakes: { limit: 10, windowMs: 60_000 },
        maxHalfOpen: 8,
        malformedMediumAt: 10,
        countMemoryMs: 600_000,
        replayWindowMs: 600_000,
        maxReplayEntries: 65_536,
        downgradeMemoryMs: 7 * 24 * 3600_000,
        maxPeers: 10_000,
        preAuthFailuresAt: 3,
        maxSources: 10_000,
        eventIntervalMs: 60_000,
        threatEventBurst: 100,
        threatEventsPerSecond: 10,
        maxRecentThreats: 100,
        ipv6PrefixLength: 64
      })
    })

    const bad: Array<[string, object]> = [
      ['maxSources 0', { maxSources: 0 }],
      ['negative window', { probing: { windowMs: -1 } }],
      ['NaN limit', { requireRefusals: { limit: NaN } }],
      ['prefix over 128', { ipv6PrefixLength: 129 }],
      ['string', { maxPeers: '10' }],
      ['preAuthFailuresAt 0', { preAuthFailuresAt: 0 }],
      ['negative maxHalfOpen', { maxHalfOpen: -1 }],
      ['slowHandshakes window 0', { slowHandshakes: { windowMs: 0 } }]
    ]
    for (const [name, init] of bad) {
      it(`rejects ${name} with InvalidParametersError`, () => {
        let error: Error | undefined
        try {
          // eslint-disable-next-line no-new
          new EchMonitor({ logger: recordingLogger().logger }, init)
        } catch (err: any) {
          error = err
        }
        expect(error?.name).to.equal('InvalidParametersError')
      })
    }

    it('inboundStarted returns the source it counts against; inboundEnded with it ends a handshake of that source', () => {
      const { monitor, threats } = harness({ ipv6PrefixLength: 48, maxHalfOpen: 1 })
      expect(monitor.ipv6PrefixLength).to.equal(48)
      const source = monitor.inboundStarted(tcp('2001:db8:1:2::7'))
      expect(source).to.equal('2001:db8:1::/48')
      monitor.inboundEnded(tcp('2001:db8:1:2::7'), source)
      // the same /48: one open at a time is under the limit
      const next = monitor.inboundStarted(tcp('2001:db8:1:3::8'))
      expect(next).to.equal(source)
      monitor.inboundEnded(tcp('2001:db8:1:3::8'))
      monitor.inboundStarted(tcp('2001:db8:1:4::9'))
      expect(threats).to.have.length(0)
      // a second one open at once is over it
      monitor.inboundStarted(tcp('2001:db8:1:5::a'))
      expect(threats.map(t => t.kind)).to.deep.equal(['half-open'])
    })

    it('ipv6PrefixLength 128 keys each IPv6 address on its own', () => {
      const { monitor, threats } = harness({ ipv6PrefixLength: 128 })
      for (let i = 1; i <= 20; i++) {
        monitor.probe({ remoteAddr: tcp(`2001:db8::${i}`) })
      }
      expect(threats).to.have.length(0)
      for (let i = 1; i <= 11; i++) {
        monitor.probe({ remoteAddr: tcp('2001:db8::1') })
      }
      expect(threats.map(t => t.kind)).to.deep.equal(['probing'])
    })
  })
})
