/**
 * Each endpoint against a real node: the well-known document (content,
 * cache lifetime, ETag and 304 across a rotation), status, metrics after a
 * real ECH handshake, the admin endpoints changing the encrypter, and the
 * dashboard's headers.
 */
import { expect } from 'aegir/chai'
import { decodeBase64 } from '../../src/config/base64.js'
import { openSignedConfigRecord } from '../../src/config/record.js'
import { createEchGateway } from '../../src/gateway/index.js'
import { parseEchConfigList } from '../../src/index.js'
import { nextEchEvent, trapUnhandled } from '../fixtures/nodes.js'
import { ADMIN_TOKEN, READ_TOKEN, createEchNode, startHarness } from './fixtures.js'
import type { Harness } from './fixtures.js'
import type { EchNoise } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

function maxAge (cacheControl: string | null): number {
  const match = /^public, max-age=(\d+)$/.exec(cacheControl ?? '')
  expect(match, `Cache-Control ${cacheControl}`).to.not.be.null()
  return Number(match?.[1])
}

describe('gateway endpoints', function () {
  this.timeout(30_000)
  trapUnhandled()
  let h: Harness
  // loop-made tests reach the harness through this, not the reassigned variable
  const current = (): Harness => h

  before(async () => {
    h = await startHarness()
  })

  after(async () => {
    await h?.stop()
  })

  describe('GET /.well-known/libp2p-noise-ech', () => {
    it('publishes the peer id, config list and a signed record that verifies, without auth', async () => {
      const res = await h.request('/.well-known/libp2p-noise-ech')
      expect(res.status).to.equal(200)
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8')
      const doc = res.json()
      expect(Object.keys(doc).sort()).to.deep.equal(['configList', 'expires', 'peerId', 'record'])
      expect(doc.peerId).to.equal(h.node.peerId.toString())
      expect(decodeBase64(doc.configList)).to.equalBytes(h.ech.getEchConfigList())
      const opened = await openSignedConfigRecord(decodeBase64(doc.record), h.node.peerId)
      expect(opened.configList).to.equalBytes(h.ech.getEchConfigList())
      expect(doc.expires).to.equal(new Date(opened.expiresAt * 1000).toISOString())
    })

    it('is cacheable for at most an hour, with an ETag', async () => {
      const res = await h.request('/.well-known/libp2p-noise-ech')
      const age = maxAge(res.headers.get('cache-control'))
      expect(age).to.be.within(3500, 3600)
      expect(res.headers.get('etag')).to.match(/^"[A-Za-z0-9_-]{32}"$/)
    })

    it('may be read by browser peers on other origins; nothing else may', async () => {
      const res = await h.request('/.well-known/libp2p-noise-ech', { headers: { origin: 'https://example.invalid' } })
      expect(res.headers.get('access-control-allow-origin')).to.equal('*')
      expect(res.headers.get('access-control-allow-credentials')).to.equal(null)
      for (const path of ['/ech/status', '/metrics', '/ech/dashboard']) {
        const other = await h.request(path, { token: READ_TOKEN, headers: { origin: 'https://example.invalid' } })
        expect(other.headers.get('access-control-allow-origin'), path).to.equal(null)
      }
    })

    it('answers If-None-Match with 304 (strong or weak tag), and 200 for another tag', async () => {
      const first = await h.request('/.well-known/libp2p-noise-ech')
      const etag = first.headers.get('etag') ?? ''
      for (const tag of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const res = await h.request('/.well-known/libp2p-noise-ech', { headers: { 'if-none-match': tag } })
        expect(res.status, `If-None-Match: ${tag}`).to.equal(304)
        expect(res.text).to.equal('')
        expect(res.headers.get('etag')).to.equal(etag)
        expect(res.headers.get('cache-control')).to.match(/^public, max-age=\d+$/)
      }
      const other = await h.request('/.well-known/libp2p-noise-ech', { headers: { 'if-none-match': '"nope"' } })
      expect(other.status).to.equal(200)
    })

    it('changes its ETag and content after a rotation, so a cached copy is refetched', async () => {
      const before = await h.request('/.well-known/libp2p-noise-ech')
      const etag = before.headers.get('etag') ?? ''
      const rotated = await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN })
      expect(rotated.status).to.equal(200)

      const after = await h.request('/.well-known/libp2p-noise-ech', { headers: { 'if-none-match': etag } })
      expect(after.status).to.equal(200)
      expect(after.headers.get('etag')).to.not.equal(etag)
      const configs = parseEchConfigList(decodeBase64(after.json().configList)).usable
      expect(configs.map(c => c.configId)).to.deep.equal(h.ech.keys.getKeys().map(k => k.config.configId))
      expect(configs[0].configId).to.equal(rotated.json().configId)
      const opened = await openSignedConfigRecord(decodeBase64(after.json().record), h.node.peerId)
      expect(parseEchConfigList(opened.configList).usable[0].configId).to.equal(rotated.json().configId)
    })

    it('answers HEAD with the headers and no body', async () => {
      const res = await h.request('/.well-known/libp2p-noise-ech', { method: 'HEAD' })
      expect(res.status).to.equal(200)
      expect(res.text).to.equal('')
      expect(res.headers.get('etag')).to.match(/^"/)
    })
  })

  describe('cache lifetime', () => {
    let other: Harness | undefined

    afterEach(async () => {
      await other?.stop()
      other = undefined
    })

    it('never outlives the signed record', async () => {
      // 47.5 h after the record was signed (it lives 48 h): 30 minutes are left
      const skew = 47.5 * HOUR
      other = await startHarness({ gateway: { now: () => Date.now() + skew } })
      const res = await other.request('/.well-known/libp2p-noise-ech')
      expect(maxAge(res.headers.get('cache-control'))).to.be.within(1700, 1800)
    })

    it('never outlives the next scheduled rotation, when the key manager tells it', async () => {
      other = await startHarness()
      const keys = other.ech.keys as unknown as { getNextRotation(): number }
      keys.getNextRotation = () => Date.now() + 10 * 60 * 1000
      const res = await other.request('/.well-known/libp2p-noise-ech')
      expect(maxAge(res.headers.get('cache-control'))).to.be.within(590, 600)
    })

    it('answers 503 while the encrypter is stopped (its keys are gone)', async () => {
      other = await startHarness()
      await other.ech.stop()
      for (const [path, token] of [['/.well-known/libp2p-noise-ech'], ['/ech/status', READ_TOKEN]]) {
        const res = await other.request(path ?? '', { token })
        expect(res.status, path).to.equal(503)
        expect(res.json().error.code).to.equal('not-ready')
        expect(res.headers.get('retry-after')).to.equal('1')
      }
    })

    it('honours a smaller cap', async () => {
      other = await startHarness({ gateway: { maxCacheAgeSeconds: 60 } })
      const res = await other.request('/.well-known/libp2p-noise-ech')
      expect(maxAge(res.headers.get('cache-control'))).to.equal(60)
    })
  })

  describe('a real handshake, seen in /ech/status and /metrics', () => {
    let dialer: { node: Libp2p, ech: EchNoise }

    before(async () => {
      dialer = await createEchNode()
    })

    after(async () => {
      await dialer?.node.stop()
    })

    it('a peer that imports the well-known record connects with ECH accepted, and it is counted', async () => {
      const doc = (await h.request('/.well-known/libp2p-noise-ech')).json()
      await dialer.ech.importSignedConfigRecord(h.node.peerId, decodeBase64(doc.record))
      const outcome = nextEchEvent(h.ech, 'ech:outcome', 10_000)
      await dialer.node.dial(h.node.getMultiaddrs()[0])
      expect((await outcome).outcome).to.equal('accepted')

      const status = (await h.request('/ech/status', { token: READ_TOKEN })).json()
      expect(status.handshakes.byLabel.responder_accepted).to.equal(1)
      expect(status.handshakes.byOutcome.accepted).to.equal(1)
      expect(status.handshakes.total).to.be.at.least(1)

      const metrics = await h.request('/metrics', { token: READ_TOKEN })
      expect(metrics.status).to.equal(200)
      expect(metrics.headers.get('content-type')).to.equal(h.registry.contentType)
      expect(metrics.text).to.include('# TYPE libp2p_ech_noise_handshakes_total counter')
      expect(metrics.text).to.match(/^libp2p_ech_noise_handshakes_total\{role_outcome="responder_accepted"\} 1$/m)
      expect(metrics.text).to.match(/^libp2p_ech_noise_live_keys \d+$/m)
      expect(metrics.text).to.include('libp2p_ech_noise_handshake_duration_seconds_bucket')
    })
  })

  describe('GET /ech/status', () => {
    it('reports mode, switches, rollout, keys (public parts only), counters, breakers and threats', async () => {
      const res = await h.request('/ech/status', { token: READ_TOKEN })
      expect(res.status).to.equal(200)
      expect(res.headers.get('cache-control')).to.equal('no-store')
      const s = res.json()
      expect(s.peerId).to.equal(h.node.peerId.toString())
      expect(s).to.include({ mode: 'opportunistic', effectiveMode: 'opportunistic' })
      expect(s.enabled).to.deep.equal({ value: true, source: 'default' })
      expect(s.rollout).to.deep.equal({ percentage: 100, source: 'default' })
      const live = h.ech.keys.getKeys()
      expect(s.keys.map((k: any) => k.configId)).to.deep.equal(live.map(k => k.config.configId))
      expect(s.keys[0]).to.include({ kem: 'x25519', kemId: 0x20, publicName: 'libp2p.invalid', current: true })
      expect(s.keys[0]).to.not.have.property('retiredAt')
      expect(s.keys[1]).to.include({ current: false, retiredAt: new Date(live[0].createdAt).toISOString() })
      for (const key of s.keys) {
        expect(Object.keys(key).sort()).to.satisfy((keys: string[]) => keys.every(k => ['configId', 'kemId', 'kem', 'publicName', 'current', 'createdAt', 'ageSeconds', 'retiredAt', 'expiresAt'].includes(k)))
      }
      expect(s.fallbacks).to.have.property('no-config')
      expect(s.threats).to.have.property('replay')
      expect(s.outerHellos).to.have.keys('accepted', 'failed', 'malformed')
      expect(s.breakers).to.deep.equal({ open: 0, peers: [] })
      expect(s.recentThreats).to.be.an('array')
    })

    it('shows the expiry of retired keys when the key manager tells it', async () => {
      const keys = h.ech.keys as unknown as { getKeyExpiry?(id: number): number | undefined }
      const expiry = Date.UTC(2030, 0, 1)
      keys.getKeyExpiry = () => expiry
      try {
        const s = (await h.request('/ech/status', { token: READ_TOKEN })).json()
        expect(s.keys[1].expiresAt).to.equal(new Date(expiry).toISOString())
        expect(s.keys[0]).to.not.have.property('expiresAt')
      } finally {
        delete keys.getKeyExpiry
      }
    })
  })

  describe('admin endpoints change the encrypter', () => {
    afterEach(() => {
      h.ech.mode = 'opportunistic'
      h.ech.policy.setEnabled(true)
      h.ech.policy.setRolloutPercentage(100)
    })

    it('POST /ech/rotate makes a new current key and reports what it retired', async () => {
      const previous = h.ech.keys.getKeys()[0].config.configId
      const res = await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN })
      expect(res.status).to.equal(200)
      expect(res.json()).to.deep.equal({ configId: h.ech.keys.getKeys()[0].config.configId, retired: [previous] })
      expect(res.json().configId).to.not.equal(previous)
      const empty = await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN, body: {} })
      expect(empty.status).to.equal(200)
    })

    it('PUT /ech/rollout sets the rollout percentage', async () => {
      const res = await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body: { percentage: 37.5 } })
      expect(res.status).to.equal(200)
      expect(res.json()).to.deep.equal({ percentage: 37.5, source: 'runtime' })
      expect(h.ech.policy.getState().rolloutPercentage).to.equal(37.5)
      const status = (await h.request('/ech/status', { token: READ_TOKEN })).json()
      expect(status.rollout).to.deep.equal({ percentage: 37.5, source: 'runtime' })
    })

    for (const bad of [{ percentage: 101 }, { percentage: -1 }, { percentage: '50' }, { percentage: null }, {}, { percentage: 5, extra: 1 }, [50], 50]) {
      it(`PUT /ech/rollout refuses ${JSON.stringify(bad)} and changes nothing`, async () => {
        const res = await current().request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body: bad })
        expect(res.status).to.equal(400)
        expect(res.json().error.code).to.equal('bad-request')
        expect(current().ech.policy.getState().rolloutPercentage).to.equal(100)
      })
    }

    it('PUT /ech/mode sets the mode and the kill switch', async () => {
      let res = await h.request('/ech/mode', { method: 'PUT', token: ADMIN_TOKEN, body: { mode: 'require' } })
      expect(res.status).to.equal(200)
      expect(res.json()).to.deep.equal({ mode: 'require', enabled: true, effectiveMode: 'require' })
      expect(h.ech.mode).to.equal('require')

      res = await h.request('/ech/mode', { method: 'PUT', token: ADMIN_TOKEN, body: { enabled: false } })
      expect(res.json()).to.deep.equal({ mode: 'require', enabled: false, effectiveMode: 'disabled' })
      expect(h.ech.policy.isEnabled()).to.equal(false)
      const status = (await h.request('/ech/status', { token: READ_TOKEN })).json()
      expect(status).to.include({ mode: 'require', effectiveMode: 'disabled' })
      expect(status.enabled).to.deep.equal({ value: false, source: 'runtime' })

      res = await h.request('/ech/mode', { method: 'PUT', token: ADMIN_TOKEN, body: { mode: 'disabled', enabled: true } })
      expect(res.json()).to.deep.equal({ mode: 'disabled', enabled: true, effectiveMode: 'disabled' })
      expect(h.ech.mode).to.equal('disabled')
    })

    for (const bad of [{}, { mode: 'off' }, { mode: 'require', enabled: 'no' }, { enabled: 0 }, { mode: 'require', other: true }]) {
      it(`PUT /ech/mode refuses ${JSON.stringify(bad)} and changes nothing`, async () => {
        const res = await current().request('/ech/mode', { method: 'PUT', token: ADMIN_TOKEN, body: bad })
        expect(res.status).to.equal(400)
        expect(current().ech.mode).to.equal('opportunistic')
        expect(current().ech.policy.isEnabled()).to.equal(true)
      })
    }
  })

  describe('GET /ech/dashboard', () => {
    it('is served without auth, holds no data, and has a strict CSP', async () => {
      const res = await h.request('/ech/dashboard')
      expect(res.status).to.equal(200)
      expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8')
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).to.include("default-src 'none'")
      expect(csp).to.match(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/)
      expect(csp).to.include("connect-src 'self'")
      expect(csp).to.include("frame-ancestors 'none'")
      expect(csp).to.not.include('unsafe')
      expect(res.headers.get('x-frame-options')).to.equal('DENY')
      expect(res.text).to.include('<svg id="chart"')
      expect(res.text).to.not.include(h.node.peerId.toString())
      expect(res.text).to.not.match(/<(script|link|img)[^>]+(src|href)="(?!data:)/)
    })
  })

  describe('lifecycle and options', () => {
    it('has no url before start, is idempotent, and frees its port on stop', async () => {
      const gateway = createEchGateway({ libp2p: h.node, encrypter: h.ech, env: {} })
      expect(() => gateway.url).to.throw().with.property('name', 'EchGatewayOptionsError')
      await gateway.start()
      await gateway.start()
      const url = gateway.url
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(gateway.isStarted()).to.equal(true)
      await gateway.stop()
      await gateway.stop()
      expect(gateway.isStarted()).to.equal(false)
      await fetch(url).then(() => expect.fail('still listening'), (err) => expect(err).to.be.an('error'))
    })

    it('rejects start when the port is taken', async () => {
      const port = Number(new URL(h.url).port)
      const gateway = createEchGateway({ libp2p: h.node, encrypter: h.ech, env: {}, port })
      await gateway.start().then(() => expect.fail('started twice on one port'), (err) => expect(err.code).to.equal('EADDRINUSE'))
      expect(gateway.isStarted()).to.equal(false)
    })

    it('refuses bad options', () => {
      const base = { libp2p: h.node, encrypter: h.ech, env: {} }
      for (const init of [
        { ...base, port: -1 },
        { ...base, port: 1.5 },
        { ...base, maxBodyBytes: 0 },
        { ...base, requestTimeoutMs: 100, headersTimeoutMs: 200 },
        { ...base, maxCacheAgeSeconds: -1 },
        { ...base, rateLimit: { maxFailures: 0 } },
        { ...base, trustProxy: ['proxy.internal'] },
        { ...base, trustProxy: '127.0.0.1' as any },
        { ...base, forwardedHeader: 'x-real-ip' as any },
        { ...base, tokens: { read: 'not-an-array-0123456789' as any } },
        { ...base, encrypter: undefined as any }
      ]) {
        expect(() => createEchGateway(init), JSON.stringify(Object.keys(init))).to.throw().with.property('name', 'EchGatewayOptionsError')
      }
    })

    it('answers an unexpected failure with a bare 500 and logs it', async () => {
      const failing = { contentType: 'text/plain', metrics: async () => { throw new Error('scrape exploded') } }
      const other = await startHarness({ gateway: { metrics: { registry: failing as any } } })
      try {
        const res = await other.request('/metrics', { token: READ_TOKEN })
        expect(res.status).to.equal(500)
        expect(res.json()).to.deep.equal({ error: { code: 'internal', message: 'Internal error' } })
        expect(other.lines.some(l => l.text.startsWith('request failed - Error: scrape exploded'))).to.equal(true)
      } finally {
        await other.stop()
      }
    })
  })
})
