/**
 * The HTTP gateway: a `node:http` server (no framework) on 127.0.0.1 by
 * default, started explicitly by the application.
 *
 * Every request is routed on its exact path (see `requestPath`), checked
 * for method, then for role, and only then is a body read. Errors are JSON
 * `{ error: { code, message } }`; one log line per request names the
 * method, the route, the status and the time, and never a header value.
 */
import { createServer } from 'node:http'
import { register as globalRegistry } from 'prom-client'
import { rotate, setMode, setRollout } from './admin.js'
import { Authorizer, addressKey, resolveTokens } from './auth.js'
import { ClientAddress } from './client-address.js'
import { DASHBOARD_CSP, DASHBOARD_HTML, DASHBOARD_PATH } from './dashboard.js'
import { EchGatewayOptionsError, HttpError } from './errors.js'
import { SECURITY_HEADERS, readJsonBody, requestPath, send, sendError, sendJson } from './http.js'
import { buildStatus } from './status.js'
import { WELL_KNOWN_PATH, WellKnown, matchesIfNoneMatch } from './well-known.js'
import type { Role } from './auth.js'
import type { EchGateway, EchGatewayInit } from './types.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Registry } from 'prom-client'

const DEFAULT_MAX_BODY = 4096
const DEFAULT_REQUEST_TIMEOUT = 10_000
const DEFAULT_HEADERS_TIMEOUT = 5_000
const DEFAULT_MAX_CACHE_AGE = 3600
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>
interface Endpoint { role?: Role, handler: Handler }
type Route = Partial<Record<'GET' | 'POST' | 'PUT', Endpoint>>

const CLIENT_ERROR_STATUS: Record<string, number> = { ERR_HTTP_REQUEST_TIMEOUT: 408, HPE_HEADER_OVERFLOW: 431 }
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

function checkNumber (value: number | undefined, fallback: number, name: string, min: number): number {
  if (value == null) { return fallback }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new EchGatewayOptionsError(`${name} must be an integer >= ${min}`)
  }
  return value
}

function noopLogger (): Logger {
  const log = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {} }) as unknown as Logger
  log.newScope = () => log
  return log
}

/**
 * The endpoint that serves a request, or the error that answers it: 400 for
 * a target that is not an absolute path, 404 for an unknown path, 405 (with
 * `Allow`) for a method the path does not take. HEAD is served as GET.
 */
function findEndpoint (path: string | undefined, route: Route | undefined, requestMethod: string | undefined): Endpoint {
  if (path == null) {
    throw new HttpError(400, 'bad-request', 'Request target must be an absolute path')
  }
  if (route == null) {
    throw new HttpError(404, 'not-found', 'No such endpoint')
  }
  const method = requestMethod === 'HEAD' ? 'GET' : requestMethod as keyof Route
  const endpoint = Object.hasOwn(route, method) ? route[method] : undefined
  if (endpoint == null) {
    const allow = Object.keys(route).flatMap(m => m === 'GET' ? ['GET', 'HEAD'] : [m]).join(', ')
    throw new HttpError(405, 'method-not-allowed', `Use ${allow}`, { headers: { Allow: allow } })
  }
  return endpoint
}

/**
 * The `node:http` implementation of {@link EchGateway}; usually made with
 * {@link createEchGateway}. The constructor validates the options (and
 * reads the token environment variables) and throws
 * `EchGatewayOptionsError` on a bad one; nothing listens before `start()`.
 */
export class EchHttpGateway implements EchGateway {
  private readonly encrypter: EchNoise
  private readonly peerId: PeerId
  private readonly host: string
  private readonly port: number
  private readonly log: Logger
  private readonly now: () => number
  private readonly registry: Registry
  private readonly authorizer: Authorizer
  private readonly clientAddress: ClientAddress
  private readonly wellKnown: WellKnown
  private readonly maxBodyBytes: number
  private readonly requestTimeout: number
  private readonly headersTimeout: number
  private readonly routes: Map<string, Route>
  private server?: Server
  private boundPort?: number

