/**
 * The in-process measurements of `handshake.ts`, each interleaving the
 * variants so a burst of outside load falls on all of them: sequential
 * handshakes, handshakes at a concurrency level, bulk transfer, and heap
 * per secured connection.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { pEvent } from 'p-event'
import { pair } from './setup.js'
import { check, dispose, handshake } from './variants.js'
import type { Peers, Secured, Variant, VariantName } from './variants.js'
import type { MessageStream, PeerId, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

export type Samples = Map<VariantName, number[]>

function samplesFor (variants: Variant[]): Samples {
  return new Map(variants.map(v => [v.name, []]))
}

/** Variants in an order that rotates with `round` */
function rotated (variants: Variant[], round: number): Variant[] {
  const turn = ((round % variants.length) + variants.length) % variants.length
  return variants.map((_, k) => variants[(k + turn) % variants.length])
}

/** Sequential handshakes in round-robin batches; wall and CPU ms per handshake */
export async function sequential (variants: Variant[], peers: Peers, opts: { handshakes: number, warmup: number, batch: number, capacity: number }): Promise<{ ms: Samples, cpuMs: Samples }> {
  const ms = samplesFor(variants)
  const cpuMs = samplesFor(variants)
  const rounds = Math.ceil(opts.handshakes / opts.batch)
  for (let round = -Math.ceil(opts.warmup / opts.batch); round < rounds; round++) {
    for (const variant of rotated(variants, round)) {
      const n = round < 0 ? opts.batch : Math.min(opts.batch, opts.handshakes - round * opts.batch)
      for (let i = 0; i < n; i++) {
        const result = await handshake(variant, peers, opts.capacity)
        if (round >= 0) {
          ms.get(variant.name)?.push(result.ms)
          cpuMs.get(variant.name)?.push(result.cpuMs)
        }
        if (i === n - 1) { check(variant, result.a, result.b) }
        await dispose(result.a, result.b)
      }
    }
  }
  return { ms, cpuMs }
}

/** `n` handshakes with at most `level` in flight; handshakes per second */
async function burst (variant: Variant, peers: Peers, n: number, level: number, capacity: number): Promise<number> {
  let started = 0
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++
      const result = await handshake(variant, peers, capacity)
      result.a.abort(new Error('benchmark done'))
      result.b.abort(new Error('benchmark done'))
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: Math.min(level, n) }, worker))
  const seconds = (performance.now() - start) / 1000
  await new Promise(resolve => setImmediate(resolve))
  return n / seconds
}

/** Handshakes per second at each concurrency level, one sample per variant per round */
export async function concurrent (variants: Variant[], peers: Peers, opts: { levels: number[], rounds: number, perRound: number, capacity: number }): Promise<Map<number, Samples>> {
  const out = new Map<number, Samples>()
  for (const level of opts.levels) {
    const rates = samplesFor(variants)
    // one unmeasured round warms each variant up at this level
    for (let round = -1; round < opts.rounds; round++) {
      for (const variant of rotated(variants, round)) {
        const rate = await burst(variant, peers, Math.max(opts.perRound, level), level, opts.capacity)
        if (round >= 0) { rates.get(variant.name)?.push(rate) }
      }
    }
    out.set(level, rates)
  }
  return out
}

/** Send `total` bytes from `sender` to `receiver`; wall and CPU ms until all arrived */
export async function transfer (sender: MessageStream, receiver: MessageStream, data: Uint8Array, total: number, verify = false): Promise<{ ms: number, cpuMs: number }> {
  let received = 0
  const copy = verify ? new Uint8Array(total) : undefined
  let onMessage: (evt: StreamMessageEvent) => void = () => {}
  let onClose: (evt: StreamCloseEvent) => void = () => {}
  const arrived = new Promise<void>((resolve, reject) => {
    onMessage = (evt) => {
      if (copy != null) {
        for (const chunk of (evt.data instanceof Uint8Array ? [evt.data] : evt.data)) {
          copy.set(chunk, received)
          received += chunk.byteLength
        }
      } else {
        received += evt.data.byteLength
      }
      if (received >= total) { resolve() }
    }
    onClose = (evt) => { reject(evt.error ?? new Error('receiver closed early')) }
  })
  arrived.catch(() => {})
  receiver.addEventListener('message', onMessage)
  receiver.addEventListener('close', onClose)
  const cpu = process.cpuUsage()
  const start = performance.now()
  try {
    for (let sent = 0; sent < total; sent += data.byteLength) {
      // wait for the 'drain' event itself: in @libp2p/utils 7.4.1 `onDrain()`
      // resolves at once after the first drain, so it stops applying backpressure
      if (!sender.send(sent + data.byteLength <= total ? data : data.subarray(0, total - sent))) {
        await pEvent(sender, 'drain', { rejectionEvents: ['close'] })
      }
    }
    await arrived
  } finally {
    receiver.removeEventListener('message', onMessage)
    receiver.removeEventListener('close', onClose)
  }
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  if (received !== total) { throw new Error(`received ${received} bytes, sent ${total}`) }
  if (copy != null) {
    for (let sent = 0; sent < total; sent += data.byteLength) {
      const part = copy.subarray(sent, Math.min(sent + data.byteLength, total))
      if (Buffer.compare(part, data.subarray(0, part.byteLength)) !== 0) { throw new Error(`bulk data corrupted at offset ${sent}`) }
    }
  }
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}

