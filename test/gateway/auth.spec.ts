/**
 * Who may call what: every endpoint against anonymous, wrong, malformed,
 * read and admin credentials; roles without tokens; anonymous read; the
 * environment's tokens; the failed-attempt limit; option checks.
 */
import { expect } from 'aegir/chai'
import { FailureLimiter, addressKey } from '../../src/gateway/auth.js'
import { createEchGateway } from '../../src/gateway/index.js'
import { ADMIN_TOKEN, OTHER_TOKEN, READ_TOKEN, createEchNode, startHarness } from './fixtures.js'
import type { Exchange, Harness, RequestOptions } from './fixtures.js'

type Role = 'public' | 'read' | 'admin'

const ENDPOINTS: Array<{ path: string, role: Role, init?: RequestOptions }> = [
  { path: '/.well-known/libp2p-noise-ech', role: 'public' },
  { path: '/ech/dashboard', role: 'public' },
  { path: '/ech/status', role: 'read' },
  { path: '/metrics', role: 'read' },
  { path: '/ech/rotate', role: 'admin', init: { method: 'POST' } },
  { path: '/ech/rollout', role: 'admin', init: { method: 'PUT', body: { percentage: 100 } } },
  { path: '/ech/mode', role: 'admin', init: { method: 'PUT', body: { mode: 'opportunistic' } } }
]

type Credential = 'anonymous' | 'wrong' | 'malformed' | 'read' | 'admin'

const CREDENTIALS: Record<Credential, Record<string, string>> = {
  anonymous: {},
  wrong: { authorization: `Bearer ${OTHER_TOKEN}` },
  malformed: { authorization: `Basic ${Buffer.from(`user:${ADMIN_TOKEN}`).toString('base64')}` },
  read: { authorization: `Bearer ${READ_TOKEN}` },
  admin: { authorization: `Bearer ${ADMIN_TOKEN}` }
}

/** [status, WWW-Authenticate error] each credential gets from each role */
const EXPECTED: Record<Role, Record<Credential, [number, string?]>> = {
  public: { anonymous: [200], wrong: [200], malformed: [200], read: [200], admin: [200] },
  read: { anonymous: [401], wrong: [401, 'invalid_token'], malformed: [401, 'invalid_request'], read: [200], admin: [200] },
  admin: { anonymous: [401], wrong: [401, 'invalid_token'], malformed: [401, 'invalid_request'], read: [403, 'insufficient_scope'], admin: [200] }
}

function expectError (res: Exchange, status: number, code: string): void {
  expect(res.status, res.text).to.equal(status)
  expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8')
  const body = res.json()
  expect(Object.keys(body)).to.deep.equal(['error'])
  expect(body.error.code).to.equal(code)
  expect(body.error.message).to.be.a('string')
}

