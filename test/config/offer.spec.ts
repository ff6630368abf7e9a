/**
 * An offer is made only from a config whose public key an encapsulation can
 * use: `createEchOffer` validates the key with its KEM (hpke/kem.ts
 * `validatePublicKey`) and refuses an invalid one with
 * `EchConfigUnusableError`, so `selectOffer` skips it and the peer-store
 * lookup reports `unusable-config` instead of every dial failing at
 * `HpkeEncapError`.
 */
import fs from 'node:fs'
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'aegir/chai'
import { encodeEchConfigList, parseEchConfigList, parseEchPem } from '../../src/config/index.js'
import { createEchOffer, selectOffer } from '../../src/config/offer.js'
import { ECH_PEER_STORE_KEY, PeerConfigStore } from '../../src/config/peer-store.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { thrown } from '../fixtures/errors.js'
import { memoryPeerStore, randomPeerId } from '../fixtures/peer-store.js'
import { listVectors, readVector, vectorPath } from '../fixtures/vectors.js'
import { SMALL_ORDER_POINTS } from '../fixtures/x25519.js'
import type { EchConfig } from '../../src/config/types.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

/** Small-order X25519 points (RFC 7748 §6.1), canonical and one with bit 255 set */
const SMALL_ORDER = [...SMALL_ORDER_POINTS, 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880']

function withKey (config: EchConfig, publicKey: Uint8Array): EchConfig {
  return parseEchConfigList(encodeEchConfigList([{ ...config, publicKey }])).usable[0]
}

function unusable (config: EchConfig): string {
  return thrown(() => createEchOffer(nodeProvider, config)).name
}

/** Every usable config of the vector corpus, by file */
function corpus (): Array<[string, readonly EchConfig[]]> {
  return listVectors('ech').flatMap((file): Array<[string, readonly EchConfig[]]> => {
    try {
      if (file.endsWith('.bin')) { return [[file, parseEchConfigList(readVector('ech', file)).usable]] }
      if (file.endsWith('.pem')) { return [[file, parseEchPem(fs.readFileSync(vectorPath('ech', file), 'utf8')).parsed.usable]] }
    } catch {
      // malformed vectors are config/vectors.spec.ts's business
    }
    return []
  })
}

describe('createEchOffer: keys no encapsulation can use make a config unusable', () => {
  it('openssl-bin-zero.bin (an all-zero X25519 key): EchConfigUnusableError, and selectOffer skips it', () => {
    const list = readVector('ech', 'openssl-bin-zero.bin')
    const [config] = parseEchConfigList(list).usable
    expect(config.publicKey.every(b => b === 0)).to.equal(true)
    expect(unusable(config)).to.equal('EchConfigUnusableError')
    expect(selectOffer(nodeProvider, list)).to.equal(undefined)
  })

  it('every other usable config in the vector corpus still makes an offer', () => {
    let offers = 0
    for (const [file, configs] of corpus()) {
      for (const config of configs) {
        if (file === 'openssl-bin-zero.bin') { continue }
        expect(createEchOffer(nodeProvider, config).config, file).to.equal(config)
        offers++
      }
    }
    expect(offers).to.be.greaterThan(50)
  })

  describe('X25519', () => {
    const n = {} as { good: EchConfig }
    before(async () => { n.good = (await generateEchKey()).config })

    for (const point of SMALL_ORDER) {
      it(`the small-order key ${point.slice(0, 8)}…${point.slice(-2)} is EchConfigUnusableError`, () => {
        expect(unusable(withKey(n.good, hex(point)))).to.equal('EchConfigUnusableError')
      })
    }

    it('selectOffer passes over an invalid key for the next usable config', () => {
      const bad = withKey(n.good, new Uint8Array(32))
      const list = encodeEchConfigList([{ ...bad, configId: 1 }, n.good])
      expect(selectOffer(nodeProvider, list)?.config.configId).to.equal(n.good.configId)
    })
  })

  describe('X-Wing', () => {
    const n = {} as { good: EchConfig }
    before(async () => { n.good = (await generateEchKey({ kem: 'x-wing' })).config })

    it('a generated key makes an offer', () => {
      expect(createEchOffer(nodeProvider, n.good).config).to.equal(n.good)
    })

    it('a pk_M coefficient of q = 3329 (FIPS 203 §7.2 modulus check) is EchConfigUnusableError', () => {
      const pk = Uint8Array.from(n.good.publicKey)
      // coefficient 0 is pk[0] | (pk[1] & 0x0f) << 8
      pk[0] = 0x01
      pk[1] = (pk[1] & 0xf0) | 0x0d
      expect(unusable(withKey(n.good, pk))).to.equal('EchConfigUnusableError')
    })

    for (const point of [SMALL_ORDER[0], SMALL_ORDER[3]]) {
      it(`a small-order pk_X (${point.slice(0, 8)}…) is EchConfigUnusableError`, () => {
        const pk = Uint8Array.from(n.good.publicKey)
        pk.set(hex(point), 1184)
        expect(unusable(withKey(n.good, pk))).to.equal('EchConfigUnusableError')
      })
    }
  })

  it('the peer-store lookup of a peer whose only config has an invalid key reports unusable-config', async () => {
    const peerStore = await memoryPeerStore()
    const peer = await randomPeerId()
    await peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: readVector('ech', 'openssl-bin-zero.bin') } })
    const configs = new PeerConfigStore({ peerStore, provider: nodeProvider, log: defaultLogger().forComponent('test:offer') })
    expect(await configs.lookup(peer)).to.deep.equal({ reason: 'unusable-config' })
  })
})
