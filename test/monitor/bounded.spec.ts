import { expect } from 'aegir/chai'
import { BoundedMap, RingBuffer, TokenBucket } from '../../src/monitor/bounded.js'
import { Clock } from './helpers.js'

describe('monitor/bounded', () => {
  describe('BoundedMap', () => {
    it('never holds more than maxSize entries, evicting the least recently touched', () => {
      const clock = new Clock()
      const map = new BoundedMap<number>(3, 1000, clock.now)
      map.set('a', 1)
      map.set('b', 2)
      map.set('c', 3)
      expect(map.get('a')).to.equal(1) // a is now the most recent
      map.set('d', 4)
      expect(map.size).to.equal(3)
      expect(map.evictions).to.equal(1)
      expect(map.get('b')).to.equal(undefined)
      expect(map.get('a')).to.equal(1)
      expect(map.get('d')).to.equal(4)
    })

    it('expires an entry ttl after its last touch, and a touch renews it', () => {
      const clock = new Clock()
      const map = new BoundedMap<string>(10, 1000, clock.now)
      map.set('k', 'v')
      clock.advance(999)
      expect(map.get('k')).to.equal('v')
      clock.advance(999)
      expect(map.get('k')).to.equal('v')
      clock.advance(1000)
      expect(map.get('k')).to.equal(undefined)
      expect(map.size).to.equal(0)
    })

    it('prunes expired entries from the front on insert', () => {
      const clock = new Clock()
      const map = new BoundedMap<number>(100, 1000, clock.now)
      for (let i = 0; i < 50; i++) { map.set(`old${i}`, i) }
      clock.advance(500)
      map.set('young', 1)
      clock.advance(600)
      map.set('new', 2)
      expect(map.size).to.equal(2)
      expect(map.evictions).to.equal(0)
    })

    it('replacing a key keeps one entry', () => {
      const clock = new Clock()
      const map = new BoundedMap<number>(2, 1000, clock.now)
      map.set('a', 1)
      map.set('a', 2)
      expect(map.size).to.equal(1)
      expect(map.get('a')).to.equal(2)
      map.clear()
      expect(map.size).to.equal(0)
    })

    it('replacing a key in a full map makes it newest, renews its expiry and evicts nothing', () => {
      const clock = new Clock()
      const map = new BoundedMap<number>(2, 1000, clock.now)
      map.set('a', 1)
      clock.advance(600)
      map.set('b', 2)
      map.set('a', 3)
      expect(map.evictions).to.equal(0)
      map.set('c', 4) // evicts the least recently touched: b, not the replaced a
      expect(map.evictions).to.equal(1)
      expect(map.get('b')).to.equal(undefined)
      clock.advance(600) // 1200 ms after a's first set, 600 after its replacement
      expect(map.get('a')).to.equal(3)
      expect(map.get('c')).to.equal(4)
    })

    it('an expired entry replaced is as new', () => {
      const clock = new Clock()
      const map = new BoundedMap<number>(2, 1000, clock.now)
      map.set('a', 1)
      clock.advance(1000)
      map.set('a', 2)
      expect(map.size).to.equal(1)
      clock.advance(999)
      expect(map.get('a')).to.equal(2)
    })
  })

  describe('TokenBucket', () => {
    it('allows a burst, then the refill rate', () => {
      const clock = new Clock()
      const bucket = new TokenBucket(3, 2, clock.now)
      expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).to.deep.equal([true, true, true, false])
      clock.advance(500) // one token at 2/s
      expect([bucket.take(), bucket.take()]).to.deep.equal([true, false])
      clock.advance(60_000) // refill stops at the burst
      expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).to.deep.equal([true, true, true, false])
    })

    it('a clock stepping back refills nothing', () => {
      const clock = new Clock()
      const bucket = new TokenBucket(1, 1, clock.now)
      expect(bucket.take()).to.equal(true)
      clock.advance(-10_000)
      expect(bucket.take()).to.equal(false)
    })
  })

  describe('RingBuffer', () => {
    it('keeps the last capacity items, newest first', () => {
      const ring = new RingBuffer<number>(3)
      expect(ring.newest(10)).to.deep.equal([])
      ring.push(1)
      ring.push(2)
      expect(ring.newest(10)).to.deep.equal([2, 1])
      ring.push(3)
      ring.push(4)
      ring.push(5)
      expect(ring.size).to.equal(3)
      expect(ring.newest(10)).to.deep.equal([5, 4, 3])
      expect(ring.newest(2)).to.deep.equal([5, 4])
      expect(ring.newest(0)).to.deep.equal([])
      expect(ring.newest(-1)).to.deep.equal([])
      ring.clear()
      expect(ring.newest(10)).to.deep.equal([])
    })
  })
})
