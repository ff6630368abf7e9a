/**
 * What every fleet node does while it runs, whatever its stack: find peers
 * through DHT walks, and send checksummed transfers to random ones among
 * them, sometimes closing the connection afterwards so that later contacts
 * open new connections. The stack-specific parts come in as functions.
 */
import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { randomLength } from './transfer.js'
import type { WorkerSettings } from './ipc.js'
import type { TransferSeen } from './transfer.js'

export interface LoopNode<P> {
  /** Every peer a FINAL_PEER event of a walk for `key` names */
  walk(key: Uint8Array, signal: AbortSignal): AsyncIterable<P>
  send(peer: P, length: number, signal: AbortSignal): Promise<TransferSeen>
  /** Close this node's connections to `peer` that carry no stream */
  closeIdle(peer: P): Promise<void>
  idOf(peer: P): string
  report(seen: TransferSeen, remote: string, started: number): void
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const onAbort = (): void => { clearTimeout(timer); resolve() }
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Run the discovery and traffic loops until `signal` aborts */
export function runLoops<P> (node: LoopNode<P>, settings: WorkerSettings, traffic: () => boolean, signal: AbortSignal): void {
  // each walk and transfer ties a signal of its own to this one
  setMaxListeners(Infinity, signal)
  const known = new Map<string, P>()
  void (async () => {
    // the first walk at once: the node knows only its bootstrap peers
    for (let first = true; !signal.aborted; first = false) {
      if (!first) { await sleep(settings.discoverIntervalMs * (0.5 + Math.random()), signal) }
      try {
        for await (const peer of node.walk(randomBytes(32), AbortSignal.any([signal, AbortSignal.timeout(15_000)]))) {
          known.set(node.idOf(peer), peer)
        }
      } catch {
        // a walk cut short by the network (or the stop) finds what it found
      }
    }
  })()
  void (async () => {
    while (!signal.aborted) {
      await sleep(settings.trafficIntervalMs * (0.5 + Math.random()), signal)
      const peers = [...known.values()]
      if (signal.aborted || !traffic() || peers.length === 0) { continue }
      const peer = peers[Math.floor(Math.random() * peers.length)]
      const started = Date.now()
      const seen = await node.send(peer, randomLength(), AbortSignal.any([signal, AbortSignal.timeout(30_000)]))
      if (signal.aborted) { return }
      node.report(seen, node.idOf(peer), started)
      if (Math.random() < settings.closeProbability) {
        await node.closeIdle(peer).catch(() => {})
      }
    }
  })()
}
