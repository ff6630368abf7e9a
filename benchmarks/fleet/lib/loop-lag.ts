/**
 * The worker's event-loop delay between two stats reports: every timer in
 * the process (a lookup's bound, a handshake's deadline) fires this late, so
 * a wait measured past its bound is set against it (`analyze.ts`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()

/** Max and p99 delay since the last call, ms; the histogram starts over */
export function takeLoopLag (): { lagMaxMs: number, lagP99Ms: number } {
  const out = { lagMaxMs: histogram.max / 1e6, lagP99Ms: histogram.percentile(99) / 1e6 }
  histogram.reset()
  return out
}
