/**
 * Node listeners for the browser suite: libp2p 3 over `@libp2p/websockets`
 * on 127.0.0.1, with ping and the echo protocol of `test/fixtures/nodes.ts`,
 * secured by `echNoise()` or stock `noise()`, recording every ECH outcome
 * and encrypter failure so each test checks both ends.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { ping } from '@libp2p/ping'
import { echo } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { echNoise } from '../../src/index.js'
import { ECHO_PROTOCOL } from '../fixtures/nodes.js'
import type { EchConnectionInfo, EchNoise, EchNoiseInit } from '../../src/index.js'
import type { ConnectionEncrypter, Libp2p } from '@libp2p/interface'

export interface WsListener {
  node: Libp2p
  ech?: EchNoise
  /** The listen address with `/p2p/<id>` */
  addr: string
  /** Every `ech:outcome` of the listener's encrypter */
  outcomes: EchConnectionInfo[]
  /** `err.name` of every inbound handshake the encrypter threw out of */
  failures: string[]
  stop(): Promise<void>
}

export async function createWsListener (options: { encrypter: 'ech' | 'stock', ech?: EchNoiseInit }): Promise<WsListener> {
  let ech: EchNoise | undefined
  const failures: string[] = []
  const outcomes: EchConnectionInfo[] = []
  const encrypter = (components: any): ConnectionEncrypter => {
    const created: any = options.encrypter === 'ech' ? (ech = echNoise({ ...options.ech, policy: { env: {} } })(components)) : noise()(components)
    const secureInbound = created.secureInbound.bind(created)
    created.secureInbound = async (...args: any[]) => {
      try {
        return await secureInbound(...args)
      } catch (err: any) {
        failures.push(err?.name)
        throw err
      }
    }
    return created
  }
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [encrypter],
    streamMuxers: [yamux()],
    datastore: new MemoryDatastore(),
    services: { ping: ping() }
  })
  await node.handle(ECHO_PROTOCOL, (stream) => { void echo(stream).catch(() => {}) })
  ;(ech as unknown as EventTarget | undefined)?.addEventListener('ech:outcome', (e) => { outcomes.push((e as CustomEvent<EchConnectionInfo>).detail) })
  return { node, ech, addr: node.getMultiaddrs()[0].toString(), outcomes, failures, stop: async () => node.stop() }
}