  constructor (init: EchGatewayInit) {
    if (init?.encrypter == null || init.libp2p?.peerId == null) {
      throw new EchGatewayOptionsError('libp2p and encrypter are required')
    }
    this.encrypter = init.encrypter
    this.peerId = init.libp2p.peerId
    this.host = init.host ?? '127.0.0.1'
    this.port = checkNumber(init.port, 0, 'port', 0)
    this.log = (init.logger ?? init.libp2p.logger)?.forComponent('libp2p:noise-ech:gateway') ?? noopLogger()
    this.now = init.now ?? Date.now
    this.registry = init.metrics?.registry ?? globalRegistry
    this.maxBodyBytes = checkNumber(init.maxBodyBytes, DEFAULT_MAX_BODY, 'maxBodyBytes', 2)
    this.requestTimeout = checkNumber(init.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT, 'requestTimeoutMs', 1)
    this.headersTimeout = checkNumber(init.headersTimeoutMs, Math.min(DEFAULT_HEADERS_TIMEOUT, this.requestTimeout), 'headersTimeoutMs', 1)
    if (this.headersTimeout > this.requestTimeout) {
      throw new EchGatewayOptionsError('headersTimeoutMs must not exceed requestTimeoutMs')
    }
    // tokens are read (and the environment consulted) once, here
    this.authorizer = new Authorizer({
      tokens: resolveTokens(init.tokens, init.env ?? process.env),
      allowAnonymousRead: init.allowAnonymousRead === true,
      rateLimit: init.rateLimit,
      now: this.now
    })
    this.clientAddress = new ClientAddress({ trustProxy: init.trustProxy, forwardedHeader: init.forwardedHeader })
    this.wellKnown = new WellKnown({
      encrypter: this.encrypter,
      peerId: this.peerId,
      now: this.now,
      maxAgeSeconds: checkNumber(init.maxCacheAgeSeconds, DEFAULT_MAX_CACHE_AGE, 'maxCacheAgeSeconds', 0)
    })
    this.routes = new Map<string, Route>([
      [WELL_KNOWN_PATH, { GET: { handler: this.getWellKnown.bind(this) } }],
      [DASHBOARD_PATH, { GET: { handler: this.getDashboard.bind(this) } }],
      ['/ech/status', { GET: { role: 'read', handler: this.getStatus.bind(this) } }],
      ['/metrics', { GET: { role: 'read', handler: this.getMetrics.bind(this) } }],
      ['/ech/rotate', { POST: { role: 'admin', handler: this.postRotate.bind(this) } }],
      ['/ech/rollout', { PUT: { role: 'admin', handler: this.putRollout.bind(this) } }],
      ['/ech/mode', { PUT: { role: 'admin', handler: this.putMode.bind(this) } }]
    ])
  }

  /** `libp2p-noise-ech/gateway`, for `Object.prototype.toString` and logs */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/gateway'

