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

/**
 * `signal`, or a timeout after `ms`. Not `AbortSignal.any([signal,
 * AbortSignal.timeout(ms)])`: garbage collection may take a timeout signal
 * only the composite references before it fires (src/dht/deadline.ts says
 * more; not imported from there: stock and libp2p 2 workers load nothing of
 * this package)
 */
async function within<T> (ms: number, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new DOMException('timed out', 'TimeoutError')) }, ms)
  try {
    return await work(AbortSignal.any([signal, controller.signal]))
  } finally {
    clearTimeout(timer)
  }
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
        await within(15_000, signal, async (walkSignal) => {
          for await (const peer of node.walk(randomBytes(32), walkSignal)) {
            known.set(node.idOf(peer), peer)
          }
        })
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
      const seen = await within(30_000, signal, async (sendSignal) => node.send(peer, randomLength(), sendSignal))
      if (signal.aborted) { return }
      node.report(seen, node.idOf(peer), started)
      if (Math.random() < settings.closeProbability) {
        await node.closeIdle(peer).catch(() => {})
      }
    }
  })()
}
