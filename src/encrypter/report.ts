/**
 * Reporting: every connection the encrypter secures, fails or refuses
 * becomes one report, kept for `getConnectionInfo`, logged, and handed to the
 * monitor, which dispatches the `ech:*` events and counts the metrics.
 */
import type { EchConnectionInfo, EchOutcome } from './types.js'
import type { EchMonitor } from '../monitor/monitor.js'
import type { EchPath } from '../monitor/types.js'
import type { Logger, MessageStream, PeerId, SecureConnectionOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** One secureInbound/secureOutbound call */
export interface Attempt {
  connection: MessageStream
  direction: 'inbound' | 'outbound'
  start: number
  remotePeer?: PeerId
  remoteAddr?: Multiaddr
  /** Inbound: the source its per-source limits count against, set on admission */
  source?: string
}

/** Where a connection's info is filed: the libp2p `Connection` shares its `timeline` with the raw stream */
function keyOf (connection: { timeline?: object }): object {
  return connection.timeline ?? connection
}

export class Reporter {
  private readonly log: Logger
  private readonly monitor: EchMonitor
  private readonly connections = new WeakMap<object, EchConnectionInfo>()

  constructor (log: Logger, monitor: EchMonitor) {
    this.log = log
    this.monitor = monitor
  }

  /** Begin reporting on one secureInbound/secureOutbound call */
  start (connection: MessageStream, direction: 'inbound' | 'outbound', options?: SecureConnectionOptions): Attempt {
    return {
      connection,
      direction,
      start: performance.now(),
      remotePeer: options?.remotePeer,
      remoteAddr: (connection as { remoteAddr?: Multiaddr }).remoteAddr,
      source: undefined
    }
  }

  /** The ECH outcome of a connection reported as secured */
  get (connection: { timeline?: object }): EchConnectionInfo | undefined {
    return this.connections.get(keyOf(connection))
  }

  /** A secured connection (or a `require`-mode rejection, with `extra.error`) */
  secured (attempt: Attempt, outcome: EchOutcome, remotePeer: PeerId, extra: Partial<EchConnectionInfo> = {}): void {
    const info: EchConnectionInfo = {
      direction: attempt.direction,
      role: attempt.direction === 'outbound' ? 'initiator' : 'responder',
      outcome,
      path: outcome === 'fallback' || outcome === 'not-offered' ? 'stock' : 'ech',
      remotePeer,
      remoteAddr: attempt.remoteAddr,
      durationMs: performance.now() - attempt.start,
      ...extra,
      retryConfigs: extra.retryConfigsLearned
    }
    this.connections.set(keyOf(attempt.connection as { timeline?: object }), info)
    this.log('%s connection with %p: ECH %s', attempt.direction, remotePeer, outcome)
    this.monitor.handshake(info)
  }

  /** A handshake that threw */
  failed (attempt: Attempt, err: any, path: EchPath): void {
    this.log.error('%s handshake with %p failed - %e', attempt.direction, attempt.remotePeer, err)
    this.monitor.handshake({
      direction: attempt.direction,
      role: attempt.direction === 'outbound' ? 'initiator' : 'responder',
      outcome: 'failed',
      path,
      durationMs: performance.now() - attempt.start,
      remotePeer: attempt.remotePeer,
      remoteAddr: attempt.remoteAddr,
      reason: err?.name,
      error: err?.name ?? 'Error'
    })
  }

  /** Refuse a connection (`require` mode): report, close, throw */
  refuse (attempt: Attempt, err: Error, stream: MessageStream = attempt.connection): never {
    this.failed(attempt, err, 'ech')
    stream.abort(err)
    throw err
  }
}
