/**
 * The DHT config records service against a scripted kad-dht and a real
 * peer store, without a network: what a failed start leaves behind, and
 * the dialer's KEMs deciding whether a found record is usable.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { findConfigs } from '../../src/config/finders.js'
import { createSignedConfigRecord, echDhtConfigs, echDhtSelectors, echDhtValidators, generateEchKey } from '../../src/index.js'
import { rejection } from '../fixtures/errors.js'
import { memoryPeerStore, randomPeerId } from '../fixtures/peer-store.js'
import type { EchDhtConfigsInit, EchDhtLookupResult, EchDhtQueryEvent } from '../../src/index.js'
import type { PeerStore } from '@libp2p/interface'

const log = defaultLogger().forComponent('test:dht-service-start')

/** A service over `peerStore` whose kad-dht answers every get with `answer()` */
async function service (peerStore: PeerStore, init: EchDhtConfigsInit, answer: () => EchDhtQueryEvent[] = () => []): Promise<{ gets: number[], start(): Promise<void>, stop(): Promise<void>, results: EchDhtLookupResult[] }> {
  const gets: number[] = []
  const dht = {
    get: async function * () { gets.push(1); yield * answer() },
    put: async function * () {},
    validators: echDhtValidators,
    selectors: echDhtSelectors
  }
  const components = {
    peerId: await randomPeerId(),
    peerStore,
    logger: defaultLogger(),
    // a stock node: no echNoise() to publish for
    upgrader: { getConnectionEncrypters: () => new Map() } as any,
    dht
  }
  const s = echDhtConfigs(init)(components)
  const results: EchDhtLookupResult[] = []
  s.addEventListener('ech:dht-lookup', (evt) => { results.push(evt.detail.result) })
  return { gets, results, start: async () => s.start(), stop: async () => s.stop() }
}

describe('dht: the service without a network', () => {
  it('a start that fails (publishing without echNoise) leaves no lookup registered', async () => {
    const peerStore = await memoryPeerStore()
    const s = await service(peerStore, {})
    expect(await rejection(s.start())).to.have.property('name', 'EchDhtNotConfiguredError')
    expect(await findConfigs(peerStore, await randomPeerId(), log)).to.equal(false)
    await s.stop()
  })

  it('a record only for KEMs this dialer does not use (kems) is a miss: the next dial starts no query', async () => {
    const peerStore = await memoryPeerStore()
    const remoteKey = await generateKeyPair('Ed25519')
    const remote = peerIdFromPrivateKey(remoteKey)
    const xwing = await createSignedConfigRecord(remoteKey, (await generateEchKey({ kem: 'x-wing' })).configList)
    const s = await service(peerStore, { publish: false, kems: ['x25519'] }, () => [{ name: 'PEER_RESPONSE', messageName: 'GET_VALUE', record: { value: xwing } }])
    await s.start()
    try {
      await findConfigs(peerStore, remote, log)
      await findConfigs(peerStore, remote, log)
      expect(s.gets).to.have.length(1)
      expect(s.results).to.deep.equal(['unusable', 'cached-miss'])
    } finally {
      await s.stop()
    }
  })
})
