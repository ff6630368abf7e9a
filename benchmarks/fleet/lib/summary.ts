/**
 * The fleet's targets (benchmarks/README.md "Fleet") and the printed table.
 * A target without data (nothing measured) is missed, not met.
 */
/* eslint-disable no-console */

export interface Target { name: string, value: number | boolean | undefined, target: string, ok: boolean }

export function targets (s: Record<string, any>): { ok: boolean, targets: Target[] } {
  const list: Target[] = [
    { name: 'echSuccessRate', value: s.echSuccessRate, target: '>= 0.99', ok: s.echSuccessRate != null && s.echSuccessRate >= 0.99 },
    { name: 'firstContactEchRate', value: s.firstContactEchRate, target: '>= 0.90', ok: s.firstContactEchRate != null && s.firstContactEchRate >= 0.9 },
    { name: 'fallbackRate', value: s.fallbackRate, target: '<= 0.01', ok: s.fallbackRate != null && s.fallbackRate <= 0.01 },
    { name: 'bytesLost', value: s.bytesLost, target: '= 0', ok: s.bytesLost === 0 && s.transfers?.byStatus?.ok > 0 },
    { name: 'threatsWithoutCause', value: s.threatsWithoutCause, target: '= 0', ok: s.threatsWithoutCause === 0 },
    { name: 'memoryBounded', value: s.memory?.bounded, target: 'true', ok: s.memory?.bounded === true }
  ]
  return { ok: list.every(t => t.ok), targets: list }
}

const pct = (v: number | undefined): string => v == null ? 'n/a' : `${(100 * v).toFixed(2)} %`
const ms = (v: number | undefined): string => v == null ? 'n/a' : `${v.toFixed(0)} ms`

export function printSummary (s: Record<string, any>, chart?: string): void {
  const p = s.echPairs.outsideFaults
  const f = s.firstContact.outsideFaultsOncePublished
  console.log(`\nfleet: ${s.nodes} nodes (${s.roster.ech} echNoise of which ${s.roster.xwing} X-Wing and ${s.roster.require} require, ${s.roster.stock} stock, ${s.roster.v2} libp2p 2), ${s.seconds} s, ${s.roster.workers} workers, ${s.runtimeSeconds.toFixed(0)} s wall`)
  console.log(`ECH success (ECH-capable pairs, outside injected faults): ${pct(s.echSuccessRate)} of ${p.attempts} (accepted ${p.accepted}, fallback ${p.fallback}, rejected ${p.rejected}, failed ${p.failed})`)
  console.log(`  first contact, record published: ${pct(s.firstContactEchRate)} of ${f.attempts}; later connections: ${pct(rate(p.accepted - f.accepted, p.attempts - f.attempts))}`)
  console.log(`  including injected faults: ${pct(s.echPairs.successRateIncludingFaults)}; under latency only: ${s.echPairs.latencyOnly.accepted}/${s.echPairs.latencyOnly.attempts}`)
  console.log(`fallback rate outside faults: ${pct(s.fallbackRate)} ${JSON.stringify(s.echPairs.fallbackReasons.outsideFaults)}; in faults: ${JSON.stringify(s.echPairs.fallbackReasons.inInjectedFaults)}`)
  console.log(`failures outside faults: ${JSON.stringify(s.echPairs.failures.outsideFaults)}; in faults: ${JSON.stringify(s.echPairs.failures.inInjectedFaults)}`)
  console.log(`causes: ${JSON.stringify(s.echPairs.causes)}`)
  const o = s.echPairs.overload
  console.log(`  outside faults, while an end's event loop was >= ${o.thresholdMs} ms late: ECH ${o.ech.failed} failed of ${o.ech.attempts} ${JSON.stringify(o.ech.failures)}; stock libp2p 3 ${o.stockLibp2p3.failed} failed of ${o.stockLibp2p3.attempts}`)
  console.log('handshake latency (outbound, outside faults):')
  for (const [path, l] of Object.entries<any>(s.handshakeLatencyMs)) {
    console.log(`  ${path.padEnd(48)} n=${String(l.n).padStart(5)}  p50 ${ms(l.p50).padStart(7)}  p99 ${ms(l.p99).padStart(7)}`)
  }
  const d = s.dhtLookups
  console.log(`DHT lookups on the dial path (bound ${d.bound} ms): ${JSON.stringify(d.byResult)}; waited p50 ${ms(d.waitedMs.p50)}, p99 ${ms(d.waitedMs.p99)}, max ${ms(d.waitedMs.max)}; found p50 ${ms(d.waitedMsFound.p50)}`)
  console.log(`  DHT queries: ${d.queries.n} (${d.queries.perSecond}/s) ${JSON.stringify(d.queries.byResult)}; ran p50 ${ms(d.queries.durationMs.p50)}, p99 ${ms(d.queries.durationMs.p99)}`)
  // reported, not asserted: the delay monitor sees one timer's delay, not a backlog of callbacks queued behind it
  console.log(`  past the bound: ${d.pastBound.n} (by at most ${ms(d.pastBound.maxExcessMs)}), of which ${d.pastBound.beyondLoopDelay} by more than their process's event-loop delay`)
  console.log(`transfers: ${s.transfers.total} ${JSON.stringify(s.transfers.byStatus)}; outside faults ${JSON.stringify(s.transfers.outsideFaults.byStatus)}; bytes lost ${s.bytesLost}`)
  console.log(`threats: ${JSON.stringify(s.threats.byKind)}; with cause ${s.threats.withCause.length}, without ${s.threats.withoutCause.length}`)
  for (const [kind, m] of Object.entries<any>(s.memory.byKind)) {
    console.log(`  ${kind.padEnd(6)} heap/node mean ${m.heapPerNodeMB.mean.toFixed(1)} MB max ${m.heapPerNodeMB.max.toFixed(1)} MB; cpu/node mean ${m.cpuPerNodePercent.mean.toFixed(1)} %; loop delay p99 ${ms(m.loopDelayMs.p99)} max ${ms(m.loopDelayMs.max)}; max conns ${m.maxConnectionsPerNode}; bounded ${String(m.bounded)}`)
  }
  console.log(`proxy: ${JSON.stringify(s.proxyEvents)}`)
  for (const t of s.targets) {
    console.log(`${t.ok ? 'ok  ' : 'MISS'} ${t.name} = ${String(t.value)} (target ${t.target})`)
  }
  if (chart != null) { console.log(`chart: ${chart}`) }
}

function rate (n: number, d: number): number | undefined {
  return d === 0 ? undefined : n / d
}
