/**
 * `importSignedConfigRecord` (records fetched any other way) against a real
 * peer store, the service's start-up checks and option validation.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import {
  echConfigExchange, importSignedConfigRecord, EchConfigExchangeOptionsError, EchConfigExchangeUnavailableError,
  EchConfigFetchTimeoutError, EchConfigResponseInvalidError, EchConfigResponseTooLargeError, EchEncrypterNotFoundError
} from '../../src/exchange/index.js'
import { ECH_PEER_STORE_KEY, createSignedConfigRecord, echNoise, generateEchKey } from '../../src/index.js'
import { storeAnnouncedEchConfig, withEchComponent } from '../../src/multiaddr/index.js'
import { rejection } from '../fixtures/errors.js'
import { memoryPeerStore } from '../fixtures/peer-store.js'
import { createExchangeNode } from './fixtures.js'
import type { PeerId, PeerStore, PrivateKey } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

describe('exchange: importSignedConfigRecord', () => {
  let peerStore: PeerStore
  let remoteKey: PrivateKey
  let remote: PeerId
  let configList: Uint8Array

  beforeEach(async () => {
    peerStore = await memoryPeerStore()
    remoteKey = await generateKeyPair('Ed25519')
    remote = peerIdFromPrivateKey(remoteKey)
    configList = (await generateEchKey()).configList
  })

  async function stored (): Promise<Uint8Array | undefined> {
    try {
      return (await peerStore.get(remote)).metadata.get(ECH_PEER_STORE_KEY)
    } catch {
      return undefined
    }
  }

  it('verifies and stores a record, keeping the peer\'s other metadata', async () => {
    await peerStore.merge(remote, { metadata: { other: Uint8Array.of(7) } })
    const record = await createSignedConfigRecord(remoteKey, configList)
    const result = await importSignedConfigRecord(peerStore, remote, record)
    expect(result).to.include({ stored: true })
    expect(result.expiresAt - result.issuedAt).to.equal(24 * HOUR)
    expect(await stored()).to.equalBytes(record)
    expect((await peerStore.get(remote)).metadata.get('other')).to.equalBytes(Uint8Array.of(7))
  })

  it('refuses a record signed by another peer (EchRecordSignerError); nothing stored', async () => {
    const record = await createSignedConfigRecord(await generateKeyPair('Ed25519'), configList)
    expect(await rejection(importSignedConfigRecord(peerStore, remote, record))).to.have.property('name', 'EchRecordSignerError')
    expect(await stored()).to.be.undefined()
  })

  it('refuses garbage (EchRecordInvalidError) and expired records (EchRecordExpiredError)', async () => {
    expect(await rejection(importSignedConfigRecord(peerStore, remote, Uint8Array.of(1, 2, 3)))).to.have.property('name', 'EchRecordInvalidError')
    const expired = await createSignedConfigRecord(remoteKey, configList, { now: Date.now() - 2 * HOUR, ttlSeconds: 3600 })
    expect(await rejection(importSignedConfigRecord(peerStore, remote, expired))).to.have.property('name', 'EchRecordExpiredError')
    const old = await createSignedConfigRecord(remoteKey, configList, { now: Date.now() - 2 * HOUR })
    expect(await rejection(importSignedConfigRecord(peerStore, remote, old, { maxAge: HOUR }))).to.have.property('name', 'EchRecordExpiredError')
    expect(await stored()).to.be.undefined()
  })

  it('leaves an app-given config list in place', async () => {
    await peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: configList } })
    const record = await createSignedConfigRecord(remoteKey, configList)
    expect(await importSignedConfigRecord(peerStore, remote, record)).to.include({ stored: false, reason: 'config-list' })
    expect(await stored()).to.equalBytes(configList)
  })

  it('refuses a record older than the valid stored one (EchRecordRollbackError), keeping the newer', async () => {
    const newer = await createSignedConfigRecord(remoteKey, configList)
    const older = await createSignedConfigRecord(remoteKey, configList, { now: Date.now() - HOUR })
    await importSignedConfigRecord(peerStore, remote, newer)
    expect(await rejection(importSignedConfigRecord(peerStore, remote, older))).to.have.property('name', 'EchRecordRollbackError')
    expect(await stored()).to.equalBytes(newer)
    // the other way round replaces
    await peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: older } })
    expect(await importSignedConfigRecord(peerStore, remote, newer)).to.include({ stored: true })
    expect(await stored()).to.equalBytes(newer)
  })

  it('the same record again is a no-op (same-record); another of the same second replaces it', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000
    const first = await createSignedConfigRecord(remoteKey, configList, { now })
    const rotated = await createSignedConfigRecord(remoteKey, (await generateEchKey()).configList, { now: now + 500 })
    await importSignedConfigRecord(peerStore, remote, first)
    expect(await importSignedConfigRecord(peerStore, remote, first)).to.include({ stored: false, reason: 'same-record' })
    expect(await stored()).to.equalBytes(first)
    expect(await importSignedConfigRecord(peerStore, remote, rotated)).to.include({ stored: true })
    expect(await stored()).to.equalBytes(rotated)
  })

  it('refuses a record issued in the future (EchRecordNotYetValidError), which then cannot block the current one', async () => {
    const future = await createSignedConfigRecord(remoteKey, configList, { now: Date.now() + 24 * HOUR })
    expect(await rejection(importSignedConfigRecord(peerStore, remote, future))).to.have.property('name', 'EchRecordNotYetValidError')
    expect(await stored()).to.be.undefined()
    const current = await createSignedConfigRecord(remoteKey, configList)
    await importSignedConfigRecord(peerStore, remote, current)
    expect(await stored()).to.equalBytes(current)
  })

  it('replaces a list the peer announced (identify /ech), not one the application gave', async () => {
    const announced = (await generateEchKey()).configList
    expect(await storeAnnouncedEchConfig(peerStore, remote, [withEchComponent(multiaddr('/ip4/192.0.2.1/tcp/4001'), announced)])).to.equal('stored')
    const record = await createSignedConfigRecord(remoteKey, configList)
    const result = await importSignedConfigRecord(peerStore, remote, record)
    expect(await stored()).to.equalBytes(record)
    expect(result).to.include({ stored: true })
  })

  it('replaces an expired or unusable stored value', async () => {
    await peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: Uint8Array.of(9, 9, 9) } })
    const record = await createSignedConfigRecord(remoteKey, configList)
    expect(await importSignedConfigRecord(peerStore, remote, record)).to.include({ stored: true })
    expect(await stored()).to.equalBytes(record)
  })

  it('rejects maxAge over 48 h', async () => {
    const record = await createSignedConfigRecord(remoteKey, configList)
    expect(await rejection(importSignedConfigRecord(peerStore, remote, record, { maxAge: 49 * HOUR }))).to.have.property('name', 'EchConfigExchangeOptionsError')
  })
})

describe('exchange: service start-up', function () {
  this.timeout(10_000)

  it('fails to start without echNoise() as the /noise encrypter (EchEncrypterNotFoundError)', async () => {
    const err = await rejection(createExchangeNode({ encrypter: 'stock' }))
    expect(err).to.have.property('name', 'EchEncrypterNotFoundError')
    expect(err.message).to.include('echNoise()')
  })

  it('declares its dependency on identify', async () => {
    const err = await rejection(createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [echNoise()],
      streamMuxers: [yamux()],
      services: { echConfigs: echConfigExchange() }
    }))
    expect(err).to.have.property('name', 'UnmetServiceDependenciesError')
    expect(err.message).to.include('@libp2p/identify')
  })

  it('a stock noise() registered after echNoise() does not satisfy it either', async () => {
    // only the encrypter libp2p uses for /noise counts: the upgrader keeps the last one per protocol id
    const err = await rejection(createLibp2p({
      transports: [tcp()],
      connectionEncrypters: [echNoise(), noise()],
      streamMuxers: [yamux()],
      services: { echConfigs: echConfigExchange(), identify: identify() }
    }))
    expect(err).to.have.property('name', 'EchEncrypterNotFoundError')
  })

  it('validates its options (EchConfigExchangeOptionsError)', async () => {
    for (const init of [{ maxAge: 49 * HOUR }, { maxAge: 0 }, { refreshMargin: 48 * HOUR }, { timeout: 0 }, { maxRecordSize: -1 }, { maxConcurrentFetches: 1.5 }]) {
      const err = await rejection(createExchangeNode({ exchange: init }))
      expect(err, JSON.stringify(init)).to.have.property('name', 'EchConfigExchangeOptionsError')
    }
  })

  it('has typed errors with a static name', () => {
    for (const E of [EchConfigExchangeOptionsError, EchConfigExchangeUnavailableError, EchConfigFetchTimeoutError, EchConfigResponseInvalidError, EchConfigResponseTooLargeError, EchEncrypterNotFoundError]) {
      expect(new E().name).to.equal(E.name)
      expect(new E()).to.be.an.instanceOf(Error)
    }
  })
})
