/**
 * Protocol id and defaults of the config exchange service.
 */
import { MAX_RECORD_TTL_SECONDS } from '../config/record.js'

/**
 * The config exchange protocol. Request-response: the dialer opens a stream
 * and sends nothing (it closes its write end at once); the listener writes
 * ONE message — an unsigned-varint length followed by that many bytes of a
 * signed config record (`src/config/record.ts`) — and closes the stream.
 */
export const ECH_CONFIG_EXCHANGE_PROTOCOL = '/libp2p-noise-ech/config/1.0.0'

/** Longest record a client reads, bytes (a record with two X-Wing configs is about 3 KiB) */
export const DEFAULT_MAX_RECORD_SIZE = 16 * 1024

/** Longest a stored record is trusted, ms: the record cap (48 h, DESIGN.md) */
export const MAX_RECORD_AGE = MAX_RECORD_TTL_SECONDS * 1000

/** A stored record with less validity left than this is fetched again, ms (1 h) */
export const DEFAULT_REFRESH_MARGIN = 60 * 60 * 1000

/** Deadline of one fetch (open stream, read, verify, store) and of serving one request, ms */
export const DEFAULT_TIMEOUT = 10_000

/** Fetches running at once, across all peers */
export const DEFAULT_MAX_CONCURRENT_FETCHES = 4

/** Fetches waiting for a slot; more are dropped (and retried at the next identify) */
export const DEFAULT_MAX_QUEUED_FETCHES = 256

export const DEFAULT_MAX_INBOUND_STREAMS = 2
export const DEFAULT_MAX_OUTBOUND_STREAMS = 2
