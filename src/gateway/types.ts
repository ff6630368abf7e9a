/**
 * Public types of the HTTP gateway: its options, its handle, and the JSON
 * bodies it answers with (documented so clients can rely on them).
 */
import type { EchNoise } from '../ech-noise.js'
import type { AuditEntry } from '../monitor/types.js'
import type { BreakerInfo, PolicySettingSource } from '../policy/types.js'
import type { EchMode } from '../types.js'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface EchGatewayTokens {
  /** Tokens that may read status and metrics */
  read?: string[]
  /** Tokens that may also rotate keys and change the rollout, mode and kill switch */
  admin?: string[]
}

export interface EchGatewayRateLimit {
  /** Failed authentications from one address allowed per window (default 10) */
  maxFailures?: number
  /** The window, ms (default 60 000); an address over the limit gets 429 until it ends */
  windowMs?: number
  /** Addresses tracked at once, least recently failed evicted first (default 10 000) */
  maxAddresses?: number
}

export interface EchGatewayInit {
  /** The node the encrypter belongs to: its peer id is published, its logger used */
  libp2p: { peerId: PeerId, logger?: ComponentLogger }
  /** The node's ECH encrypter */
  encrypter: EchNoise
  /** Address to bind (default `127.0.0.1`) */
  host?: string
  /** Port to bind (default 0: any free port) */
  port?: number
  /**
   * Bearer tokens per role. `ECH_GATEWAY_READ_TOKENS` / `ECH_GATEWAY_ADMIN_TOKENS`
   * (comma-separated), when set and non-blank, replace the list of their role.
   * A token is 16..512 characters of the RFC 6750 `b64token` alphabet.
   */
  tokens?: EchGatewayTokens
  /** Serve the read endpoints without credentials (default false: they need a read or admin token) */
  allowAnonymousRead?: boolean
  /** Where `/metrics` comes from (default prom-client's global registry) */
  metrics?: { registry?: Registry }
  /** Default: the node's logger */
  logger?: ComponentLogger
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
  /** Where the token variables are read, once, at creation (default `process.env`) */
  env?: Record<string, string | undefined>
  /** Largest request body accepted, bytes (default 4096) */
  maxBodyBytes?: number
  /** Time allowed to receive a whole request, ms (default 10 000) */
  requestTimeoutMs?: number
  /** Time allowed to receive the request headers, ms (default 5 000, at most `requestTimeoutMs`) */
  headersTimeoutMs?: number
  /** Longest `max-age` of the well-known document, seconds (default 3600) */
  maxCacheAgeSeconds?: number
  rateLimit?: EchGatewayRateLimit
}

export interface EchGateway {
  /** `http://host:port` once started */
  readonly url: string
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
}

/** `GET /.well-known/libp2p-noise-ech` */
export interface WellKnownDocument {
  peerId: string
  /** ECHConfigList, wire form (RFC 9849 §4), standard base64 */
  configList: string
  /** The signed config record (libp2p signed envelope), standard base64 */
  record: string
  /** When the record expires, ISO 8601 */
  expires: string
}

export interface KeyStatus {
  configId: number
  kemId: number
  /** The KEM's short name (`x25519`, `x-wing`), or its id in hex when unknown */
  kem: string
  publicName: string
  /** The newest key: the one published first and used for new offers */
  current: boolean
  createdAt: string
  ageSeconds: number
  /** When a newer key replaced it (retired keys only) */
  retiredAt?: string
  /** When it stops being accepted (retired keys, when the key manager tells) */
  expiresAt?: string
}

/** `GET /ech/status` */
export interface StatusDocument {
  peerId: string
  time: string
  mode: EchMode
  /** `mode`, or `disabled` while the kill switch is off */
  effectiveMode: EchMode
  enabled: { value: boolean, source: PolicySettingSource }
  rollout: { percentage: number, source: PolicySettingSource }
  keys: KeyStatus[]
  nextRotation?: string
  handshakes: {
    total: number
    /** Summed over roles */
    byOutcome: Record<string, number>
    /** `<role>_<outcome>`, as the `role_outcome` metric label */
    byLabel: Record<string, number>
  }
  fallbacks: Record<string, number>
  threats: Record<string, number>
  outerHellos: { accepted: number, failed: number, malformed: number }
  requireRefusals: number
  breakers: { open: number, peers: BreakerInfo[] }
  recentThreats: AuditEntry[]
}

export interface ErrorBody {
  error: { code: string, message: string }
}
