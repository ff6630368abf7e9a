/**
 * Public types of the HTTP gateway: its options, its handle, and the JSON
 * bodies it answers with (documented so clients can rely on them).
 */
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { EchMode } from '../encrypter/types.js'
import type { AuditEntry } from '../monitor/types.js'
import type { BreakerInfo, PolicySettingSource } from '../policy/types.js'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/**
 * Bearer tokens (RFC 6750) of the gateway's two roles. A role without any
 * token is disabled: its endpoints answer 403 (read endpoints stay open
 * when `allowAnonymousRead` is set). Only SHA-256 digests of the tokens are
 * kept, compared in constant time.
 */
export interface EchGatewayTokens {
  /** Tokens that may read status and metrics (`GET /ech/status`, `GET /metrics`) */
  read?: string[]
  /**
   * Tokens that may also rotate keys and change the rollout, mode and kill
   * switch (`POST /ech/rotate`, `PUT /ech/rollout`, `PUT /ech/mode`); an
   * admin token passes the read endpoints too
   */
  admin?: string[]
}

/**
 * Limit on failed authentications per client address (an IPv4 address, or
 * an IPv6 /64; behind a proxy see `trustProxy`), counted in fixed windows:
 * a malformed `Authorization` header or an unknown token counts, a missing
 * one or a valid token with too little role does not. An address over the
 * limit gets 429 with `Retry-After` for every further failure; a request
 * with a valid token is never limited, so one client sending bad tokens
 * cannot lock out operators who share its address.
 */
export interface EchGatewayRateLimit {
  /** Failed authentications from one address allowed per window (default 10) */
  maxFailures?: number
  /** The window, ms (default 60 000); an address over the limit gets 429 until it ends */
  windowMs?: number
  /** Addresses tracked at once, least recently failed evicted first (default 10 000) */
  maxAddresses?: number
}

/** Options of {@link createEchGateway}; `libp2p` and `encrypter` are required */
export interface EchGatewayInit {
  /** The node the encrypter belongs to: its peer id is published, its logger used */
  libp2p: {
    /** The node's peer id, published in the well-known document and the status */
    peerId: PeerId
    /** Source of the gateway's logger (`libp2p:noise-ech:gateway`) when `logger` is not given; with neither, nothing is logged */
    logger?: ComponentLogger
  }
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
  metrics?: {
    /** The prom-client registry `GET /metrics` serves in Prometheus text format (default prom-client's global registry) */
    registry?: Registry
  }
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
  /** Limit on failed authentications per client address (default 10 per 60 s window, 10 000 addresses tracked) */
  rateLimit?: EchGatewayRateLimit
  /**
   * Reverse proxies (IP addresses or CIDR ranges, e.g. `['127.0.0.1']`,
   * `['10.0.0.0/8', 'fd00::/8']`) whose `forwardedHeader` is believed.
   * When the socket peer is one of them, the rate limit is keyed on the
   * right-most address in that header that is not a trusted proxy. Default:
   * none — the header is ignored and the socket peer is the client, since
   * anyone can write the header.
   */
  trustProxy?: string[]
  /**
   * The header the trusted proxies append the client's address to:
   * `x-forwarded-for` (default; nginx `$proxy_add_x_forwarded_for`, HAProxy
   * `option forwardfor`, Caddy, Traefik) or `forwarded` (RFC 7239). Only
   * this one is read: the proxy must append to it (or overwrite it).
   */
  forwardedHeader?: 'x-forwarded-for' | 'forwarded'
}

/**
 * The HTTP gateway {@link createEchGateway} returns: a plain-HTTP server
 * (no TLS; bound to 127.0.0.1 unless `host` says otherwise) that the
 * application starts and stops itself; it is not a libp2p service.
 *
 * Endpoints: `GET /.well-known/libp2p-noise-ech` ({@link WellKnownDocument},
 * public), `GET /ech/dashboard` (public page that holds no data),
 * `GET /ech/status` ({@link StatusDocument}) and `GET /metrics` (read role),
 * `POST /ech/rotate`, `PUT /ech/rollout` and `PUT /ech/mode` (admin role).
 * Errors answer with an {@link ErrorBody}.
 */
export interface EchGateway {
  /**
   * `http://host:port` once started (an IPv6 host in brackets, the port
   * actually bound when `port` was 0); throws `EchGatewayOptionsError`
   * while the gateway is not started
   */
  readonly url: string
  /**
   * Bind `host`:`port` and serve. Resolves once listening; does nothing when
   * already started; rejects with the listen error (e.g. `EADDRINUSE`),
   * leaving the gateway stopped. Logs a warning when `host` is not a
   * loopback address, since tokens would then cross the network in clear
   * unless a TLS proxy fronts the gateway.
   */
  start(): Promise<void>
  /**
   * Stop listening and close every connection, idle keep-alive and
   * in-flight alike; resolves when the server has closed. Does nothing when
   * not started; the gateway can be started again.
   */
  stop(): Promise<void>
  /** True from the moment `start()` begins until `stop()` is called or the start fails */
  isStarted(): boolean
}

