import { expect } from 'aegir/chai'
import { Clock, fakePeer, HOUR, MINUTE, peer, peers, policy, show, stopAll } from './helpers.js'
import type { EchPolicy } from '../../src/policy/policy.js'
import type { BreakerEventDetail, EchPolicyInit } from '../../src/policy/types.js'
import type { PeerId } from '@libp2p/interface'

type Seen = Array<[string, BreakerEventDetail]>

function watch (p: EchPolicy): Seen {
  const seen: Seen = []
  for (const type of ['breaker:open', 'breaker:half-open', 'breaker:close'] as const) {
    p.addEventListener(type, (evt) => { seen.push([type, evt.detail]) })
  }
  return seen
}

function fail (p: EchPolicy, id: PeerId, times: number): void {
  for (let i = 0; i < times; i++) { p.recordFailure(id, 'reset') }
}

describe('policy/breaker', () => {
  let clock: Clock
  let a: PeerId
  let b: PeerId

  before(async () => {
    [a, b] = await peers(2)
  })

  beforeEach(() => {
    clock = new Clock()
  })

  afterEach(stopAll)

  function make (init: EchPolicyInit = {}): EchPolicy {
    return policy({}, { now: clock.now, ...init })
  }

  /** Open the breaker, then fail `trials` trials; returns the cool-downs seen */
  function cooldowns (p: EchPolicy, id: PeerId, trials: number): number[] {
    fail(p, id, 3)
    const seen: number[] = []
    for (let i = 0; i <= trials; i++) {
      const { cooldownMs, openUntil } = p.getState().openBreakers[0]
      seen.push(cooldownMs)
      clock.t = openUntil
      if (i < trials) {
        expect(show(p.decide(id))).to.equal('trial')
        p.recordFailure(id, 'timeout')
      }
    }
    return seen
  }

  /** A watched policy whose breaker for `a` failed `trials` trials and now holds the next one */
  function inTrial (trials: number): { p: EchPolicy, seen: Seen } {
    const p = make()
    const seen = watch(p)
    cooldowns(p, a, trials)
    expect(show(p.decide(a))).to.equal('trial')
    return { p, seen }
  }

  it('opens after 3 consecutive failures of any kind, for this peer only', () => {
    const p = make()
    const seen = watch(p)
    p.recordFailure(a, 'reset')
    p.recordFailure(a, 'decode')
    expect(show(p.decide(a))).to.equal('offer')
    p.recordFailure(a, 'close')
    expect(show(p.decide(a))).to.equal('breaker-open')
    expect(show(p.decide(b))).to.equal('offer')
    expect(seen).to.deep.equal([['breaker:open', { peer: a.toString(), failures: 3, cooldownMs: MINUTE }]])
    expect(p.getState().openBreakers).to.deep.equal([
      { peer: a.toString(), state: 'open', failures: 3, openUntil: clock.t + MINUTE, cooldownMs: MINUTE }
    ])
  })

  it('honours a custom threshold and counts every failure kind', () => {
    const p = make({ failureThreshold: 5 })
    for (const kind of ['reset', 'close', 'timeout', 'decode'] as const) { p.recordFailure(a, kind) }
    expect(show(p.decide(a))).to.equal('offer')
    p.recordFailure(a, 'other')
    expect(show(p.decide(a))).to.equal('breaker-open')
  })

  it('keeps the breaker open for the cool-down, then allows exactly one trial', () => {
    const p = make()
    const seen = watch(p)
    fail(p, a, 3)
    clock.advance(MINUTE - 1)
    expect(show(p.decide(a))).to.equal('breaker-open')
    clock.advance(1)
    expect(show(p.decide(a))).to.equal('trial')
    expect(p.decide(a)).to.deep.equal({ offer: false, reason: 'breaker-open' })
    expect(show(p.decide(a))).to.equal('breaker-open')
    expect(p.getState().openBreakers[0].state).to.equal('half-open')
    expect(seen.map(([type]) => type)).to.deep.equal(['breaker:open', 'breaker:half-open'])
    expect(seen[1][1]).to.deep.equal({ peer: a.toString(), failures: 3, cooldownMs: MINUTE })
  })

  it('doubles the cool-down on each failed trial up to the 1 h cap', () => {
    expect(cooldowns(make(), a, 8)).to.deep.equal([1, 2, 4, 8, 16, 32, 60, 60, 60].map(m => m * MINUTE))
  })

  it('caps a custom backoff', () => {
    expect(cooldowns(make({ cooldownMs: 1000, maxCooldownMs: 5000 }), a, 4)).to.deep.equal([1000, 2000, 4000, 5000, 5000])
    clock = new Clock()
    expect(cooldowns(make({ cooldownMs: 1000, maxCooldownMs: 1000 }), b, 2)).to.deep.equal([1000, 1000, 1000])
  })

  it('closes on a successful trial and forgets the backoff and the failures', () => {
    const { p, seen } = inTrial(2)
    p.recordSuccess(a)
    expect(seen.at(-1)).to.deep.equal(['breaker:close', { peer: a.toString(), failures: 5, cooldownMs: 4 * MINUTE }])
    expect(p.getState().openBreakers).to.deep.equal([])
    expect(show(p.decide(a))).to.equal('offer')
    fail(p, a, 2)
    expect(show(p.decide(a))).to.equal('offer')
    p.recordFailure(a, 'reset')
    expect(p.getState().openBreakers[0]).to.include({ failures: 3, cooldownMs: MINUTE })
  })

  it('resets the count of a closed breaker on success, without an event', () => {
    const p = make()
    const seen = watch(p)
    fail(p, a, 2)
    p.recordSuccess(a)
    p.recordSuccess(b)
    fail(p, a, 2)
    expect(show(p.decide(a))).to.equal('offer')
    expect(seen).to.deep.equal([])
  })

  it('closes on a late success while still open', () => {
    const p = make()
    fail(p, a, 3)
    p.recordSuccess(a)
    expect(show(p.decide(a))).to.equal('offer')
  })

  it('counts a late failure while open without extending the cool-down', () => {
    const p = make()
    fail(p, a, 3)
    const { openUntil } = p.getState().openBreakers[0]
    clock.advance(30_000)
    p.recordFailure(a, 'close')
    expect(p.getState().openBreakers[0]).to.include({ failures: 4, openUntil, cooldownMs: MINUTE })
  })

  describe('retry configs are neutral', () => {
    it('neither count as a failure nor reset the count', () => {
      const p = make()
      fail(p, a, 2)
      p.recordRetry(a)
      p.recordRetry(b)
      expect(show(p.decide(a))).to.equal('offer')
      p.recordFailure(a, 'reset')
      expect(show(p.decide(a))).to.equal('breaker-open')
    })

    it('leave an open breaker as it is', () => {
      const p = make()
      fail(p, a, 3)
      const before = p.getState()
      p.recordRetry(a)
      expect(p.getState()).to.deep.equal(before)
    })

    it('hand the trial slot back without touching the backoff', () => {
      const { p, seen } = inTrial(1)
      p.recordRetry(a)
      expect(show(p.decide(a))).to.equal('trial')
      expect(show(p.decide(a))).to.equal('breaker-open')
      p.recordFailure(a, 'reset')
      expect(p.getState().openBreakers[0].cooldownMs).to.equal(4 * MINUTE)
      expect(seen.filter(([type]) => type === 'breaker:close')).to.deep.equal([])
    })
  })

  it('counts a trial nobody reported on as timed out', () => {
    const p = make({ trialTimeoutMs: 10_000 })
    const seen = watch(p)
    fail(p, a, 3)
    clock.advance(MINUTE)
    expect(show(p.decide(a))).to.equal('trial')
    clock.advance(9_999)
    expect(show(p.decide(a))).to.equal('breaker-open')
    expect(p.getState().openBreakers[0].state).to.equal('half-open')
    clock.advance(1)
    expect(show(p.decide(a))).to.equal('breaker-open')
    expect(p.getState().openBreakers[0]).to.deep.include({ state: 'open', failures: 4, cooldownMs: 2 * MINUTE, openUntil: clock.t + 2 * MINUTE })
    expect(seen.at(-1)?.[0]).to.equal('breaker:open')
  })

  it('checks the kill switch and the rollout first, so they never use up a trial', () => {
    const p = make()
    fail(p, a, 3)
    clock.advance(HOUR)
    p.setEnabled(false)
    expect(show(p.decide(a))).to.equal('disabled')
    p.setEnabled(true)
    p.setRolloutPercentage(0)
    expect(show(p.decide(a))).to.equal('rollout')
    expect(p.getState().openBreakers[0].state).to.equal('open')
    p.setRolloutPercentage(100)
    expect(show(p.decide(a))).to.equal('trial')
  })

  describe('bounded state', () => {
    it('evicts the least recently used peer past maxPeers', async () => {
      const ids = await peers(4)
      const p = make({ maxPeers: 3, failureThreshold: 1 })
      for (const id of ids.slice(0, 3)) { p.recordFailure(id, 'reset') }
      // deciding for the oldest makes it the most recently used
      expect(show(p.decide(ids[0]))).to.equal('breaker-open')
      p.recordFailure(ids[3], 'reset')
      expect(p.getState().openBreakers.map(x => x.peer)).to.deep.equal([ids[2], ids[0], ids[3]].map(String))
      expect(show(p.decide(ids[1]))).to.equal('offer')
    })

    it('also evicts peers with only a failure or two', async () => {
      const p = make({ maxPeers: 2 })
      const c = await peer()
      fail(p, a, 2)
      fail(p, b, 1)
      fail(p, c, 1)
      p.recordFailure(a, 'reset')
      // a was forgotten, so this is its first failure again
      expect(show(p.decide(a))).to.equal('offer')
    })

    it('holds 10,000 peers by default; the 10,001st evicts the oldest', () => {
      const p = make({ failureThreshold: 1 })
      for (let i = 0; i <= 10_000; i++) { p.recordFailure(fakePeer(i), 'reset') }
      const open = p.getState().openBreakers
      expect(open).to.have.lengthOf(10_000)
      expect(open[0].peer).to.equal('fake-peer-1')
      expect(open.at(-1)?.peer).to.equal('fake-peer-10000')
      expect(show(p.decide(fakePeer(0)))).to.equal('offer')
      expect(show(p.decide(fakePeer(1)))).to.equal('breaker-open')
    })
  })
})
