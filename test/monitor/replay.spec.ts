import { expect } from 'aegir/chai'
import { MONITOR_DEFAULTS } from '../../src/monitor/index.js'
import { MINUTE, enc, encOf, harness, tcp } from './helpers.js'

describe('monitor/replay', () => {
  it('a hello that opened whose enc comes back is a high-severity replay', () => {
    const { monitor, clock, threats } = harness()
    const e = enc()
    expect(monitor.outerHelloAccepted({ enc: e, remoteAddr: tcp('192.0.2.10') })).to.equal(false)
    clock.advance(9 * MINUTE)
    expect(monitor.outerHelloAccepted({ enc: e.slice(), remoteAddr: tcp('192.0.2.66') })).to.equal(true)
    expect(threats).to.have.length(1)
    expect(threats[0]).to.include({ kind: 'replay', severity: 'high', count: 2 })
    expect(threats[0].remoteAddr?.toString()).to.equal('/ip4/192.0.2.66/tcp/4001')
  })

  it('a hello that opened, replayed once it no longer opens (its key retired), is still a high replay', () => {
    const { monitor, threats } = harness()
    const e = enc()
    monitor.outerHelloAccepted({ enc: e })
    expect(monitor.outerHelloFailed({ enc: e, reason: 'unknown-config' })).to.equal(true)
    expect(threats.map(t => [t.kind, t.severity, t.count, t.error])).to.deep.equal([['replay', 'high', 2, 'unknown-config']])
  })

  it('an enc that never opened is not remembered: repeated undecryptable bytes are no replay (the attacker chose them)', () => {
    const { monitor, threats } = harness()
    const e = enc()
    monitor.outerHelloFailed({ enc: e, remoteAddr: tcp('192.0.2.10') })
    expect(monitor.outerHelloFailed({ enc: e, remoteAddr: tcp('192.0.2.10') })).to.equal(false)
    monitor.outerHelloAccepted({ enc: e })
    expect(threats).to.deep.equal([])
    expect(monitor.getTrackerSizes().replay).to.equal(1)
  })

  it('forgets an enc replayWindowMs after it was first seen; a replay does not extend that', () => {
    const { monitor, clock, threats } = harness()
    const e = enc()
    monitor.outerHelloAccepted({ enc: e })
    clock.advance(MONITOR_DEFAULTS.replayWindowMs - 1)
    expect(monitor.outerHelloAccepted({ enc: e })).to.equal(true)
    clock.advance(1)
    expect(monitor.outerHelloAccepted({ enc: e })).to.equal(false)
    expect(threats.map(t => t.count)).to.deep.equal([2])
  })

  it('a failed hello without enc only counts as failed', () => {
    const { monitor } = harness()
    expect(monitor.outerHelloFailed({ reason: 'wrong-peer' })).to.equal(false)
    expect(monitor.getTrackerSizes().replay).to.equal(0)
    expect(monitor.getCounters().outerHellos.failed).to.equal(1)
  })

  describe('bounded memory', () => {
    it('100,000 outer hellos with random enc that do not open (GREASE, a flood) leave the replay tracker empty', () => {
      const { monitor } = harness()
      for (let i = 0; i < 100_000; i++) {
        monitor.outerHelloFailed({ enc: encOf(i), reason: 'open-failed' })
      }
      expect(monitor.getTrackerSizes().replay).to.equal(0)
      expect(monitor.getCounters().outerHellos.failed).to.equal(100_000)
    })

    it('opened hellos beyond maxReplayEntries evict the oldest first, never exceeding the cap', () => {
      const { monitor } = harness({ maxReplayEntries: 1000 })
      for (let i = 0; i < 2500; i++) {
        monitor.outerHelloAccepted({ enc: encOf(i) })
        expect(monitor.getTrackerSizes().replay).to.be.at.most(1000)
      }
      expect(monitor.getTrackerSizes().replay).to.equal(1000)
      // the newest 1000 (1500..2499) are remembered, the older ones are not
      expect(monitor.outerHelloAccepted({ enc: encOf(1500) })).to.equal(true)
      expect(monitor.outerHelloAccepted({ enc: encOf(2499) })).to.equal(true)
      expect(monitor.outerHelloAccepted({ enc: encOf(1499) })).to.equal(false)
      expect(monitor.getCounters().threats.replay).to.equal(2)
    })

    it('the default cap holds across expiry and refill', () => {
      const { monitor, clock } = harness()
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 70_000; i++) {
          monitor.outerHelloAccepted({ enc: encOf(round * 70_000 + i) })
        }
        expect(monitor.getTrackerSizes().replay).to.equal(MONITOR_DEFAULTS.maxReplayEntries)
        clock.advance(MONITOR_DEFAULTS.replayWindowMs / 2)
      }
      clock.advance(MONITOR_DEFAULTS.replayWindowMs)
      monitor.outerHelloAccepted({ enc: enc() })
      expect(monitor.getTrackerSizes().replay).to.equal(1)
      monitor.stop()
      expect(monitor.getTrackerSizes().replay).to.equal(0)
    })
  })
})
