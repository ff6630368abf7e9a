/**
 * Row 6: what each js Noise encrypter declares to js-libp2p (its
 * `Symbol.toStringTag` and `serviceCapabilities`), and whether a node whose
 * only encrypter is `echNoise()` starts with a service that depends on
 * `@libp2p/noise` (js-libp2p refuses to start when a declared dependency has
 * no provider).
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { echNoise } from '../../src/index.js'
import type { Harness } from './results.js'

const VERSION = 'libp2p 3 + @libp2p/noise 17.0.3, @chainsafe/libp2p-noise 17.0.0'

export async function capabilityRows (h: Harness): Promise<void> {
  const n = await h.jsNode({ encrypter: 'libp2p-noise' })
  const c = await h.jsNode({ encrypter: 'chainsafe-noise' })
  const e = await h.jsNode({ encrypter: 'ech' })
  try {
    const declared = (x: any): { toStringTag: string, serviceCapabilities: string[], protocol: string } =>
      ({ toStringTag: x[Symbol.toStringTag], serviceCapabilities: x[serviceCapabilities] ?? [], protocol: x.protocol })
    const detail = {
      '@libp2p/noise': declared(n.encrypter),
      '@chainsafe/libp2p-noise': declared(c.encrypter),
      'libp2p-noise-ech': declared(e.encrypter)
    }
    const ours = new Set(detail['libp2p-noise-ech'].serviceCapabilities)
    const missing = [...detail['@libp2p/noise'].serviceCapabilities, ...detail['@chainsafe/libp2p-noise'].serviceCapabilities].filter(x => !ours.has(x))
    h.record({
      implementation: 'libp2p-noise-ech',
      version: VERSION,
      row: '6-capabilities',
      direction: '-',
      outcome: detail['libp2p-noise-ech'].serviceCapabilities.join(','),
      ok: missing.length === 0 && detail['libp2p-noise-ech'].protocol === '/noise',
      ms: null,
      detail: { ...detail, missingFromEchNoise: missing }
    })
  } finally { await Promise.all([h.stopJs(n), h.stopJs(c), h.stopJs(e)]) }

  const started = await startWithDependent('@libp2p/noise')
  h.record({
    implementation: 'libp2p-noise-ech',
    version: VERSION,
    row: '6b-service-needs-@libp2p/noise',
    direction: '-',
    outcome: started.status,
    ok: started.status === 'started',
    ms: null,
    detail: started
  })
}

/** A node whose only encrypter is echNoise(), with a service that declares a dependency on `capability` */
async function startWithDependent (capability: string): Promise<{ status: string, error?: string }> {
  const dependent = (): object => ({ [Symbol.toStringTag]: `needs ${capability}`, [serviceDependencies]: [capability] })
  try {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [echNoise()],
      streamMuxers: [yamux()],
      services: { dependent }
    })
    const status = node.status
    await node.stop()
    return { status }
  } catch (err: any) {
    return { status: 'failed', error: `${err?.name}: ${err?.message}` }
  }
}