describe('gateway auth', function () {
  this.timeout(30_000)

  describe('role matrix', () => {
    let h: Harness

    // loop-made tests reach the harness through this, not the reassigned variable
    const current = (): Harness => h

    before(async () => { h = await startHarness() })
    after(async () => { await h?.stop() })

    for (const endpoint of ENDPOINTS) {
      for (const credential of Object.keys(CREDENTIALS) as Credential[]) {
        const [status, challenge] = EXPECTED[endpoint.role][credential]
        it(`${endpoint.init?.method ?? 'GET'} ${endpoint.path} with ${credential} credentials → ${status}`, async () => {
          const res = await current().request(endpoint.path, { ...endpoint.init, headers: CREDENTIALS[credential] })
          expect(res.status, res.text).to.equal(status)
          if (status === 401) {
            expectError(res, 401, 'unauthorized')
            expect(res.headers.get('www-authenticate')).to.match(/^Bearer realm="libp2p-noise-ech"/)
          }
          if (status === 403) {
            expectError(res, 403, 'forbidden')
          }
          if (challenge != null) {
            expect(res.headers.get('www-authenticate')).to.include(`error="${challenge}"`)
          }
        })
      }
    }

    for (const header of ['Bearer', 'Bearer ', `Bearer ${READ_TOKEN} extra`, `Token ${READ_TOKEN}`, `Bearer\t${READ_TOKEN}`, `Bearer ${READ_TOKEN}\u00e9`]) {
      it(`refuses the malformed Authorization ${JSON.stringify(header.replace(READ_TOKEN, '<read token>'))} with 401`, async () => {
        const res = await current().request('/ech/status', { headers: { authorization: header } }).catch(() => undefined)
        // fetch itself refuses some of these (non-ISO-8859-1 header values)
        if (res != null) { expectError(res, 401, 'unauthorized') }
      })
    }

    it('accepts any case of the scheme name (RFC 9110 §11.1)', async () => {
      const res = await h.request('/ech/status', { headers: { authorization: `bEaReR ${READ_TOKEN}` } })
      expect(res.status).to.equal(200)
    })

    it('refuses prefixes and extensions of a valid token', async () => {
      for (const token of [READ_TOKEN.slice(0, -1), `${READ_TOKEN}0`, ADMIN_TOKEN.slice(0, 20), `${ADMIN_TOKEN}=`]) {
        expectError(await h.request('/ech/status', { token }), 401, 'unauthorized')
      }
    })
  })

  describe('roles without tokens', () => {
    let h: Harness | undefined

    afterEach(async () => {
      await h?.stop()
      h = undefined
    })

    it('with admin tokens only, read endpoints take the admin token (admin implies read)', async () => {
      h = await startHarness({ gateway: { tokens: { admin: [ADMIN_TOKEN] } } })
      expect((await h.request('/ech/status', { token: ADMIN_TOKEN })).status).to.equal(200)
      expectError(await h.request('/ech/status'), 401, 'unauthorized')
      expectError(await h.request('/ech/status', { token: READ_TOKEN }), 401, 'unauthorized')
    })

    it('with no tokens at all, read and admin endpoints are disabled (403), public ones still served', async () => {
      h = await startHarness({ gateway: { tokens: {} } })
      for (const endpoint of ENDPOINTS) {
        const res = await h.request(endpoint.path, { ...endpoint.init, token: ADMIN_TOKEN })
        if (endpoint.role === 'public') {
          expect(res.status).to.equal(200)
        } else {
          expectError(res, 403, 'disabled')
        }
      }
    })

    it('with read tokens only, admin endpoints are disabled even for a read token', async () => {
      h = await startHarness({ gateway: { tokens: { read: [READ_TOKEN] } } })
      expectError(await h.request('/ech/rotate', { method: 'POST', token: READ_TOKEN }), 403, 'disabled')
      expect((await h.request('/ech/status', { token: READ_TOKEN })).status).to.equal(200)
    })

    it('allowAnonymousRead opens read endpoints, but a wrong token is still refused', async () => {
      h = await startHarness({ gateway: { tokens: {}, allowAnonymousRead: true } })
      expect((await h.request('/ech/status')).status).to.equal(200)
      expect((await h.request('/metrics')).status).to.equal(200)
      expectError(await h.request('/ech/status', { token: OTHER_TOKEN }), 401, 'unauthorized')
      expectError(await h.request('/ech/rotate', { method: 'POST' }), 403, 'disabled')
    })
  })

  describe('tokens from the environment', () => {
    let h: Harness | undefined

    afterEach(async () => {
      await h?.stop()
      h = undefined
    })

    it('ECH_GATEWAY_READ_TOKENS / ECH_GATEWAY_ADMIN_TOKENS replace the options (comma-separated, trimmed)', async () => {
      const envRead = 'env-read-token-0123456789'
      const envAdmin = 'env-admin-token-0123456789'
      h = await startHarness({
        gateway: {
          env: { ECH_GATEWAY_READ_TOKENS: ` ${OTHER_TOKEN} ,${envRead},`, ECH_GATEWAY_ADMIN_TOKENS: envAdmin }
        }
      })
      expect((await h.request('/ech/status', { token: envRead })).status).to.equal(200)
      expect((await h.request('/ech/status', { token: OTHER_TOKEN })).status).to.equal(200)
      expect((await h.request('/ech/rollout', { method: 'PUT', token: envAdmin, body: { percentage: 100 } })).status).to.equal(200)
      // the option tokens no longer work
      expectError(await h.request('/ech/status', { token: READ_TOKEN }), 401, 'unauthorized')
      expectError(await h.request('/ech/status', { token: ADMIN_TOKEN }), 401, 'unauthorized')
    })

    it('a blank variable leaves the option tokens in force', async () => {
      h = await startHarness({ gateway: { env: { ECH_GATEWAY_READ_TOKENS: '  ', ECH_GATEWAY_ADMIN_TOKENS: '' } } })
      expect((await h.request('/ech/status', { token: READ_TOKEN })).status).to.equal(200)
      expect((await h.request('/ech/status', { token: ADMIN_TOKEN })).status).to.equal(200)
    })

    it('a token too short or with other characters fails creation, without naming the token', async () => {
      const { node, ech } = await createEchNode()
      try {
        for (const tokens of [{ read: ['short'] }, { admin: ['has space in it 0123456789'] }, { read: ['x'.repeat(513)] }]) {
          const err = (() => {
            try {
              createEchGateway({ libp2p: node, encrypter: ech, tokens, env: {} })
            } catch (e: any) { return e }
          })()
          expect(err?.name).to.equal('EchGatewayOptionsError')
          expect(err.message).to.not.include(Object.values(tokens)[0][0])
        }
        const envErr = (() => {
          try {
            createEchGateway({ libp2p: node, encrypter: ech, env: { ECH_GATEWAY_ADMIN_TOKENS: 'tiny' } })
          } catch (e: any) { return e }
        })()
        expect(envErr?.name).to.equal('EchGatewayOptionsError')
        expect(envErr.message).to.include('ECH_GATEWAY_ADMIN_TOKENS')
      } finally {
        await node.stop()
      }
    })
  })

  describe('failed attempts are rate-limited per address', () => {
    let h: Harness | undefined
    let clock = Date.now()

    afterEach(async () => {
      await h?.stop()
      h = undefined
    })

    it('after maxFailures bad tokens, further failures get 429 with Retry-After until the window ends; valid tokens still pass', async () => {
      clock = Date.now()
      h = await startHarness({ gateway: { rateLimit: { maxFailures: 3, windowMs: 60_000 }, now: () => clock } })
      for (let i = 0; i < 3; i++) {
        expectError(await h.request('/ech/status', { token: OTHER_TOKEN }), 401, 'unauthorized')
      }
      const limited = await h.request('/ech/status', { token: OTHER_TOKEN })
      expectError(limited, 429, 'rate-limited')
      expect(limited.headers.get('retry-after')).to.equal('60')
      expectError(await h.request('/ech/rotate', { method: 'POST', token: `${ADMIN_TOKEN}0` }), 429, 'rate-limited')
      // a valid token is never limited (review "Hardening" item 7), nor is a missing one counted or limited
      expect((await h.request('/ech/status', { token: READ_TOKEN })).status).to.equal(200)
      expect((await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN })).status).to.equal(200)
      expectError(await h.request('/ech/status'), 401, 'unauthorized')
      // public endpoints are not behind the limit
      expect((await h.request('/.well-known/libp2p-noise-ech')).status).to.equal(200)

      clock += 30_000
      // a failure while limited is not counted again: the window still ends on time
      expect((await h.request('/metrics', { token: OTHER_TOKEN })).headers.get('retry-after')).to.equal('30')
      clock += 30_000
      expectError(await h.request('/ech/status', { token: OTHER_TOKEN }), 401, 'unauthorized')
    })

    it('malformed headers count, missing credentials and wrong roles do not', async () => {
      h = await startHarness({ gateway: { rateLimit: { maxFailures: 2 } } })
      for (let i = 0; i < 5; i++) {
        expectError(await h.request('/ech/status'), 401, 'unauthorized')
        expectError(await h.request('/ech/rotate', { method: 'POST', token: READ_TOKEN }), 403, 'forbidden')
      }
      expectError(await h.request('/ech/status', { token: OTHER_TOKEN }), 401, 'unauthorized')
      expectError(await h.request('/ech/status', { headers: { authorization: 'Basic abc' } }), 401, 'unauthorized')
      expectError(await h.request('/ech/status', { headers: { authorization: 'Bearer !!!' } }), 429, 'rate-limited')
      expectError(await h.request('/ech/status', { token: OTHER_TOKEN }), 429, 'rate-limited')
      expect((await h.request('/ech/status', { token: READ_TOKEN })).status).to.equal(200)
    })

    it('keeps a bounded map of addresses', () => {
      const limiter = new FailureLimiter({ maxAddresses: 100, maxFailures: 1 })
      for (let i = 0; i < 10_000; i++) {
        limiter.fail(`10.0.${i >> 8}.${i & 0xff}`, 0)
      }
      expect(limiter.size).to.equal(100)
      // the most recent ones are kept
      expect(limiter.blockedFor('10.0.39.15', 1)).to.be.greaterThan(0)
      expect(limiter.blockedFor('10.0.0.0', 1)).to.equal(0)
    })

    it('keys IPv4-mapped addresses as IPv4 and IPv6 addresses by their /64', () => {
      expect(addressKey('::ffff:192.0.2.7')).to.equal('192.0.2.7')
      expect(addressKey('192.0.2.7')).to.equal('192.0.2.7')
      expect(addressKey('2001:db8:1:2:3:4:5:6')).to.equal(addressKey('2001:db8:1:2::9'))
      expect(addressKey('2001:db8:1:2::9')).to.equal('2001:db8:1:2::/64')
      expect(addressKey('2001:db8:1:3::9')).to.not.equal(addressKey('2001:db8:1:2::9'))
      expect(addressKey('fe80::1%eth0')).to.equal('fe80:0:0:0::/64')
      expect(addressKey(undefined)).to.equal('unknown')
    })
  })
})
