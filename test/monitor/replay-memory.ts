/**
 * Memory cost of the replay tracker per remembered `enc`: 65,536 outer
 * hellos with distinct `enc` through `EchMonitor.outerHelloAccepted`,
 * measured before and after with `process.memoryUsage()` after a full GC:
 * `heapUsed`, plus `arrayBuffers` (typed-array storage lives outside the JS
 * heap, so `heapUsed` alone would undercount it). A measurement, not a test
 * (the numbers vary by V8 version and flags). Run it with
 * `node --expose-gc --import tsx test/monitor/replay-memory.ts`.
 */
import { EchMonitor } from '../../src/monitor/index.js'
import { encOf, recordingLogger } from './helpers.js'

const ENTRIES = 65_536
const RUNS = 3

function collect (): { heap: number, buffers: number } {
  const gc = (globalThis as { gc?(): void }).gc
  if (gc == null) {
    throw new Error('run with node --expose-gc')
  }
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heap: heapUsed, buffers: arrayBuffers }
}

interface PerEntry { heap: number, buffers: number }

function measure (): PerEntry {
  const encs = Array.from({ length: ENTRIES }, (_, i) => encOf(i))
  const monitor = new EchMonitor({ logger: recordingLogger().logger }, { maxReplayEntries: ENTRIES, now: () => 0 })
  const before = collect()
  for (const enc of encs) {
    monitor.outerHelloAccepted({ enc })
  }
  const after = collect()
  // the inputs stay reachable until after the measurement, or their collection would offset it
  if (encs.length !== ENTRIES || monitor.getTrackerSizes().replay !== ENTRIES) {
    throw new Error(`expected ${ENTRIES} entries, have ${monitor.getTrackerSizes().replay}`)
  }
  return { heap: (after.heap - before.heap) / ENTRIES, buffers: (after.buffers - before.buffers) / ENTRIES }
}

for (let run = 0; run < RUNS; run++) {
  const { heap, buffers } = measure()
  const total = heap + buffers
  process.stdout.write(`replay tracker: ${total.toFixed(1)} bytes/entry (heapUsed ${heap.toFixed(1)} + arrayBuffers ${buffers.toFixed(1)}) over ${ENTRIES} entries, ${(total * ENTRIES / 2 ** 20).toFixed(1)} MiB at the cap\n`)
}
