/**
 * Bearer-token authorization (RFC 6750) for the gateway's two roles, and a
 * per-address limit on failed attempts that never stops a valid token.
 *
 * Only SHA-256 digests of the configured tokens are kept. A presented token
 * is hashed and compared with every digest by `crypto.timingSafeEqual`, all
 * of them every time, so neither the token's length, nor how much of it
 * matched, nor which entry matched shows in the response time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { EchGatewayOptionsError, HttpError } from './errors.js'
import type { EchGatewayRateLimit, EchGatewayTokens } from './types.js'

export type Role = 'read' | 'admin'

/**
 * `ECH_GATEWAY_READ_TOKENS`: comma-separated read tokens. When set and not
 * blank it replaces `tokens.read`; read once, when the gateway is created,
 * from `init.env` (default `process.env`).
 */
export const ENV_READ_TOKENS = 'ECH_GATEWAY_READ_TOKENS'
/**
 * `ECH_GATEWAY_ADMIN_TOKENS`: comma-separated admin tokens. When set and
 * not blank it replaces `tokens.admin`; read once, when the gateway is
 * created, from `init.env` (default `process.env`).
 */
export const ENV_ADMIN_TOKENS = 'ECH_GATEWAY_ADMIN_TOKENS'

/** RFC 6750 §2.1 `b64token`; anything else cannot be sent in the header anyway */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const MIN_TOKEN_LENGTH = 16
const MAX_TOKEN_LENGTH = 512
const REALM = 'Bearer realm="libp2p-noise-ech"'

function checkToken (token: unknown, where: string): string {
  // the message names where the bad token came from, never the token
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH || !TOKEN.test(token)) {
    throw new EchGatewayOptionsError(`${where}: each token must be ${MIN_TOKEN_LENGTH}..${MAX_TOKEN_LENGTH} characters of [A-Za-z0-9-._~+/] (optionally ending in =)`)
  }
  return token
}

function fromEnv (value: string | undefined): string[] | undefined {
  if (value == null || value.trim() === '') { return undefined }
  return value.split(',').map(t => t.trim()).filter(t => t !== '')
}

/** The effective token lists: a set, non-blank environment variable replaces its role's list */
export function resolveTokens (tokens: EchGatewayTokens = {}, env: Record<string, string | undefined> = {}): Required<EchGatewayTokens> {
  const read = fromEnv(env[ENV_READ_TOKENS])
  const admin = fromEnv(env[ENV_ADMIN_TOKENS])
  const pick = (list: unknown, where: string): string[] => {
    if (list == null) { return [] }
    if (!Array.isArray(list)) { throw new EchGatewayOptionsError(`${where} must be an array of strings`) }
    return list.map(t => checkToken(t, where))
  }
  return {
    read: read != null ? pick(read, ENV_READ_TOKENS) : pick(tokens.read, 'tokens.read'),
    admin: admin != null ? pick(admin, ENV_ADMIN_TOKENS) : pick(tokens.admin, 'tokens.admin')
  }
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/** Failed attempts per address in fixed windows, in a map of bounded size */
export class FailureLimiter {
  private readonly maxFailures: number
  private readonly windowMs: number
  private readonly maxAddresses: number
  private readonly entries = new Map<string, { count: number, since: number }>()

  constructor (init: EchGatewayRateLimit = {}) {
    this.maxFailures = positiveInt(init.maxFailures ?? 10, 'rateLimit.maxFailures')
    this.windowMs = positiveInt(init.windowMs ?? 60_000, 'rateLimit.windowMs')
    this.maxAddresses = positiveInt(init.maxAddresses ?? 10_000, 'rateLimit.maxAddresses')
  }

  get size (): number {
    return this.entries.size
  }

  /** Seconds until `address` may try again; 0 when it may now */
  blockedFor (address: string, now: number): number {
    const entry = this.entries.get(address)
    if (entry == null) { return 0 }
    const left = entry.since + this.windowMs - now
    if (left <= 0) {
      this.entries.delete(address)
      return 0
    }
    return entry.count >= this.maxFailures ? Math.ceil(left / 1000) : 0
  }

  fail (address: string, now: number): void {
    const entry = this.entries.get(address)
    this.entries.delete(address)
    if (entry == null || now - entry.since >= this.windowMs) {
      this.entries.set(address, { count: 1, since: now })
    } else {
      this.entries.set(address, { count: entry.count + 1, since: entry.since })
    }
    // the least recently failed address goes first; an attacker with many
    // addresses can flush the map, but then each address gets only maxFailures
    if (this.entries.size > this.maxAddresses) {
      const oldest = this.entries.keys().next().value
      if (oldest != null) { this.entries.delete(oldest) }
    }
  }
}

function positiveInt (value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EchGatewayOptionsError(`${name} must be a positive integer`)
  }
  return value
}

