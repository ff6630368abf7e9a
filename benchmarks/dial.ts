/**
 * libp2p dial→open over TCP on 127.0.0.1: two real libp2p 3 nodes per
 * variant (TCP, yamux, ping; no identify, so nothing else runs on the
 * connection), the time from `dial(addr)` until it resolves with an open
 * connection: TCP connect, multistream-select of the encrypter, the
 * handshake, multistream-select of the muxer. The connection is closed
 * between dials, outside the timed span. Variants take turns in batches, the
 * order rotating each round, as in `measure.ts`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { ECH_PEER_STORE_KEY, echNoise, generateEchKey } from '../src/index.js'
import { ONE_SOURCE } from './variants.js'
import type { Samples } from './measure.js'
import type { VariantName } from './variants.js'
import type { EchNoise } from '../src/index.js'
import type { ConnectionEncrypter, Libp2p } from '@libp2p/interface'

interface DialVariant {
  name: VariantName
  dialer: Libp2p
  listener: Libp2p
  dialerEch?: EchNoise
  expect?: string
}

async function node (encrypter: 'stock' | 'ech', kem?: string): Promise<{ node: Libp2p, ech?: EchNoise }> {
  let ech: EchNoise | undefined
  const keys = kem == null ? undefined : [await generateEchKey({ kem })]
  const make = (components: any): ConnectionEncrypter => encrypter === 'stock' ? noise()(components) : (ech = echNoise({ ...ONE_SOURCE, keys })(components))
  const created = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [make],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping() },
    connectionManager: { inboundConnectionThreshold: 1e9, maxIncomingPendingConnections: 1000 }
  })
  return { node: created, ech }
}

const SETUPS: Partial<Record<VariantName, { encrypter: 'stock' | 'ech', config: boolean, kem?: string, expect?: string }>> = {
  stock: { encrypter: 'stock', config: false },
  'ech-no-config': { encrypter: 'ech', config: false, expect: 'fallback' },
  'ech-accepted': { encrypter: 'ech', config: true, expect: 'accepted' },
  'ech-xwing': { encrypter: 'ech', config: true, kem: 'x-wing', expect: 'accepted' }
}

async function variant (name: VariantName): Promise<DialVariant | undefined> {
  const setup = SETUPS[name]
  if (setup == null) { return undefined }
  const listener = await node(setup.encrypter, setup.kem)
  const dialer = await node(setup.encrypter)
  if (setup.config && listener.ech != null) {
    await dialer.node.peerStore.merge(listener.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: listener.ech.getEchConfigList() } })
  }
  return { name, dialer: dialer.node, listener: listener.node, dialerEch: dialer.ech, expect: setup.expect }
}

/** One dial→open in ms; the connection is closed (untimed) before it returns */
async function once (v: DialVariant): Promise<number> {
  const addr = v.listener.getMultiaddrs()[0]
  const start = performance.now()
  const conn = await v.dialer.dial(addr)
  const ms = performance.now() - start
  const outcome = v.dialerEch?.getConnectionInfo(conn)?.outcome
  if (v.expect != null && outcome !== v.expect) { throw new Error(`${v.name}: expected ECH ${v.expect}, got ${outcome}`) }
  await conn.close()
  return ms
}

/** Dial→open ms per variant (those of `names` this part knows) */
export async function dialOpen (names: VariantName[], opts: { dials: number, warmup: number, batch: number }): Promise<Samples> {
  const variants = (await Promise.all(names.map(variant))).filter((v): v is DialVariant => v != null)
  const out: Samples = new Map(variants.map(v => [v.name, []]))
  const batch = async (v: DialVariant, keep: boolean): Promise<void> => {
    for (let i = 0; i < opts.batch; i++) {
      const ms = await once(v)
      if (keep) { out.get(v.name)?.push(ms) }
    }
  }
  try {
    const rounds = Math.ceil(opts.dials / opts.batch)
    for (let round = -Math.ceil(opts.warmup / opts.batch); round < rounds; round++) {
      const turn = ((round % variants.length) + variants.length) % variants.length
      for (let k = 0; k < variants.length; k++) {
        await batch(variants[(k + turn) % variants.length], round >= 0)
      }
    }
  } finally {
    for (const v of variants) {
      await v.dialer.stop()
      await v.listener.stop()
    }
  }
  return out
}
