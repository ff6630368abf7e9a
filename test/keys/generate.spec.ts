import { expect } from 'aegir/chai'
import { parseEchConfigList } from '../../src/config/codec.js'
import { nobleProvider } from '../../src/crypto/noble.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { AEAD_ID, KDF_ID, KEM_ID } from '../../src/hpke/kem.js'
import { DEFAULT_PUBLIC_NAME, echKeyFromSecret, generateEchKey, randomConfigId } from '../../src/keys/generate.js'
import { rejection } from '../fixtures/errors.js'
import type { CryptoProvider } from '../../src/crypto/provider.js'

describe('keys/generate', () => {
  it('makes an X25519 key with the documented defaults', async () => {
    const before = Date.now()
    const key = await generateEchKey()
    expect(key.config.kemId).to.equal(KEM_ID.DHKEM_X25519_HKDF_SHA256)
    expect(key.config.publicName).to.equal(DEFAULT_PUBLIC_NAME)
    expect(key.config.maximumNameLength).to.equal(0)
    expect(key.config.extensions).to.deep.equal([])
    expect(key.config.cipherSuites).to.deep.equal([
      { kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.AES_128_GCM },
      { kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.CHACHA20_POLY1305 }
    ])
    expect(key.config.publicKey).to.equalBytes(key.privateKey.publicKey)
    expect(key.createdAt).to.be.within(before, Date.now())
    expect(Object.isFrozen(key)).to.be.true()
  })

  it('configList parses to exactly this config', async () => {
    const key = await generateEchKey({ publicName: 'relay.example.org', maximumNameLength: 42 })
    const parsed = parseEchConfigList(key.configList)
    expect(parsed.entries).to.have.lengthOf(1)
    expect(parsed.usable).to.have.lengthOf(1)
    expect(parsed.usable[0].raw).to.equalBytes(key.config.raw)
    expect(parsed.usable[0].publicName).to.equal('relay.example.org')
    expect(parsed.usable[0].maximumNameLength).to.equal(42)
    expect(parsed.usable[0].configId).to.equal(key.config.configId)
  })

  it('honours a fixed config id, suites and the noble provider', async () => {
    const key = await generateEchKey({
      configId: 200,
      cipherSuites: [{ kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.CHACHA20_POLY1305 }],
      provider: nobleProvider,
      createdAt: 1234
    })
    expect(key.config.configId).to.equal(200)
    expect(key.config.cipherSuites).to.have.lengthOf(1)
    expect(key.createdAt).to.equal(1234)
  })

  it('draws config ids that avoid the ones in use', async () => {
    const avoid = new Set<number>()
    for (let i = 0; i < 256; i++) { avoid.add(i) }
    avoid.delete(77)
    for (let i = 0; i < 5; i++) {
      const key = await generateEchKey({ avoidConfigIds: avoid })
      expect(key.config.configId).to.equal(77)
      key.privateKey.destroy()
    }
  })

  it('draws config ids that are random', async () => {
    const ids = new Set<number>()
    for (let i = 0; i < 40; i++) {
      ids.add(randomConfigId(nodeProvider))
    }
    // 40 draws from 256 values: fewer than 20 distinct would be astronomically unlikely
    expect(ids.size).to.be.greaterThan(20)
  })

  it('draws uniformly by rejecting biased bytes', () => {
    // 255 free ids: byte 255 lies past the last whole multiple and must be redrawn
    const bytes = [255, 255, 3]
    const provider = { ...nodeProvider, randomBytes: () => Uint8Array.of(bytes.shift() ?? 0) } satisfies CryptoProvider
    expect(randomConfigId(provider, [0])).to.equal(4)
  })

  for (const provider of [nodeProvider, nobleProvider]) {
    it(`makes an X-Wing key whose config is usable (${provider.name} provider)`, async () => {
      const key = await generateEchKey({ kem: 'x-wing', configId: 7, provider })
      expect(key.config.kemId).to.equal(KEM_ID.X_WING)
      expect(key.privateKey.kemId).to.equal(KEM_ID.X_WING)
      expect(key.config.publicKey).to.have.lengthOf(1216)
      expect(key.config.publicKey).to.equalBytes(key.privateKey.publicKey)
      const parsed = parseEchConfigList(key.configList)
      expect(parsed.entries).to.have.lengthOf(1)
      expect(parsed.entries[0].usable).to.equal(true, JSON.stringify(parsed.entries[0].skipReason))
      expect(parsed.usable[0].kemId).to.equal(0x647a)
      expect(parsed.usable[0].publicKey).to.equalBytes(key.privateKey.publicKey)
      // the 32-byte seed is the serialized private key and rebuilds the key
      const secret = key.privateKey.exportSecret()
      expect(secret).to.have.lengthOf(32)
      expect(echKeyFromSecret(key.config, secret, 1, provider).privateKey.publicKey).to.equalBytes(key.config.publicKey)
    })
  }

  it('gives distinct keys distinct key material', async () => {
    const a = await generateEchKey()
    const b = await generateEchKey()
    expect(a.config.publicKey).to.not.equalBytes(b.config.publicKey)
  })

  it('fails when every config id is taken', async () => {
    const all = Array.from({ length: 256 }, (_, i) => i)
    const err = await rejection(generateEchKey({ avoidConfigIds: all }))
    expect(err.name).to.equal('EchConfigIdExhaustedError')
  })

  it('refuses bad options', async () => {
    const cases: Array<[Parameters<typeof generateEchKey>[0], string]> = [
      [{ configId: 256 }, 'EchKeyOptionsError'],
      [{ configId: -1 }, 'EchKeyOptionsError'],
      [{ configId: 1.5 }, 'EchKeyOptionsError'],
      [{ configId: 5, avoidConfigIds: [5] }, 'EchKeyOptionsError'],
      [{ maximumNameLength: 300 }, 'EchKeyOptionsError'],
      [{ kem: 'p-521' }, 'EchUnsupportedKemError'],
      [{ publicName: '192.168.0.1' }, 'EchConfigError'],
      [{ publicName: '' }, 'EchConfigError'],
      [{ cipherSuites: [] }, 'EchConfigError']
    ]
    for (const [options, name] of cases) {
      const err = await rejection(generateEchKey(options))
      expect(err.name).to.equal(name, JSON.stringify(options))
    }
  })
})
