/**
 * Turning what a libp2p 3 fleet node's encrypter does into reports: the ECH
 * encrypter's own events (outcomes, failures, threats) and its DHT
 * service's (lookups, publications); for stock Noise, its two entry points
 * timed and wrapped. Only types are imported from the package: a stock
 * worker never loads it.
 */
import type { Report } from './ipc.js'

export type EchApi = typeof import('../../../src/index.js')

type Send = (report: Report) => void

export function observeEch (index: number, ech: any, echDht: any, send: Send): void {
  ech.addEventListener('ech:outcome', (evt: any) => {
    const d = evt.detail
    send({ ev: 'handshake', index, t: Date.now(), dir: d.direction, remote: d.remotePeer?.toString(), outcome: d.outcome, reason: d.reason, ms: d.durationMs, configId: d.configId })
  })
  ech.addEventListener('ech:error', (evt: any) => {
    const d = evt.detail
    send({ ev: 'handshake', index, t: Date.now(), dir: d.direction, remote: d.remotePeer?.toString(), outcome: 'failed', reason: d.reason, error: d.error, ms: d.durationMs })
  })
  ech.addEventListener('ech:threat', (evt: any) => {
    const d = evt.detail
    send({ ev: 'threat', index, t: Date.now(), kind: d.kind, severity: d.severity, remotePeer: d.remotePeer?.toString(), remoteAddr: d.remoteAddr?.toString() })
  })
  echDht.addEventListener('ech:dht-lookup', (evt: any) => {
    const d = evt.detail
    send({ ev: 'lookup', index, t: Date.now(), remote: d.remotePeer.toString(), result: d.result, ms: d.waitedMs })
  })
  echDht.addEventListener('ech:dht-query', (evt: any) => {
    const d = evt.detail
    send({ ev: 'query', index, t: Date.now(), remote: d.remotePeer.toString(), result: d.result, ms: d.durationMs })
  })
  echDht.addEventListener('ech:dht-published', (evt: any) => {
    const d = evt.detail
    send({ ev: 'published', index, t: Date.now(), stored: d.stored, errors: d.errors, skipped: d.skipped })
  })
}

/** Wrap a stock Noise encrypter's entry points to report each handshake (libp2p 3 and 2 alike) */
export function observeStock (index: number, encrypter: any, send: Send): void {
  for (const dir of ['inbound', 'outbound'] as const) {
    const method = dir === 'inbound' ? 'secureInbound' : 'secureOutbound'
    const original = encrypter[method].bind(encrypter)
    encrypter[method] = async (...args: any[]) => {
      const started = Date.now()
      try {
        const secured = await original(...args)
        send({ ev: 'handshake', index, t: Date.now(), dir, remote: secured.remotePeer.toString(), outcome: 'stock', ms: Date.now() - started })
        return secured
      } catch (err: any) {
        const remote = args.find((a: any) => a?.remotePeer != null)?.remotePeer?.toString()
        send({ ev: 'handshake', index, t: Date.now(), dir, remote, outcome: 'failed', error: err?.name ?? 'Error', ms: Date.now() - started })
        throw err
      }
    }
  }
}
