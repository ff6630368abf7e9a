import { expect } from 'aegir/chai'
import { DEFAULT_COOLDOWN_MS, DEFAULT_MAX_COOLDOWN_MS, parseEnv, resolveConfig } from '../../src/policy/config.js'
import { EchPolicyConfigError } from '../../src/policy/errors.js'
import { fakePeer, policy, show, stopAll, throws } from './helpers.js'

describe('policy/config', () => {
  afterEach(stopAll)

  describe('parseEnv', () => {
    it('returns no overrides for an empty environment', () => {
      expect(parseEnv({})).to.deep.equal({})
      expect(parseEnv({ ECH_ENABLED: undefined, ECH_ROLLOUT_PERCENTAGE: undefined })).to.deep.equal({})
    })

    it('accepts true/false/1/0 in any case, ignoring surrounding blanks', () => {
      for (const [value, expected] of [['true', true], ['TRUE', true], ['True', true], ['1', true], [' false ', false], ['FaLsE', false], ['0', false]] as const) {
        expect(parseEnv({ ECH_ENABLED: value }), value).to.deep.equal({ enabled: expected })
      }
    })

    it('accepts whole and fractional percentages from 0 to 100', () => {
      for (const [value, expected] of [['0', 0], ['100', 100], ['100.0', 100], ['12.5', 12.5], [' 25 ', 25], ['0.01', 0.01], ['007', 7]] as const) {
        expect(parseEnv({ ECH_ROLLOUT_PERCENTAGE: value }), value).to.deep.equal({ rolloutPercentage: expected })
      }
    })

    for (const value of ['yes', 'no', 'on', '2', '-1', 'truee', '', '  ']) {
      it(`refuses ECH_ENABLED=${JSON.stringify(value)} naming the variable`, () => {
        const err = throws(() => parseEnv({ ECH_ENABLED: value }))
        expect(err).to.have.property('name', 'EchPolicyConfigError')
        expect(err).to.be.an.instanceOf(EchPolicyConfigError)
        expect(err).to.have.property('setting', 'ECH_ENABLED')
        expect(err.message).to.include('ECH_ENABLED')
      })
    }

    for (const value of ['150', '-1', 'abc', '', ' ', '100.01', '1e2', '0x10', '+5', '.5', '5.', 'NaN', 'Infinity', '50%', '1,5']) {
      it(`refuses ECH_ROLLOUT_PERCENTAGE=${JSON.stringify(value)} naming the variable`, () => {
        const err = throws(() => parseEnv({ ECH_ROLLOUT_PERCENTAGE: value }))
        expect(err).to.have.property('name', 'EchPolicyConfigError')
        expect(err).to.have.property('setting', 'ECH_ROLLOUT_PERCENTAGE')
        expect(err.message).to.include('ECH_ROLLOUT_PERCENTAGE')
      })
    }

    it('keeps a huge bad value out of the message', () => {
      const err = throws(() => parseEnv({ ECH_ENABLED: 'x'.repeat(10_000) }))
      expect(err.message.length).to.be.below(200)
    })
  })

  describe('resolution', () => {
    it('defaults to enabled at 100 %', () => {
      expect(policy().getState()).to.deep.include({
        enabled: true, rolloutPercentage: 100, source: { enabled: 'default', rolloutPercentage: 'default' }
      })
    })

    it('takes init options when the environment is silent', () => {
      expect(policy({}, { enabled: false, rolloutPercentage: 12.5 }).getState()).to.deep.include({
        enabled: false, rolloutPercentage: 12.5, source: { enabled: 'init', rolloutPercentage: 'init' }
      })
    })

    it('lets the environment win over init, for both variables', () => {
      const p = policy({}, { enabled: true, rolloutPercentage: 100, env: { ECH_ENABLED: 'false', ECH_ROLLOUT_PERCENTAGE: '30' } })
      expect(p.getState()).to.deep.include({
        enabled: false, rolloutPercentage: 30, source: { enabled: 'env', rolloutPercentage: 'env' }
      })
      const q = policy({}, { enabled: false, rolloutPercentage: 0, env: { ECH_ENABLED: '1', ECH_ROLLOUT_PERCENTAGE: '100' } })
      expect(q.getState()).to.deep.include({
        enabled: true, rolloutPercentage: 100, source: { enabled: 'env', rolloutPercentage: 'env' }
      })
    })

    it('mixes sources per variable', () => {
      const p = policy({}, { rolloutPercentage: 40, env: { ECH_ENABLED: 'true' } })
      expect(p.getState().source).to.deep.equal({ enabled: 'env', rolloutPercentage: 'init' })
    })

    it('reads process.env in the constructor when no env is given, not at import', () => {
      const saved = process.env.ECH_ENABLED
      try {
        process.env.ECH_ENABLED = 'false'
        const p = policy({}, { env: undefined })
        process.env.ECH_ENABLED = 'true'
        expect(p.getState()).to.deep.include({ enabled: false, source: { enabled: 'env', rolloutPercentage: 'default' } })
        process.env.ECH_ENABLED = 'banana'
        expect(throws(() => policy({}, { env: undefined }))).to.have.property('name', 'EchPolicyConfigError')
      } finally {
        if (saved == null) { delete process.env.ECH_ENABLED } else { process.env.ECH_ENABLED = saved }
      }
    })

    it('fails at construction on a bad environment even when init is valid', () => {
      const err = throws(() => policy({}, { enabled: true, env: { ECH_ROLLOUT_PERCENTAGE: '150' } }))
      expect(err).to.have.property('name', 'EchPolicyConfigError')
      expect(err.message).to.include('ECH_ROLLOUT_PERCENTAGE')
    })

    const badInit: Array<[string, Record<string, unknown>]> = [
      ['init.enabled', { enabled: 'yes' }],
      ['init.rolloutPercentage', { rolloutPercentage: 150 }],
      ['init.rolloutPercentage', { rolloutPercentage: -1 }],
      ['init.rolloutPercentage', { rolloutPercentage: Number.NaN }],
      ['init.rolloutPercentage', { rolloutPercentage: '50' }],
      ['init.failureThreshold', { failureThreshold: 0 }],
      ['init.failureThreshold', { failureThreshold: 2.5 }],
      ['init.cooldownMs', { cooldownMs: 0 }],
      ['init.maxCooldownMs', { maxCooldownMs: -5 }],
      ['init.maxCooldownMs', { cooldownMs: 1000, maxCooldownMs: 999 }],
      ['init.trialTimeoutMs', { trialTimeoutMs: Infinity }],
      ['init.maxPeers', { maxPeers: 0 }],
      ['init.persistDelayMs', { persistDelayMs: -1 }],
      ['init.namespace', { namespace: 'no-slash' }],
      ['init.namespace', { namespace: 42 }]
    ]
    for (const [setting, init] of badInit) {
      it(`refuses ${Object.entries(init).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`, () => {
        const err = throws(() => resolveConfig(init as any, {}))
        expect(err).to.have.property('name', 'EchPolicyConfigError')
        expect(err).to.have.property('setting', setting)
        expect(err.message).to.include(setting)
      })
    }

    it('fills in breaker defaults and lets a long first cool-down raise the default cap', () => {
      expect(resolveConfig({}, {})).to.deep.include({ failureThreshold: 3, cooldownMs: DEFAULT_COOLDOWN_MS, maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS, maxPeers: 10_000 })
      expect(resolveConfig({ cooldownMs: 2 * DEFAULT_MAX_COOLDOWN_MS }, {})).to.include({ maxCooldownMs: 2 * DEFAULT_MAX_COOLDOWN_MS })
    })
  })

  describe('runtime controls', () => {
    it('setEnabled switches every peer to stock Noise and back, marked runtime', () => {
      const p = policy({}, { env: { ECH_ENABLED: 'true' } })
      p.setEnabled(false)
      expect(show(p.decide(fakePeer(1)))).to.equal('disabled')
      expect(p.getState()).to.deep.include({ enabled: false, source: { enabled: 'runtime', rolloutPercentage: 'default' } })
      p.setEnabled(true)
      expect(show(p.decide(fakePeer(1)))).to.equal('offer')
    })

    it('setRolloutPercentage validates and is marked runtime', () => {
      const p = policy({}, { env: { ECH_ROLLOUT_PERCENTAGE: '50' } })
      p.setRolloutPercentage(0)
      expect(show(p.decide(fakePeer(1)))).to.equal('rollout')
      p.setRolloutPercentage(12.5)
      expect(p.getState()).to.deep.include({ rolloutPercentage: 12.5, source: { enabled: 'default', rolloutPercentage: 'runtime' } })
      for (const bad of [101, -0.5, Number.NaN, '50']) {
        const err = throws(() => { p.setRolloutPercentage(bad as number) })
        expect(err).to.have.property('name', 'EchPolicyConfigError')
        expect(err).to.have.property('setting', 'rolloutPercentage')
      }
      expect(throws(() => { p.setEnabled('false' as unknown as boolean) })).to.have.property('setting', 'enabled')
      expect(throws(() => { p.setEnabled(undefined as unknown as boolean) }).message).to.include('got undefined')
      expect(p.getState().rolloutPercentage).to.equal(12.5)
    })

    it('returns shared frozen decisions', () => {
      const p = policy()
      expect(p.decide(fakePeer(1))).to.equal(p.decide(fakePeer(2)))
      expect(Object.isFrozen(p.decide(fakePeer(1)))).to.equal(true)
    })
  })
})
