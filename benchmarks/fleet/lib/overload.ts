/**
 * Handshakes that ran while the machine could not keep up: either end's
 * worker had an event-loop delay of at least `OVERLOAD_MS` in a stats
 * interval the handshake overlapped (`loop-lag.ts`). Every deadline in a
 * handshake (the responder's 2 s for message 1, libp2p's dial timeout) runs
 * on those event loops. This is a diagnosis, not an excuse: such handshakes
 * stay in the success rate; the stock libp2p 3 handshakes of the same run
 * under the same condition are the comparison.
 */
import type { EchRecord, RunData } from './analyze.js'

/** Half the responder's deadline for message 1 */
export const OVERLOAD_MS = 1000

/** Node → the worker process it runs in (from the stats reports) */
function workersOf (data: RunData): Map<number, number> {
  const out = new Map<number, number>()
  for (const s of data.stats) {
    for (const n of s.nodes) { if (s.worker != null) { out.set(n.index, s.worker) } }
  }
  return out
}

export function overloadOf (data: RunData): (t: number, ms: number, ...nodes: number[]) => boolean {
  const workerOf = workersOf(data)
  const interval = data.stats[0]?.intervalMs ?? 2000
  return (t, ms, ...nodes) => nodes.some(node => data.stats.some(s =>
    s.worker === workerOf.get(node) && (s.lagMaxMs ?? 0) >= OVERLOAD_MS && s.t >= t - ms && s.t - interval <= t))
}

export function overload (data: RunData, clean: EchRecord[]): Record<string, unknown> {
  const loaded = overloadOf(data)
  const ech = clean.filter(r => loaded(r.t, r.ms, r.dialer, r.listener))
  const failures: Record<string, number> = {}
  for (const r of ech.filter(r => r.outcome === 'failed')) { failures[r.error ?? 'failed'] = (failures[r.error ?? 'failed'] ?? 0) + 1 }
  const stock = data.handshakes.filter(h => {
    const l = h.remote == null ? undefined : data.peerIndex.get(h.remote)
    return h.dir === 'outbound' && h.t >= data.t0 && data.nodes[h.index].kind === 'stock' && l != null && loaded(h.t, h.ms, h.index, l)
  })
  return {
    thresholdMs: OVERLOAD_MS,
    ech: { attempts: ech.length, failed: ech.length - ech.filter(r => r.outcome !== 'failed').length, failures },
    stockLibp2p3: { attempts: stock.length, failed: stock.filter(h => h.outcome === 'failed').length }
  }
}
