/**
 * The DHT lookup on the dial path, from the dialers' `ech:dht-lookup`
 * reports: what each dial saw, how long it waited, and every wait past the
 * bound set against its worker's event-loop delay at that time (a timer,
 * the bound's included, fires that much late: `loop-lag.ts`). A wait past
 * the bound by more than its process's loop delay would be a broken bound.
 */
import { percentile } from './percentile.js'
import type { RunData } from './analyze.js'

/** monitorEventLoopDelay's resolution, ms: a delay is known to within this */
const LAG_RESOLUTION = 10

export function lookupCost (data: RunData): Record<string, unknown> {
  const lookups = data.lookups.filter(l => l.t >= data.t0)
  const waited = (result?: string): { n: number, p50?: number, p99?: number, max: number } => {
    const ms = lookups.filter(l => result == null || l.result === result).map(l => l.ms)
    return { n: ms.length, p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: Math.max(0, ...ms) }
  }
  const past = lookups.filter(l => l.ms > data.lookupTimeout)
  const unexplained = past.filter(l => {
    // the stats reports whose intervals the wait overlapped: those made during it, and the next
    const worker = data.stats.filter(s => s.worker === l.worker)
    const next = worker.find(s => s.t >= l.t)
    const lags = [...worker.filter(s => s.t >= l.t - l.ms && s.t < l.t), ...(next == null ? [] : [next])].map(s => s.lagMaxMs ?? 0)
    return lags.length === 0 || l.ms - data.lookupTimeout > Math.max(...lags) + LAG_RESOLUTION
  })
  const byResult: Record<string, number> = {}
  for (const l of lookups) { byResult[l.result] = (byResult[l.result] ?? 0) + 1 }
  const queries = data.queries.filter(q => q.t >= data.t0)
  const queriesByResult: Record<string, number> = {}
  for (const q of queries) { queriesByResult[q.result] = (queriesByResult[q.result] ?? 0) + 1 }
  const seconds = Math.max(1, (data.tEnd - data.t0) / 1000)
  return {
    bound: data.lookupTimeout,
    byResult,
    queries: {
      n: queries.length,
      perSecond: Math.round(queries.length / seconds * 100) / 100,
      byResult: queriesByResult,
      durationMs: { p50: percentile(queries.map(q => q.ms), 0.5), p99: percentile(queries.map(q => q.ms), 0.99) }
    },
    waitedMs: waited(),
    waitedMsFound: waited('found'),
    waitedMsGaveUp: waited('gave-up'),
    pastBound: {
      n: past.length,
      maxExcessMs: Math.max(0, ...past.map(l => l.ms - data.lookupTimeout)),
      beyondLoopDelay: unexplained.length
    }
  }
}
