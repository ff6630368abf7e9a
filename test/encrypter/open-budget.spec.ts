import { expect } from 'aegir/chai'
import { OPEN_BUDGET_DEFAULTS, OpenBudget, openCost } from '../../src/encrypter/open-budget.js'
import { thrown } from '../fixtures/errors.js'

function clock (): { now(): number, advance(ms: number): void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

/** How many times `cost` is granted in a row right now */
function drain (budget: OpenBudget, source: string, cost = 1): number {
  let granted = 0
  while (budget.take(source, cost)) { granted++ }
  return granted
}

describe('OpenBudget: per-source token buckets for HPKE opens', () => {
  it('defaults: 128 units at once, 32 a second, 4096 sources', () => {
    expect(OPEN_BUDGET_DEFAULTS).to.deep.equal({ burst: 128, perSecond: 32, maxSources: 4096 })
    const c = clock()
    const budget = new OpenBudget({ now: c.now })
    expect(drain(budget, 'a')).to.equal(128)
    c.advance(1000)
    expect(drain(budget, 'a')).to.equal(32)
  })

  it('a refusal spends nothing: a smaller cost is still granted', () => {
    const budget = new OpenBudget({ burst: 10, perSecond: 1, now: clock().now })
    expect(budget.take('a', 8)).to.equal(true)
    expect(budget.take('a', 8)).to.equal(false)
    expect(budget.take('a', 2)).to.equal(true)
    expect(budget.take('a', 1)).to.equal(false)
  })

  it('refills at perSecond, never above burst', () => {
    const c = clock()
    const budget = new OpenBudget({ burst: 10, perSecond: 4, now: c.now })
    expect(drain(budget, 'a')).to.equal(10)
    c.advance(500)
    expect(drain(budget, 'a')).to.equal(2)
    c.advance(3_600_000)
    expect(drain(budget, 'a')).to.equal(10)
  })

  it('a cost above burst is never granted', () => {
    const c = clock()
    const budget = new OpenBudget({ burst: 10, perSecond: 100, now: c.now })
    c.advance(60_000)
    expect(budget.take('a', 11)).to.equal(false)
    expect(budget.take('a', 10)).to.equal(true)
  })

  it('sources are independent', () => {
    const budget = new OpenBudget({ burst: 3, perSecond: 1, now: clock().now })
    expect(drain(budget, 'a')).to.equal(3)
    expect(drain(budget, 'b')).to.equal(3)
    expect(budget.take('a', 1)).to.equal(false)
  })

  it('a clock that steps back refills nothing', () => {
    const c = clock()
    const budget = new OpenBudget({ burst: 5, perSecond: 1, now: c.now })
    expect(drain(budget, 'a')).to.equal(5)
    c.advance(-10_000)
    expect(budget.take('a', 1)).to.equal(false)
    c.advance(1000)
    expect(budget.take('a', 1)).to.equal(true)
  })

  it('tracks at most maxSources; the least recently seen is forgotten first', () => {
    const budget = new OpenBudget({ burst: 2, perSecond: 0.001, maxSources: 3, now: clock().now })
    for (const s of ['a', 'b', 'c']) { expect(drain(budget, s)).to.equal(2) }
    // touch a: b is now the least recently seen
    expect(budget.take('a', 1)).to.equal(false)
    expect(drain(budget, 'd')).to.equal(2)
    expect(budget.size).to.equal(3)
    expect(budget.take('a', 1), 'a was remembered').to.equal(false)
    expect(drain(budget, 'b'), 'b was forgotten: a full bucket again').to.equal(2)
  })

  it('forgets a source once its bucket would be full again (burst / perSecond idle)', () => {
    const c = clock()
    const budget = new OpenBudget({ burst: 4, perSecond: 2, now: c.now })
    expect(drain(budget, 'a')).to.equal(4)
    c.advance(2000)
    budget.take('b', 1)
    expect(budget.size).to.equal(1)
    expect(drain(budget, 'a')).to.equal(4)
  })

  it('refuses bad parameters and costs with InvalidParametersError', () => {
    for (const init of [{ burst: 0 }, { perSecond: -1 }, { burst: Number.NaN }, { maxSources: 0 }, { maxSources: 1.5 }]) {
      expect(thrown(() => new OpenBudget(init)).name, JSON.stringify(init)).to.equal('InvalidParametersError')
    }
    const budget = new OpenBudget()
    for (const cost of [0, -1, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(thrown(() => budget.take('a', cost)).name, String(cost)).to.equal('InvalidParametersError')
    }
  })

  it('openCost: an X25519 open is 1 unit, an X-Wing open 8, an enc of no known KEM 1', () => {
    expect(openCost({ enc: new Uint8Array(32) })).to.equal(1)
    expect(openCost({ enc: new Uint8Array(1120) })).to.equal(8)
    expect(openCost({ enc: new Uint8Array(65) })).to.equal(1)
    expect(openCost({ enc: new Uint8Array(0) })).to.equal(1)
  })
})
