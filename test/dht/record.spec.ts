/**
 * The DHT key and the kad-dht validator and selector of ECH config records:
 * who may publish under a key, expiry, size, and which record wins.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import {
  ECH_DHT_NAMESPACE, MAX_DHT_RECORD_SIZE, createSignedConfigRecord, echDhtKey, echDhtSelectors, echDhtValidators, generateEchKey,
  peerIdFromEchDhtKey, selectEchDhtRecord, validateEchDhtRecord
} from '../../src/index.js'
import { rejection, thrown } from '../fixtures/errors.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const HOUR = 60 * 60 * 1000

describe('dht: config record key, validator and selector', () => {
  let key: PrivateKey
  let peer: PeerId
  let configList: Uint8Array

  before(async () => {
    key = await generateKeyPair('Ed25519')
    peer = peerIdFromPrivateKey(key)
    configList = (await generateEchKey()).configList
  })

  it('keys are /noise-ech/ and the peer id multihash, and decode back to the peer', () => {
    const dhtKey = echDhtKey(peer)
    expect(dhtKey.subarray(0, 11)).to.equalBytes(uint8ArrayFromString('/noise-ech/'))
    expect(dhtKey.subarray(11)).to.equalBytes(peer.toMultihash().bytes)
    expect(peerIdFromEchDhtKey(dhtKey).equals(peer)).to.equal(true)
  })

  it('refuses keys of other namespaces or without a peer id (EchDhtKeyError)', () => {
    for (const bad of ['/pk/abc', '/noise-ech/', '/noise-echo/x', '/noise-ech/not-a-multihash']) {
      expect(thrown(() => peerIdFromEchDhtKey(uint8ArrayFromString(bad))), bad).to.have.property('name', 'EchDhtKeyError')
    }
  })

  it('refuses a key whose suffix decodes to a CID-style peer id string (one peer, one key, byte for byte)', async () => {
    // peerIdFromString also parses `bafz…` CIDs; base58btc cannot spell the letter l, so pick a peer whose CID has none
    let cid = peer.toCID().toString()
    while (cid.includes('l')) { cid = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toCID().toString() }
    const key = uint8ArrayFromString(`/${ECH_DHT_NAMESPACE}/${uint8ArrayToString(uint8ArrayFromString(cid, 'base58btc'), 'latin1')}`, 'latin1')
    expect(thrown(() => peerIdFromEchDhtKey(key))).to.have.property('name', 'EchDhtKeyError')
  })

  it('validates a record signed by the peer the key names', async () => {
    const record = await createSignedConfigRecord(key, configList)
    const opened = await validateEchDhtRecord(echDhtKey(peer), record)
    expect(opened.configList).to.equalBytes(configList)
    // kad-dht calls it through the namespace table
    await echDhtValidators[ECH_DHT_NAMESPACE](echDhtKey(peer), record)
  })

  it('refuses a record published under another peer\'s key (EchRecordSignerError)', async () => {
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const record = await createSignedConfigRecord(key, configList)
    expect(await rejection(validateEchDhtRecord(echDhtKey(other), record))).to.have.property('name', 'EchRecordSignerError')
  })

  it('refuses an expired record and one issued too far in the future', async () => {
    const old = await createSignedConfigRecord(key, configList, { now: Date.now() - 30 * HOUR })
    expect(await rejection(validateEchDhtRecord(echDhtKey(peer), old))).to.have.property('name', 'EchRecordExpiredError')
    const future = await createSignedConfigRecord(key, configList, { now: Date.now() + HOUR })
    expect(await rejection(validateEchDhtRecord(echDhtKey(peer), future))).to.have.property('name', 'EchRecordNotYetValidError')
  })

  it('refuses garbage and oversized values before any signature check', async () => {
    expect(await rejection(validateEchDhtRecord(echDhtKey(peer), Uint8Array.of(1, 2, 3)))).to.have.property('name', 'EchRecordInvalidError')
    const big = new Uint8Array(MAX_DHT_RECORD_SIZE + 1)
    expect(await rejection(validateEchDhtRecord(echDhtKey(peer), big))).to.have.property('name', 'EchDhtRecordTooLargeError')
  })

  it('selects the newest record; ties go to the later expiry, then the larger bytes, whatever the order', async () => {
    const now = Date.now()
    const older = await createSignedConfigRecord(key, configList, { now: now - 2 * HOUR })
    const newer = await createSignedConfigRecord(key, configList, { now: now - HOUR })
    const longer = await createSignedConfigRecord(key, configList, { now: now - HOUR, ttlSeconds: 48 * 3600 })
    expect(await selectEchDhtRecord(echDhtKey(peer), [older, newer])).to.equal(1)
    expect(await selectEchDhtRecord(echDhtKey(peer), [newer, older])).to.equal(0)
    expect(await echDhtSelectors[ECH_DHT_NAMESPACE](echDhtKey(peer), [newer, longer, older])).to.equal(1)
    // same issue time and expiry, different signatures (Ed25519 is deterministic: different lists)
    const otherList = (await generateEchKey()).configList
    const a = await createSignedConfigRecord(key, configList, { now: now - HOUR })
    const b = await createSignedConfigRecord(key, otherList, { now: now - HOUR })
    const winner = await selectEchDhtRecord(echDhtKey(peer), [a, b])
    expect(await selectEchDhtRecord(echDhtKey(peer), [b, a])).to.equal(1 - winner)
  })

  it('a record that does not validate never wins over one that does', async () => {
    const good = await createSignedConfigRecord(key, configList, { now: Date.now() - 2 * HOUR })
    const forged = await createSignedConfigRecord(await generateKeyPair('Ed25519'), configList)
    expect(await selectEchDhtRecord(echDhtKey(peer), [forged, good])).to.equal(1)
  })
})