/** MiB/s and MiB per CPU-second, one sample per variant per repetition */
export async function bulk (variants: Variant[], peers: Peers, opts: { total: number, segment: number, data: Uint8Array, reps: number, capacity: number }): Promise<{ rates: Samples, cpuRates: Samples }> {
  const rates = samplesFor(variants)
  const cpuRates = samplesFor(variants)
  for (let rep = -1; rep < opts.reps; rep++) {
    // one fresh connection per variant; they take turns sending a segment each
    const conns: Array<Secured & { variant: Variant, sendMs: number, sendCpuMs: number }> = []
    for (const variant of variants) {
      conns.push({ variant, ...await handshake(variant, peers, opts.capacity), sendMs: 0, sendCpuMs: 0 })
    }
    // the warm-up round moves a quarter of the data
    const bytes = rep < 0 ? Math.max(opts.data.byteLength, opts.total >> 2) : opts.total
    for (let sent = 0, turn = 0; sent < bytes; sent += opts.segment, turn++) {
      const size = Math.min(opts.segment, bytes - sent)
      for (let k = 0; k < conns.length; k++) {
        const conn = conns[(k + turn + Math.max(rep, 0)) % conns.length]
        const t = await transfer(conn.outbound.connection, conn.inbound.connection, opts.data, size)
        conn.sendMs += t.ms
        conn.sendCpuMs += t.cpuMs
      }
    }
    for (const conn of conns) {
      if (rep >= 0) {
        rates.get(conn.variant.name)?.push((bytes / 1048576) / (conn.sendMs / 1000))
        cpuRates.get(conn.variant.name)?.push((bytes / 1048576) / (conn.sendCpuMs / 1000))
      }
      await dispose(conn.a, conn.b)
    }
  }
  return { rates, cpuRates }
}

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

async function settledHeap (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise(resolve => setTimeout(resolve, 10))
    gc()
  }
  return process.memoryUsage().heapUsed
}

/**
 * Heap held per open connection, both ends, with the in-memory pair's own
 * share (the same number of unsecured pairs) taken off; KiB, one sample per
 * variant per round
 */
export async function heap (variants: Variant[], peers: Peers, opts: { connections: number, rounds: number }): Promise<Samples> {
  const out = samplesFor(variants)
  const held = async (open: () => Promise<{ streams: MessageStream[], peers?: PeerId[] }>): Promise<number> => {
    const before = await settledHeap()
    const streams: MessageStream[] = []
    const ids: PeerId[] = []
    for (let i = 0; i < opts.connections; i++) {
      const conn = await open()
      streams.push(...conn.streams)
      ids.push(...conn.peers ?? [])
    }
    const after = await settledHeap()
    await dispose(...streams)
    return (after - before) / opts.connections / 1024
  }
  for (let round = -1; round < opts.rounds; round++) {
    const raw = await held(async () => ({ streams: pair() }))
    for (const variant of rotated(variants, round)) {
      const kib = await held(async () => {
        const s = await handshake(variant, peers, 5)
        // what a libp2p Connection keeps of each end: the secured stream, the raw one, the remote peer id
        return { streams: [s.outbound.connection, s.inbound.connection, s.a, s.b], peers: [s.outbound.remotePeer, s.inbound.remotePeer] }
      })
      if (round >= 0) { out.get(variant.name)?.push(kib - raw) }
    }
  }
  return out
}
