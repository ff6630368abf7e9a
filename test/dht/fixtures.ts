/**
 * The DHT tests' nodes: test nodes (`test/fixtures/nodes.ts`) with a kad-dht
 * server (loopback addresses kept, `/ech` stripped from answers) and, on ECH
 * nodes, the `echDhtConfigs` service; and waiting for what it reports.
 */
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { pEvent } from 'p-event'
import { echDhtConfigs, echDhtSelectors, echDhtValidators, removeEchAddressesMapper } from '../../src/index.js'
import { createTestNode } from '../fixtures/nodes.js'
import type { EchDhtConfigs, EchDhtConfigsEvents, EchDhtConfigsInit, EchDhtPublishedDetail, EchNoiseInit } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { SingleKadDHT } from '@libp2p/kad-dht'

export interface DhtNode extends TestNode {
  dht: SingleKadDHT
  /** The service, on ECH nodes made with it */
  echDht?: EchDhtConfigs
  /** Every publication the service reported, from its start */
  publications: EchDhtPublishedDetail[]
  /** Resolves once kad-dht has run its first self-query (the service looks nothing up before) */
  selfQueried: Promise<void>
}

export interface DhtNodeOptions {
  encrypter?: 'ech' | 'stock'
  ech?: EchNoiseInit
  /** Service options, or `false` for no service (default: a service on ECH nodes) */
  echDht?: EchDhtConfigsInit | false
  /** Give kad-dht the ECH record validator and selector (default: on ECH nodes) */
  validators?: boolean
  /** A DHT client: it queries and puts, and answers no one (default: a server) */
  clientMode?: boolean
}

export async function createDhtNode (options: DhtNodeOptions = {}): Promise<DhtNode> {
  const encrypter = options.encrypter ?? 'ech'
  const withValidators = options.validators ?? encrypter === 'ech'
  const serviceInit = options.echDht ?? (encrypter === 'ech' ? {} : false)
  const services: Record<string, (components: any) => unknown> = {
    dht: kadDHT({
      clientMode: options.clientMode ?? false,
      // loopback addresses are the only ones here; keep them, drop /ech
      peerInfoMapper: removeEchAddressesMapper(passthroughMapper),
      ...(withValidators ? { validators: echDhtValidators, selectors: echDhtSelectors } : {})
    })
  }
  const publications: EchDhtPublishedDetail[] = []
  if (serviceInit !== false) {
    services.echDht = (components) => {
      // a short first retry: the routing table fills within a second here
      const service = echDhtConfigs({ retryInterval: 100, ...serviceInit })(components)
      service.addEventListener('ech:dht-published', (evt) => { publications.push(evt.detail) })
      return service
    }
  }
  const node = await createTestNode({ encrypter, ech: options.ech, services })
  const all = node.node.services as Record<string, unknown>
  // the routing table stays empty until the node dials someone: its first self-query is still to come
  const selfQueried = pEvent(node.node as unknown as EventTarget, 'kad-dht:query:self').then(() => {})
  selfQueried.catch(() => {})
  return { ...node, dht: all.dht as SingleKadDHT, echDht: all.echDht as EchDhtConfigs | undefined, publications, selfQueried }
}

/** Resolves with the first publication (since the service started) that matches `filter` */
export async function published (node: DhtNode, filter: (detail: EchDhtPublishedDetail) => boolean = d => d.stored > 0): Promise<EchDhtPublishedDetail> {
  const seen = node.publications.find(filter)
  return seen ?? nextDhtEvent(node.echDht!, 'ech:dht-published', filter)
}

type Detail<K extends keyof EchDhtConfigsEvents> = EchDhtConfigsEvents[K]['detail']

/** The next event of this kind from the service matching `filter`; rejects after `timeout` ms (generous: CI machines are loaded) */
export async function nextDhtEvent<K extends keyof EchDhtConfigsEvents> (service: EchDhtConfigs, type: K, filter: (detail: Detail<K>) => boolean = () => true, timeout = 45_000): Promise<Detail<K>> {
  const event = await pEvent(service as unknown as EventTarget, type, {
    signal: AbortSignal.timeout(timeout),
    filter: (e: any) => filter(e.detail)
  }) as CustomEvent<Detail<K>>
  return event.detail
}

/** Connect `node` to each of `others`; wait until its DHT routing table holds at least as many peers and its first self-query has run */
export async function joinDht (node: DhtNode, ...others: DhtNode[]): Promise<void> {
  for (const other of others) {
    await node.node.dial(other.node.getMultiaddrs()[0])
  }
  const deadline = Date.now() + 45_000
  while (node.dht.routingTable.size < others.length) {
    if (Date.now() > deadline) { throw new Error('peers did not reach the routing table') }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  await node.selfQueried
}