  /** `http://host:port` once started; throws `EchGatewayOptionsError` while stopped */
  get url (): string {
    if (this.boundPort == null) { throw new EchGatewayOptionsError('The gateway is not started') }
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.boundPort}`
  }

  /** True from the moment `start()` begins until `stop()` is called or the start fails */
  isStarted (): boolean {
    return this.server != null
  }

  /**
   * Bind `host`:`port` and serve; no-op when already started. Rejects with
   * the listen error (e.g. `EADDRINUSE`) and stays stopped. Warns in the log
   * when `host` is not a loopback address (plain HTTP: tokens in clear).
   */
  async start (): Promise<void> {
    if (this.server != null) { return }
    const server = createServer({
      requestTimeout: this.requestTimeout,
      headersTimeout: this.headersTimeout,
      // how often the two timeouts above are checked (node's default is 30 s)
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(this.headersTimeout / 4)))
    }, (req, res) => { void this.handle(req, res) })
    server.keepAliveTimeout = 5_000
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => { this.clientError(err, socket) })
    this.server = server
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.port, this.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      this.server = undefined
      throw err
    }
    const address = server.address()
    this.boundPort = typeof address === 'object' && address != null ? address.port : this.port
    this.log('listening on %s', this.url)
    if (!LOOPBACK.test(this.host)) {
      this.log('warning: listening on %s without TLS; bearer tokens cross the network in clear text unless a TLS proxy fronts the gateway', this.host)
    }
  }

  /** Stop listening and close every connection, in-flight requests included; no-op when stopped */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) { return }
    this.server = undefined
    this.boundPort = undefined
    await new Promise<void>(resolve => {
      server.close(() => { resolve() })
      server.closeAllConnections()
    })
    this.log('stopped')
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now()
    const path = requestPath(req.url)
    const route = path != null ? this.routes.get(path) : undefined
    // only known routes are logged by name: an unknown path might hold anything
    this.logWhenClosed(req, res, route != null ? path : `<unmatched path, ${req.url?.length ?? 0} chars>`, start)
    try {
      const endpoint = findEndpoint(path, route, req.method)
      if (endpoint.role != null) {
        const client = this.clientAddress.resolve(req.socket.remoteAddress, req.headersDistinct[this.clientAddress.headerName])
        this.authorizer.authorize(req.headers.authorization, endpoint.role, addressKey(client))
      }
      await endpoint.handler(req, res)
    } catch (err: any) {
      this.sendFailure(req, res, err)
    }
  }

  /** The request's log line, written once the response is finished or the connection is gone */
  private logWhenClosed (req: IncomingMessage, res: ServerResponse, logged: string | undefined, start: number): void {
    res.once('close', () => {
      const status = res.writableFinished ? String(res.statusCode) : 'aborted'
      this.log('%s %s %s %dms', req.method, logged, status, Math.round(performance.now() - start))
    })
  }

  private sendFailure (req: IncomingMessage, res: ServerResponse, err: any): void {
    const error = this.toHttpError(err)
    // a body we did not read to its end must not be taken for the next request
    const unread = !req.complete && (req.headers['content-length'] != null || req.headers['transfer-encoding'] != null)
    sendError(res, unread && !error.close ? new HttpError(error.status, error.code, error.message, { headers: error.headers, close: true }) : error)
  }

  private toHttpError (err: any): HttpError {
    if (err instanceof HttpError) { return err }
    if (err?.name === 'EchKeyManagerNotStartedError') {
      return new HttpError(503, 'not-ready', 'The encrypter is not started', { headers: { 'Retry-After': '1' } })
    }
    if (err?.name === 'EchPolicyConfigError') {
      return new HttpError(400, 'bad-request', 'Invalid policy setting')
    }
    this.log.error('request failed - %e', err)
    return new HttpError(500, 'internal', 'Internal error')
  }

  /** Errors node:http raises outside a request (timeouts, malformed requests): answer in JSON, then close */
  private clientError (err: NodeJS.ErrnoException, socket: Socket): void {
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400
    const pending = (socket as { _httpMessage?: ServerResponse })._httpMessage
    if (socket.writable && pending?.headersSent !== true) {
      const body = JSON.stringify({ error: { code: status === 408 ? 'request-timeout' : 'bad-request', message: STATUS_TEXT[status] } })
      const headers = Object.entries({ ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' })
        .map(([name, value]) => `${name}: ${value}\r\n`).join('')
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n${headers}\r\n${body}`)
    }
    socket.destroySoon?.()
    if (err.code !== 'ECONNRESET') {
      this.log('client error %s, answered %d', err.code ?? 'unknown', status)
    }
  }

  private async getWellKnown (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { document, etag, maxAgeSeconds } = await this.wellKnown.build()
    const headers = {
      ETag: etag,
      'Cache-Control': `public, max-age=${maxAgeSeconds}`,
      // public data without credentials: browser peers on other origins may read it
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'ETag',
      'Cross-Origin-Resource-Policy': 'cross-origin'
    }
    if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
      send(res, 304, undefined, headers)
      return
    }
    sendJson(res, 200, document, headers)
  }

  private async getDashboard (req: IncomingMessage, res: ServerResponse): Promise<void> {
    send(res, 200, DASHBOARD_HTML, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': DASHBOARD_CSP,
      'X-Frame-Options': 'DENY'
    })
  }

  private async getStatus (req: IncomingMessage, res: ServerResponse): Promise<void> {
    sendJson(res, 200, buildStatus(this.encrypter, this.peerId, this.now()))
  }

  private async getMetrics (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await this.registry.metrics()
    send(res, 200, text, { 'Content-Type': this.registry.contentType })
  }

  private async postRotate (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.maxBodyBytes, { optional: true })
    sendJson(res, 200, await rotate(this.encrypter, body, this.log))
  }

  private async putRollout (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.maxBodyBytes)
    sendJson(res, 200, setRollout(this.encrypter, body, this.log))
  }

  private async putMode (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, this.maxBodyBytes)
    sendJson(res, 200, setMode(this.encrypter, body, this.log))
  }
}

/**
 * Create the HTTP gateway of a node running {@link EchNoise}. It does not
 * listen until `start()`; the application starts and stops it (it is not a
 * libp2p service).
 *
 * @param init - the node, its encrypter, and where and how to serve
 * @returns the stopped gateway
 * @throws {EchGatewayOptionsError} when an option or a token (given or
 * from `ECH_GATEWAY_READ_TOKENS` / `ECH_GATEWAY_ADMIN_TOKENS`) is invalid
 *
 * @example
 *
 * ```TypeScript
 * const gateway = createEchGateway({ libp2p: node, encrypter, tokens: { read: [readToken], admin: [adminToken] } })
 * await gateway.start()
 * console.log(gateway.url) // http://127.0.0.1:<port>
 * ```
 */
export function createEchGateway (init: EchGatewayInit): EchGateway {
  return new EchHttpGateway(init)
}
