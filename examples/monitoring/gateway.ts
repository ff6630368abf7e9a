/* eslint-disable no-console */
/**
 * One ECH node with Prometheus metrics and the HTTP gateway on
 * 127.0.0.1:8787, for trying the monitoring setup in this folder.
 *
 * Run it with tokens of 16+ characters from [A-Za-z0-9-._~+/], e.g.
 * `ECH_GATEWAY_READ_TOKENS=$(openssl rand -hex 24) npx tsx examples/monitoring/gateway.ts`
 * (README.md in this folder has the whole walk-through).
 */
import '../../src/polyfill.js'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { createEchGateway } from '../../src/gateway/index.js'
import { echNoise } from '../../src/index.js'
import type { EchNoise } from '../../src/index.js'

let encrypter: EchNoise | undefined
const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [(components: any) => {
    encrypter = echNoise()(components)
    return encrypter
  }],
  streamMuxers: [yamux()],
  datastore: new MemoryDatastore(),
  services: { ping: ping(), identify: identify() },
  // the gateway's /metrics reads prom-client's global registry, which this uses too
  metrics: prometheusMetrics()
})
if (encrypter == null) { throw new Error('echNoise was not created') }

// tokens come from ECH_GATEWAY_READ_TOKENS / ECH_GATEWAY_ADMIN_TOKENS
const gateway = createEchGateway({ libp2p: node, encrypter, port: Number(process.env.PORT ?? 8787) })
await gateway.start()

console.log('peer id     ', node.peerId.toString())
console.log('listening on', node.getMultiaddrs().map(String).join(', '))
console.log('well-known  ', `${gateway.url}/.well-known/libp2p-noise-ech`)
console.log('dashboard   ', `${gateway.url}/ech/dashboard`)
console.log('metrics     ', `${gateway.url}/metrics (read token)`)

const shutdown = (): void => {
  void gateway.stop().then(async () => node.stop()).then(() => process.exit(0))
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
