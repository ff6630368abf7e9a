/**
 * Where a handshake waits: the timeline of one handshake over the in-memory
 * pair, per variant, as the median time (ms from calling both sides) of
 * every send and every `message` event on each end, and the macrotasks
 * (`setTimeout`, `setImmediate`) scheduled while it runs. Time that shows in
 * no function's CPU profile self time is waiting if it shows here as a gap
 * or an extra macrotask; it is work if the gaps only stretch.
 *
 * Run: `npx tsx benchmarks/timeline.ts [--handshakes 300] [--variants stock,ech-no-config]`.
 * Timings are reported, never asserted.
 */
import '../src/polyfill.js'
import { parseArgs } from 'node:util'
import { fmt, identity, out, pair, table } from './setup.js'
import { dispose, makeVariants } from './variants.js'
import type { Peers, Variant, VariantName } from './variants.js'
import type { MessageStream } from '@libp2p/interface'

const { values } = parseArgs({
  options: {
    handshakes: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    variants: { type: 'string', default: 'stock,ech-no-config' }
  }
})
const HANDSHAKES = Number(values.handshakes)
const WARMUP = Number(values.warmup)

type Step = [name: string, ms: number]

/** Timestamp every send and every `message` event on `end`, named `a` (initiator) or `b` (responder) */
function watch (name: string, end: MessageStream, steps: Step[], t0: number): void {
  const stream = end as MessageStream & { send(data: unknown): boolean }
  const send = stream.send.bind(stream)
  stream.send = (data) => { steps.push([`${name} sends`, performance.now() - t0]); return send(data as Uint8Array) }
  const dispatch = stream.dispatchEvent.bind(stream)
  stream.dispatchEvent = (evt) => {
    if (evt.type === 'message') { steps.push([`${name} message event`, performance.now() - t0]) }
    return dispatch(evt)
  }
}

/** Count the macrotasks scheduled while `run` runs */
async function countMacrotasks<T> (run: () => Promise<T>): Promise<[T, number]> {
  const { setTimeout: timeout, setImmediate: immediate } = globalThis
  let count = 0
  globalThis.setTimeout = ((...args: Parameters<typeof timeout>) => { count++; return timeout(...args) }) as typeof timeout
  globalThis.setImmediate = ((...args: Parameters<typeof immediate>) => { count++; return immediate(...args) }) as typeof immediate
  try {
    return [await run(), count]
  } finally {
    globalThis.setTimeout = timeout
    globalThis.setImmediate = immediate
  }
}

async function one (variant: Variant, peers: Peers): Promise<{ steps: Step[], macrotasks: number }> {
  const [a, b] = pair(5)
  const steps: Step[] = []
  const signal = AbortSignal.timeout(30_000)
  const t0 = performance.now()
  watch('a', a, steps, t0)
  watch('b', b, steps, t0)
  const [, macrotasks] = await countMacrotasks(async () => Promise.all([
    variant.initiator.secureOutbound(a, { remotePeer: peers.B.peerId, signal }).then(() => { steps.push(['a secured', performance.now() - t0]) }),
    variant.responder.secureInbound(b, { signal }).then(() => { steps.push(['b secured', performance.now() - t0]) })
  ]))
  await dispose(a, b)
  return { steps, macrotasks }
}

const median = (xs: number[]): number => xs.slice().sort((x, y) => x - y)[xs.length >> 1]

const peers: Peers = { A: await identity(), B: await identity() }
const variants = await makeVariants(peers, new Set(values.variants.split(',') as VariantName[]))
const runs = new Map<string, Array<{ steps: Step[], macrotasks: number }>>(variants.map(v => [v.name, []]))
for (let i = -WARMUP; i < HANDSHAKES; i++) {
  for (const variant of variants) {
    const run = await one(variant, peers)
    if (i >= 0) { runs.get(variant.name)?.push(run) }
  }
}
for (const variant of variants) {
  const all = runs.get(variant.name) ?? []
  const order = all[0].steps.map(s => s[0]).join()
  // handshakes whose steps came in another order (rare) are left out of the medians
  const same = all.filter(r => r.steps.map(s => s[0]).join() === order)
  out(`\n### ${variant.label}: ${same.length} of ${all.length} handshakes in this order; macrotasks scheduled per handshake: median ${median(all.map(r => r.macrotasks))}\n`)
  let previous = 0
  table(['step', 'median ms', 'gap ms'], ['---', '---:', '---:'], all[0].steps.map(([name], j) => {
    const at = median(same.map(r => r.steps[j][1]))
    const row = [name, fmt(at), fmt(at - previous)]
    previous = at
    return row
  }))
}
process.exit(0)
