import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { inRollout, ROLLOUT_BUCKETS, rolloutBucket, rolloutThreshold } from '../../src/policy/rollout.js'
import { peers, policy, show, stopAll } from './helpers.js'
import type { PeerId } from '@libp2p/interface'

const N = 2000

describe('policy/rollout', () => {
  let ids: PeerId[]

  before(async () => {
    ids = await peers(N)
  })

  afterEach(stopAll)

  it('keeps known peers in their buckets (changing the hash would reshuffle every rollout)', () => {
    const vectors: Array<[string, number]> = [
      ['12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5', 3797],
      ['12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', 6588],
      ['12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba', 6408],
      ['16Uiu2HAmKEVj4znLDy4WZGUMTuD9qJjKH91PzAJLfhB1HgXug6zC', 4532],
      ['QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', 7132]
    ]
    for (const [id, bucket] of vectors) {
      expect(rolloutBucket(peerIdFromString(id)), id).to.equal(bucket)
    }
  })

  it('maps every peer to an integer bucket in [0, 10000), the same for a re-parsed id', () => {
    for (const id of ids.slice(0, 200)) {
      const bucket = rolloutBucket(id)
      expect(Number.isInteger(bucket)).to.equal(true)
      expect(bucket).to.be.within(0, ROLLOUT_BUCKETS - 1)
      expect(rolloutBucket(peerIdFromString(id.toString()))).to.equal(bucket)
    }
  })

  it('gives a peer the same answer in every instance', () => {
    const a = policy({}, { rolloutPercentage: 50 })
    const b = policy({}, { env: { ECH_ROLLOUT_PERCENTAGE: '50' } })
    for (const id of ids) {
      const answer = show(a.decide(id))
      expect(show(b.decide(peerIdFromString(id.toString())))).to.equal(answer)
      expect(show(a.decide(id))).to.equal(answer)
    }
  })

  it('only adds peers as the percentage rises', () => {
    const steps = [0, 0.01, 1, 5, 12.5, 25, 33.33, 50, 75, 99.99, 100]
    const p = policy()
    let previous = new Set<string>()
    for (const pct of steps) {
      p.setRolloutPercentage(pct)
      const inNow = new Set(ids.filter(id => p.decide(id).offer).map(String))
      for (const id of previous) {
        expect(inNow.has(id), `${id} left the rollout at ${pct} %`).to.equal(true)
      }
      previous = inNow
    }
    expect(previous.size).to.equal(N)
  })

  it('offers ECH to about p % of peers', () => {
    for (const pct of [1, 12.5, 25, 50, 90]) {
      const p = policy({}, { rolloutPercentage: pct })
      const offered = ids.filter(id => p.decide(id).offer).length
      const share = offered / N
      // five standard deviations of a binomial share: a flake is a one-in-millions event
      const tolerance = 5 * Math.sqrt((pct / 100) * (1 - pct / 100) / N)
      expect(share, `${pct} %`).to.be.closeTo(pct / 100, tolerance)
      const outside = ids.find(id => !p.decide(id).offer)
      expect(show(p.decide(outside as PeerId))).to.equal('rollout')
    }
  })

  it('offers to nobody at 0 % and everybody at 100 %', () => {
    const none = policy({}, { rolloutPercentage: 0 })
    const all = policy({}, { rolloutPercentage: 100 })
    expect(ids.filter(id => none.decide(id).offer)).to.have.lengthOf(0)
    expect(ids.filter(id => all.decide(id).offer)).to.have.lengthOf(N)
  })

  it('decides bucket < percentage × 100, at 0.01 % resolution without float noise', () => {
    expect(rolloutThreshold(12.5)).to.equal(1250)
    expect(rolloutThreshold(0.07)).to.equal(7)
    expect(inRollout(6, 0.07)).to.equal(true)
    expect(inRollout(7, 0.07)).to.equal(false)
    expect(inRollout(9999, 100)).to.equal(true)
    expect(inRollout(0, 0)).to.equal(false)
    // a bucket sits in the rollout exactly from percentage (bucket + 1) / 100 up
    const id = ids[0]
    const bucket = rolloutBucket(id)
    const p = policy({}, { rolloutPercentage: bucket / 100 })
    expect(show(p.decide(id))).to.equal('rollout')
    p.setRolloutPercentage((bucket + 1) / 100)
    expect(show(p.decide(id))).to.equal('offer')
  })

  it('still answers right once its bucket cache overflows', () => {
    const p = policy({}, { rolloutPercentage: 50, maxPeers: 3 })
    const expected = ids.slice(0, 10).map(id => rolloutBucket(id) < 5000)
    for (let round = 0; round < 2; round++) {
      expect(ids.slice(0, 10).map(id => p.decide(id).offer)).to.deep.equal(expected)
    }
  })
})
