/**
 * The failed-attempt limit behind a reverse proxy (review "Hardening",
 * item 7). A real `node:http` proxy on 127.0.0.1 forwards to the gateway
 * from 127.0.0.9 and appends the client's address to `X-Forwarded-For` (or
 * `Forwarded`), as nginx's `$proxy_add_x_forwarded_for` does; clients dial
 * it from distinct loopback addresses (127.0.0.2, 127.0.0.3), so the
 * gateway sees every request come from the proxy.
 */
import { request as httpRequest, createServer } from 'node:http'
import { expect } from 'aegir/chai'
import { trapUnhandled } from '../fixtures/nodes.js'
import { ADMIN_TOKEN, OTHER_TOKEN, READ_TOKEN, startHarness } from './fixtures.js'
import type { Harness, HarnessOptions } from './fixtures.js'
import type { IncomingHttpHeaders, Server } from 'node:http'

const PROXY_ADDRESS = '127.0.0.9'
const ATTACKER = '127.0.0.2'
const OPERATOR = '127.0.0.3'

interface Reply { status: number, body: any }

/** One HTTP request to `base` from the local address `from`, on its own connection */
async function send (base: string, from: string, path: string, init: { method?: string, token?: string, body?: unknown, headers?: Record<string, string | string[]> } = {}): Promise<Reply> {
  const { hostname, port } = new URL(base)
  const body = init.body === undefined ? undefined : JSON.stringify(init.body)
  const headers: Record<string, string | string[]> = { ...init.headers }
  if (init.token != null) { headers.authorization = `Bearer ${init.token}` }
  if (body != null) { headers['content-type'] = 'application/json' }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), localAddress: from, method: init.method ?? 'GET', path, headers, agent: false, timeout: 10_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A reverse proxy to `target` that connects from PROXY_ADDRESS and appends the client's address to `header` */