/** `GET /.well-known/libp2p-noise-ech` */
export interface WellKnownDocument {
  /** The node's peer id (its string form): the peer the record must be verified against */
  peerId: string
  /** ECHConfigList, wire form (RFC 9849 §4), standard base64 */
  configList: string
  /** The signed config record (libp2p signed envelope), standard base64 */
  record: string
  /** When the record expires, ISO 8601 */
  expires: string
}

/**
 * One live ECH key in {@link StatusDocument.keys}, described by its public
 * half only (no private key material)
 */
export interface KeyStatus {
  /** The ECHConfig `config_id` (0-255) that outer hellos name */
  configId: number
  /** The HPKE KEM id (e.g. `0x0020` DHKEM(X25519), `0x647a` X-Wing), as a number */
  kemId: number
  /** The KEM's short name (`x25519`, `x-wing`), or its id in hex when unknown */
  kem: string
  /** The ECHConfig `public_name` */
  publicName: string
  /** The newest key: the one published first and used for new offers */
  current: boolean
  /** When the key was made, ISO 8601 */
  createdAt: string
  /** Whole seconds from `createdAt` to the document's `time` */
  ageSeconds: number
  /** When a newer key replaced it (retired keys only) */
  retiredAt?: string
  /** When it stops being accepted (retired keys, when the key manager tells) */
  expiresAt?: string
}

/**
 * `GET /ech/status`: a snapshot of the encrypter for operators. Counts are
 * totals since the encrypter was created (they are not persisted).
 */
export interface StatusDocument {
  /** The node's peer id (its string form) */
  peerId: string
  /** When the snapshot was taken (the gateway's clock), ISO 8601 */
  time: string
  /** The configured mode (`ech.mode`), whatever the kill switch says */
  mode: EchMode
  /** `mode`, or `disabled` while the kill switch is off */
  effectiveMode: EchMode
  /** The kill switch: false sends every connection through stock Noise */
  enabled: {
    /** Whether ECH is enabled */
    value: boolean
    /** Where the value came from: `env` (`ECH_ENABLED`), `init`, `default` or `runtime` (admin endpoint or `policy.setEnabled()`) */
    source: PolicySettingSource
  }
  /** The share of peers offered ECH when dialing */
  rollout: {
    /** Percentage of peers (0-100, by a stable hash of the peer id) */
    percentage: number
    /** Where the value came from: `env` (`ECH_ROLLOUT_PERCENTAGE`), `init`, `default` or `runtime` */
    source: PolicySettingSource
  }
  /** The live keys, newest (current) first, then retired keys still in their grace period */
  keys: KeyStatus[]
  /** When the next automatic rotation is due, ISO 8601; absent when none is scheduled (e.g. keys given by the application) */
  nextRotation?: string
  /** Handshakes counted by the monitor, as `libp2p_ech_noise_handshakes_total` */
  handshakes: {
    /** All handshakes, both roles, every outcome (including `failed`) */
    total: number
    /** Summed over roles */
    byOutcome: Record<string, number>
    /** `<role>_<outcome>`, as the `role_outcome` metric label */
    byLabel: Record<string, number>
  }
  /** Connections handed to stock Noise, by reason (every reason present, 0 included), as `libp2p_ech_noise_fallbacks_total` */
  fallbacks: Record<string, number>
  /** Threat detections by kind, including those whose event was rate-limited, as `libp2p_ech_noise_threats_total` */
  threats: Record<string, number>
  /** Outer hellos received (responder) */
  outerHellos: {
    /** Opened with a live key */
    accepted: number
    /** Parsed but not openable: unknown config id, unsupported suite, failed open, wrong peer (stale configs, GREASE, probes) */
    failed: number
    /** Did not parse */
    malformed: number
  }
  /** Connections `require` mode refused, both roles */
  requireRefusals: number
  /** Peers this node currently sends stock Noise because their circuit breaker tripped */
  breakers: {
    /** How many breakers are open or half-open */
    open: number
    /** Those breakers, least recently used first */
    peers: BreakerInfo[]
  }
  /** The latest threat events (at most 20) as audit entries, newest first */
  recentThreats: AuditEntry[]
}

/** The JSON body of every error response of the gateway */
export interface ErrorBody {
  /** What went wrong */
  error: {
    /**
     * Machine-readable: `bad-request`, `invalid-json`, `unauthorized`,
     * `forbidden`, `disabled`, `not-found`, `method-not-allowed`,
     * `request-timeout`, `payload-too-large`, `unsupported-media-type`,
     * `rate-limited`, `internal` or `not-ready`
     */
    code: string
    /** For humans; never contains a token or a header value */
    message: string
  }
}
