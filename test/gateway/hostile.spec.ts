/**
 * Hostile and malformed requests, mostly over raw sockets so the bytes are
 * exactly as written: path tricks that must not reach a route or skip
 * auth, oversized and slow bodies, slow headers, bad JSON and content
 * types, wrong methods. Ends by checking that no response and no log line
 * carried a token or private key bytes.
 */
import { expect } from 'aegir/chai'
import { trapUnhandled } from '../fixtures/nodes.js'
import { ADMIN_TOKEN, OTHER_TOKEN, READ_TOKEN, rawJson, rawRequest, secretForms, startHarness } from './fixtures.js'
import type { Exchange, Harness, RawResponse } from './fixtures.js'

function head (method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = Object.entries({ Host: '127.0.0.1', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  return `${method} ${path} HTTP/1.1\r\n${lines}\r\n`
}

function expectJsonError (res: Exchange, status: number, code: string): void {
  expect(res.status, res.text).to.equal(status)
  expect(res.json().error.code).to.equal(code)
}

function expectRawError (res: RawResponse, status: number, code: string): void {
  expect(res.status, res.text).to.equal(status)
  expect(res.text).to.match(/content-type: application\/json; charset=utf-8/i)
  expect(rawJson(res).error.code).to.equal(code)
}

describe('gateway under hostile requests', function () {
  this.timeout(30_000)
  trapUnhandled()
  let h: Harness
  // loop-made tests reach the harness through this, not the reassigned variable
  const current = (): Harness => h

  before(async () => {
    h = await startHarness({ gateway: { requestTimeoutMs: 800, headersTimeoutMs: 400, maxBodyBytes: 4096 } })
  })

  after(async () => {
    await h?.stop()
  })

  describe('routing', () => {
    it('answers an unknown path with 404 JSON', async () => {
      expectJsonError(await h.request('/nope'), 404, 'not-found')
      expectJsonError(await h.request('/'), 404, 'not-found')
    })

    it('answers a wrong method with 405 and Allow', async () => {
      const del = await h.request('/ech/status', { method: 'DELETE', token: ADMIN_TOKEN })
      expectJsonError(del, 405, 'method-not-allowed')
      expect(del.headers.get('allow')).to.equal('GET, HEAD')
      const get = await h.request('/ech/rotate', { token: ADMIN_TOKEN })
      expectJsonError(get, 405, 'method-not-allowed')
      expect(get.headers.get('allow')).to.equal('POST')
      expect((await h.request('/ech/mode', { method: 'POST', token: ADMIN_TOKEN, body: {} })).headers.get('allow')).to.equal('PUT')
    })

    const TRICKS = [
      '//ech/status', '///metrics', '/ech/../metrics', '/ech/./status', '/ech/status/', '/ech/status//', '/ech/%2e%2e/metrics',
      '/ech/%73tatus', '/%65ch/status', '/ECH/STATUS', '/Metrics', '/ech/status;x=1', '/ech/status%00', '/ech/status%2f',
      '/.well-known/libp2p-noise-ech/../../ech/status', '/.well-known/libp2p-noise-ech/../../metrics', '/ech\\status', '/ech/rotate/'
    ]
    for (const path of TRICKS) {
      it(`does not route ${path} (404), with or without credentials`, async () => {
        const auths: Array<Record<string, string>> = [{}, { Authorization: `Bearer ${READ_TOKEN}` }]
        for (const auth of auths) {
          const res = await rawRequest(current().url, [head('GET', path, { ...auth, Connection: 'close' })])
          expectRawError(res, 404, 'not-found')
        }
      })
    }

    it('ignores query strings for routing, never for auth', async () => {
      expectJsonError(await h.request('/ech/status?token=x&role=admin'), 401, 'unauthorized')
      expect((await h.request('/ech/status?x=1', { token: READ_TOKEN })).status).to.equal(200)
      expectJsonError(await h.request(`/ech/rotate?access_token=${ADMIN_TOKEN}`, { method: 'POST' }), 401, 'unauthorized')
      expectJsonError(await h.request('/ech/rotate?x', { method: 'POST', token: READ_TOKEN }), 403, 'forbidden')
    })

    it('refuses absolute-form and asterisk request targets with 400', async () => {
      for (const target of [`${h.url}/ech/status`, '*']) {
        const res = await rawRequest(h.url, [head('GET', target, { Authorization: `Bearer ${READ_TOKEN}`, Connection: 'close' })])
        expectRawError(res, 400, 'bad-request')
      }
    })

    it('answers a garbage request with 400 JSON and closes', async () => {
      const res = await rawRequest(h.url, ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n'])
      expectRawError(res, 400, 'bad-request')
      expect(res.closed).to.equal(true)
    })
  })

  describe('request bodies', () => {
    it('refuses a declared Content-Length over the limit with 413 before reading it, and closes', async () => {
      const res = await rawRequest(h.url, [
        head('PUT', '/ech/rollout', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': 1024 * 1024 }),
        '{"percentage":'
      ])
      expectRawError(res, 413, 'payload-too-large')
      expect(res.closed).to.equal(true)
    })

    it('refuses a chunked body that grows over the limit with 413, and closes', async () => {
      const chunk = `{"percentage":50${' '.repeat(1000)}`
      const steps = [head('PUT', '/ech/rollout', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })]
      for (let i = 0; i < 8; i++) {
        steps.push(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`)
      }
      const res = await rawRequest(h.url, steps)
      expectRawError(res, 413, 'payload-too-large')
      expect(res.closed).to.equal(true)
      expect(h.ech.policy.getState().rolloutPercentage).to.equal(100)
    })

    it('accepts a body of exactly the limit', async () => {
      const body = JSON.stringify({ percentage: 100 })
      const res = await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body: body + ' '.repeat(4096 - body.length) })
      expect(res.status, res.text).to.equal(200)
    })

    it('does not read the body of an unauthenticated request (401, connection closed)', async () => {
      const res = await rawRequest(h.url, [
        head('PUT', '/ech/rollout', { 'Content-Type': 'application/json', 'Content-Length': 10 * 1024 * 1024 }),
        Buffer.alloc(64 * 1024, 0x20)
      ])
      expectRawError(res, 401, 'unauthorized')
      expect(res.text).to.match(/connection: close/i)
      expect(res.closed).to.equal(true)
    })

    it('ends a body that arrives too slowly with 408, without hanging', async () => {
      const res = await rawRequest(h.url, [
        head('PUT', '/ech/rollout', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': 20 }),
        '{"perc',
        { delay: 400 },
        'entage"',
        { delay: 10_000 }
      ], 8000)
      expectRawError(res, 408, 'request-timeout')
      expect(res.closed).to.equal(true)
      expect(res.elapsedMs).to.be.below(3000)
      expect(h.ech.policy.getState().rolloutPercentage).to.equal(100)
    })

    it('ends headers that arrive too slowly with 408', async () => {
      const res = await rawRequest(h.url, ['GET /ech/status HTTP/1.1\r\nHost: x\r\n', { delay: 200 }, 'X-Slow: 1\r\n', { delay: 10_000 }], 8000)
      expectRawError(res, 408, 'request-timeout')
      expect(res.closed).to.equal(true)
      expect(res.elapsedMs).to.be.below(3000)
    })

    it('answers malformed JSON with 400 invalid-json', async () => {
      for (const body of ['{', '{"percentage":}', 'nul', '\u00ff']) {
        expectJsonError(await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body }), 400, 'invalid-json')
      }
    })

    it('answers a body that is not UTF-8 with 400 invalid-json', async () => {
      const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])
      const res = await rawRequest(h.url, [head('PUT', '/ech/rollout', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': bytes.byteLength, Connection: 'close' }), bytes])
      expectRawError(res, 400, 'invalid-json')
    })

    it('answers another content type with 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json; charset=latin1']) {
        const res = await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body: '{"percentage":1}', headers: { 'content-type': type } })
        expectJsonError(res, 415, 'unsupported-media-type')
      }
      const rotate = await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN, body: 'now', headers: { 'content-type': 'text/plain' } })
      expectJsonError(rotate, 415, 'unsupported-media-type')
      expect(h.ech.policy.getState().rolloutPercentage).to.equal(100)
    })

    it('accepts application/json with a UTF-8 charset parameter', async () => {
      const res = await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN, body: { percentage: 100 }, headers: { 'content-type': 'Application/JSON; charset=UTF-8' } })
      expect(res.status, res.text).to.equal(200)
    })

    it('answers a PUT without a body with 400', async () => {
      expectJsonError(await h.request('/ech/rollout', { method: 'PUT', token: ADMIN_TOKEN }), 400, 'bad-request')
    })

    it('refuses fields in a rotate body', async () => {
      expectJsonError(await h.request('/ech/rotate', { method: 'POST', token: ADMIN_TOKEN, body: { configId: 1 } }), 400, 'bad-request')
    })

    it('keeps serving on a kept-alive connection after a refused body', async () => {
      const res = await rawRequest(h.url, [
        head('PUT', '/ech/rollout', { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': 3 }),
        '{x}',
        head('GET', '/ech/status', { Authorization: `Bearer ${READ_TOKEN}`, Connection: 'close' })
      ])
      expect(res.text).to.match(/^HTTP\/1\.1 400 /)
      expect(res.text).to.match(/\r\n\r\n[^]*HTTP\/1\.1 200 /)
    })
  })

  describe('secrets', () => {
    it('logs one line per request with method, route, status and time, and no query string or unknown path', async () => {
      const before = h.lines.length
      await h.request(`/ech/status?access_token=${ADMIN_TOKEN}`, { token: READ_TOKEN })
      await h.request(`/ech/status/${ADMIN_TOKEN}`, { token: READ_TOKEN })
      await h.request('/ech/rotate', { method: 'POST', token: OTHER_TOKEN })
      await new Promise(resolve => setTimeout(resolve, 50))
      const lines = h.lines.slice(before).filter(l => l.component === 'libp2p:noise-ech:gateway').map(l => l.text)
      expect(lines).to.have.lengthOf(3)
      expect(lines[0]).to.match(/^GET \/ech\/status 200 \d+ms$/)
      expect(lines[1]).to.match(/^GET <unmatched path, \d+ chars> 404 \d+ms$/)
      expect(lines[2]).to.match(/^POST \/ech\/rotate 401 \d+ms$/)
    })

    it('no response and no log line held a token or a private key', async () => {
      // the private keys of every key the encrypter still holds
      const secrets = [READ_TOKEN, ADMIN_TOKEN, OTHER_TOKEN].flatMap(secretForms)
      for (const key of h.ech.keys.getKeys()) {
        secrets.push(...secretForms(key.privateKey.exportSecret()))
      }
      await h.request('/ech/status', { token: READ_TOKEN })
      await h.request('/metrics', { token: READ_TOKEN })
      await h.request('/.well-known/libp2p-noise-ech')
      const texts = [...h.transcript, ...h.lines.map(l => l.text)]
      expect(h.transcript.length).to.be.greaterThan(20)
      for (const text of texts) {
        for (const secret of secrets) {
          expect(text.includes(secret), `a secret in: ${text.slice(0, 200)}`).to.equal(false)
        }
      }
    })
  })
})