async function startProxy (target: string, header: 'x-forwarded-for' | 'forwarded'): Promise<{ url: string, server: Server }> {
  const { port } = new URL(target)
  const server = createServer((req, res) => {
    const client = req.socket.remoteAddress ?? ''
    const headers: IncomingHttpHeaders = { ...req.headers }
    const hop = header === 'x-forwarded-for' ? client : `for=${client.includes(':') ? `"[${client}]"` : client}`
    const existing = req.headers[header]
    headers[header] = existing == null ? hop : `${String(existing)}, ${hop}`
    const upstream = httpRequest({ host: '127.0.0.1', port: Number(port), localAddress: PROXY_ADDRESS, method: req.method, path: req.url, headers, agent: false }, up => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => { res.destroy() })
    req.pipe(upstream)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}`, server }
}

const KILL_SWITCH_OFF = { method: 'PUT', body: { enabled: false } }

describe('gateway rate limit behind a reverse proxy', function () {
  this.timeout(30_000)
  trapUnhandled()
  let h: Harness | undefined
  let proxy: { url: string, server: Server } | undefined

  async function setup (gateway: HarnessOptions['gateway'], header: 'x-forwarded-for' | 'forwarded' = 'x-forwarded-for'): Promise<{ h: Harness, proxyUrl: string }> {
    h = await startHarness({ gateway: { ...gateway, rateLimit: { maxFailures: 3, windowMs: 60_000 } } })
    proxy = await startProxy(h.url, header)
    return { h, proxyUrl: proxy.url }
  }

  /** `maxFailures` bad tokens and two more from `from` through `base`: 401 three times, then 429 */
  async function exhaust (base: string, from: string, headers: () => Record<string, string> = () => ({})): Promise<number[]> {
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      statuses.push((await send(base, from, '/ech/mode', { ...KILL_SWITCH_OFF, token: OTHER_TOKEN, headers: headers() })).status)
    }
    return statuses
  }

  afterEach(async () => {
    await new Promise<void>(resolve => { proxy?.server.close(() => { resolve() }) ?? resolve() })
    proxy?.server.closeAllConnections()
    await h?.stop()
    h = undefined
    proxy = undefined
  })

  it('one client with bad tokens does not stop another from flipping the kill switch (trustProxy)', async () => {
    const { h, proxyUrl } = await setup({ trustProxy: [PROXY_ADDRESS] })
    expect(await exhaust(proxyUrl, ATTACKER)).to.deep.equal([401, 401, 401, 429, 429])
    const flipped = await send(proxyUrl, OPERATOR, '/ech/mode', { ...KILL_SWITCH_OFF, token: ADMIN_TOKEN })
    expect(flipped.status, JSON.stringify(flipped.body)).to.equal(200)
    expect(flipped.body).to.deep.include({ enabled: false, effectiveMode: 'disabled' })
    expect(h.ech.policy.isEnabled()).to.be.false()
    // the operator's bad tokens are counted on its own address
    expect((await send(proxyUrl, OPERATOR, '/ech/status', { token: OTHER_TOKEN })).status).to.equal(401)
  })

  it('a valid token is never rate-limited, even from the limited source (no trustProxy: every client is the proxy)', async () => {
    const { h, proxyUrl } = await setup({})
    expect(await exhaust(proxyUrl, ATTACKER)).to.deep.equal([401, 401, 401, 429, 429])
    // same source as far as the gateway can tell: the proxy
    const flipped = await send(proxyUrl, OPERATOR, '/ech/mode', { ...KILL_SWITCH_OFF, token: ADMIN_TOKEN })
    expect(flipped.status, JSON.stringify(flipped.body)).to.equal(200)
    expect(h.ech.policy.isEnabled()).to.be.false()
    expect((await send(proxyUrl, ATTACKER, '/ech/rotate', { method: 'POST', token: ADMIN_TOKEN })).status).to.equal(200)
    expect((await send(proxyUrl, ATTACKER, '/ech/status', { token: READ_TOKEN })).status).to.equal(200)
    // a read token still lacks the admin role: 403, not a pass
    expect((await send(proxyUrl, ATTACKER, '/ech/rotate', { method: 'POST', token: READ_TOKEN })).status).to.equal(403)
    // failures stay limited
    expect((await send(proxyUrl, OPERATOR, '/ech/status', { token: OTHER_TOKEN })).status).to.equal(429)
  })

  it('without trustProxy, X-Forwarded-For is ignored: a client cannot spread its failures over made-up addresses', async () => {
    const { h } = await setup({})
    let n = 0
    const spoof = (): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${++n}` })
    expect(await exhaust(h.url, ATTACKER, spoof)).to.deep.equal([401, 401, 401, 429, 429])
    expect((await send(h.url, ATTACKER, '/ech/status', { token: OTHER_TOKEN, headers: spoof() })).status).to.equal(429)
  })

  it('with trustProxy, a client connecting directly (not through a trusted proxy) cannot spoof X-Forwarded-For', async () => {
    const { h } = await setup({ trustProxy: [PROXY_ADDRESS] })
    let n = 0
    expect(await exhaust(h.url, ATTACKER, () => ({ 'x-forwarded-for': `198.51.100.${++n}` }))).to.deep.equal([401, 401, 401, 429, 429])
  })

  it('through the proxy, what the client writes itself is left of the proxy\'s entry and does not move its key', async () => {
    const { proxyUrl } = await setup({ trustProxy: [PROXY_ADDRESS] })
    let n = 0
    const spoof = (): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${++n}, ${OPERATOR}` })
    expect(await exhaust(proxyUrl, ATTACKER, spoof)).to.deep.equal([401, 401, 401, 429, 429])
    // and the operator it named is not the one that got limited
    expect((await send(proxyUrl, OPERATOR, '/ech/status', { token: OTHER_TOKEN })).status).to.equal(401)
  })

  it('reads RFC 7239 Forwarded when told to, and then ignores X-Forwarded-For', async () => {
    const { proxyUrl } = await setup({ trustProxy: [PROXY_ADDRESS], forwardedHeader: 'forwarded' }, 'forwarded')
    let n = 0
    // a client-written X-Forwarded-For is not the configured header: no effect
    expect(await exhaust(proxyUrl, ATTACKER, () => ({ 'x-forwarded-for': `198.51.100.${++n}` }))).to.deep.equal([401, 401, 401, 429, 429])
    expect((await send(proxyUrl, OPERATOR, '/ech/mode', { ...KILL_SWITCH_OFF, token: OTHER_TOKEN })).status).to.equal(401)
  })
})