export interface AuthorizerInit {
  tokens: Required<EchGatewayTokens>
  allowAnonymousRead: boolean
  rateLimit?: EchGatewayRateLimit
  now(): number
}

export class Authorizer {
  private readonly digests: Array<{ digest: Buffer, role: Role }>
  private readonly hasRead: boolean
  private readonly hasAdmin: boolean
  private readonly allowAnonymousRead: boolean
  private readonly limiter: FailureLimiter
  private readonly now: () => number

  constructor (init: AuthorizerInit) {
    this.digests = [
      ...init.tokens.read.map(t => ({ digest: sha256(t), role: 'read' as const })),
      ...init.tokens.admin.map(t => ({ digest: sha256(t), role: 'admin' as const }))
    ]
    this.hasAdmin = init.tokens.admin.length > 0
    this.hasRead = this.hasAdmin || init.tokens.read.length > 0
    this.allowAnonymousRead = init.allowAnonymousRead
    this.limiter = new FailureLimiter(init.rateLimit)
    this.now = init.now
  }

  /** Whether any credential (or anonymous access) can reach endpoints of this role */
  isEnabled (role: Role): boolean {
    return role === 'admin' ? this.hasAdmin : this.hasRead || this.allowAnonymousRead
  }

  /**
   * Let the request through or throw the HttpError to answer with. Order:
   * disabled role (403), missing (401, not counted), then the token is
   * looked up in constant time: a valid one passes (or gets 403 for too
   * little role) whatever the limit says, so a source that sends bad tokens
   * cannot lock operators who share its address out of the kill switch or
   * rotation. Only failures meet the limit: a malformed header or unknown
   * token gets 429 while `address` is over it, else 401 and is counted.
   */
  authorize (authorization: string | undefined, required: Role, address: string): void {
    if (!this.isEnabled(required)) {
      throw new HttpError(403, 'disabled', `No ${required} tokens are configured: ${required} endpoints are disabled`)
    }
    if (authorization == null || authorization === '') {
      if (required === 'read' && this.allowAnonymousRead) { return }
      throw new HttpError(401, 'unauthorized', 'Bearer token required', { headers: { 'WWW-Authenticate': REALM } })
    }
    const match = BEARER.exec(authorization)
    const role = match == null ? undefined : this.lookup(match[1])
    if (role == null) {
      this.fail(address, match == null)
    }
    if (required === 'admin' && role !== 'admin') {
      throw new HttpError(403, 'forbidden', 'This token does not have the admin role', {
        headers: { 'WWW-Authenticate': `${REALM}, error="insufficient_scope"` }
      })
    }
  }

  /** A malformed header or unknown token: 429 while the address is over the limit (not counted again), else counted and 401 */
  private fail (address: string, malformed: boolean): never {
    const now = this.now()
    const wait = this.limiter.blockedFor(address, now)
    if (wait > 0) {
      throw new HttpError(429, 'rate-limited', 'Too many failed authentication attempts', { headers: { 'Retry-After': String(wait) } })
    }
    this.limiter.fail(address, now)
    if (malformed) {
      throw new HttpError(401, 'unauthorized', 'Malformed Authorization header: expected "Bearer <token>"', {
        headers: { 'WWW-Authenticate': `${REALM}, error="invalid_request"` }
      })
    }
    throw new HttpError(401, 'unauthorized', 'Invalid bearer token', { headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` } })
  }

  private lookup (token: string): Role | undefined {
    const digest = sha256(token)
    let role: Role | undefined
    for (const entry of this.digests) {
      // no early exit: every digest is compared every time
      if (timingSafeEqual(digest, entry.digest) && role !== 'admin') {
        role = entry.role
      }
    }
    return role
  }
}

/** The rate-limit key for a socket address: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64) */
export function addressKey (remote: string | undefined): string {
  if (remote == null || remote === '') { return 'unknown' }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)
  if (mapped != null) { return mapped[1] }
  if (!remote.includes(':')) { return remote }
  const address = remote.split('%')[0].toLowerCase()
  const [head, tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const groups = tail == null ? left : [...left, ...new Array(Math.max(8 - left.length - right.length, 0)).fill('0'), ...right]
  return `${groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
