/**
 * X-Wing is loaded on first use (hpke/registry.ts). Once loaded it stays
 * loaded for the process, so the state before the load is checked in a
 * fresh Node process: metadata, config parsing, public-key checks and
 * offers work; key operations throw HpkeKemNotLoadedError; the async entry
 * points (generateEchKey, loadEchKeyFromPem, loadStoredEchKeyRecord, the
 * peer-store offer) load it themselves.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect } from 'aegir/chai'
import { getKem, importKem, loadKem } from '../../src/hpke/registry.js'

const run = promisify(execFile)

/** Runs `body` (TypeScript, top-level await) in a fresh Node process from the package root; its stdout parsed as JSON */
async function fresh (body: string): Promise<any> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', body], { cwd: process.cwd(), timeout: 60_000 })
  return JSON.parse(stdout)
}

describe('hpke: X-Wing loaded on first use', function () {
  this.timeout(60_000)

  it('before loadKem: metadata, public-key checks and imports work; key operations throw HpkeKemNotLoadedError', async () => {
    const got = await fresh(`
      import { getKem, isKemLoaded } from './src/hpke/registry.ts'
      import { xwing } from './src/hpke/kems/x-wing.ts'
      import { nodeProvider } from './src/crypto/node.ts'
      const key = xwing.generateKeyPair(nodeProvider)
      const standIn = getKem(0x647a)
      const name = (fn) => { try { fn(); return 'none' } catch (err) { return err.name } }
      standIn.validatePublicKey(nodeProvider, key.publicKey)
      const pub = standIn.importPublicKey(nodeProvider, key.publicKey)
      console.log(JSON.stringify({
        loaded: isKemLoaded(0x647a),
        sameAsImpl: standIn === xwing,
        info: [standIn.name, standIn.publicKeyLength, standIn.encLength, standIn.privateKeyLength],
        imported: pub.bytes.length,
        generate: name(() => standIn.generateKeyPair(nodeProvider)),
        importPrivate: name(() => standIn.importPrivateKey(nodeProvider, key.exportSecret())),
        encap: name(() => standIn.encap(nodeProvider, pub)),
        decap: name(() => standIn.decap(nodeProvider, new Uint8Array(1120), key))
      }))
    `)
    expect(got).to.deep.equal({
      loaded: false,
      sameAsImpl: false,
      info: ['x-wing', 1216, 1120, 32],
      imported: 1216,
      generate: 'HpkeKemNotLoadedError',
      importPrivate: 'HpkeKemNotLoadedError',
      encap: 'HpkeKemNotLoadedError',
      decap: 'HpkeKemNotLoadedError'
    })
  })

  it('the sync readers say HpkeKemNotLoadedError; their async twins and generateEchKey load X-Wing', async () => {
    const got = await fresh(`
      import { xwing } from './src/hpke/kems/x-wing.ts'
      import { nodeProvider } from './src/crypto/node.ts'
      import { createEchConfig } from './src/config/create.ts'
      import { createEchKey } from './src/keys/generate.ts'
      import { echKeyToPem, echKeyFromPem, loadEchKeyFromPem } from './src/keys/pem.ts'
      import { encodeStoredEchKey, decodeStoredEchKey, loadStoredEchKeyRecord } from './src/keys/stored-key.ts'
      import { isKemLoaded } from './src/hpke/registry.ts'
      const privateKey = xwing.generateKeyPair(nodeProvider)
      const config = createEchConfig({ configId: 1, kemId: 0x647a, publicKey: privateKey.publicKey, cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'pq.example' })
      const key = createEchKey(config, privateKey, 1000)
      const pem = echKeyToPem(key)
      const stored = encodeStoredEchKey(key)
      const name = (fn) => { try { fn(); return 'none' } catch (err) { return err.name } }
      const before = { pem: name(() => echKeyFromPem(pem)), stored: name(() => decodeStoredEchKey(stored)) }
      const fromStore = await loadStoredEchKeyRecord(stored)
      const fromPem = await loadEchKeyFromPem(pem)
      console.log(JSON.stringify({ before, loaded: isKemLoaded(0x647a), pem: fromPem.config.configId, stored: fromStore.key.createdAt }))
    `)
    expect(got).to.deep.equal({ before: { pem: 'HpkeKemNotLoadedError', stored: 'HpkeKemNotLoadedError' }, loaded: true, pem: 1, stored: 1000 })
  })

  it('generateEchKey and the peer-store offer load X-Wing', async () => {
    const got = await fresh(`
      import { generateEchKey } from './src/keys/generate.ts'
      import { loadOffer } from './src/config/offer.ts'
      import { isKemLoaded } from './src/hpke/registry.ts'
      import { xwing } from './src/hpke/kems/x-wing.ts'
      import { nodeProvider } from './src/crypto/node.ts'
      import { createEchConfig, encodeEchConfigList } from './src/config/index.ts'
      const pk = xwing.generateKeyPair(nodeProvider).publicKey
      const list = encodeEchConfigList([createEchConfig({ configId: 2, kemId: 0x647a, publicKey: pk, cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'pq.example' })])
      const offer = await loadOffer(nodeProvider, list)
      const afterOffer = isKemLoaded(0x647a)
      console.log(JSON.stringify({ afterOffer, kem: offer.config.kemId }))
    `)
    expect(got).to.deep.equal({ afterOffer: true, kem: 0x647a })
    const generated = await fresh(`
      import { generateEchKey } from './src/keys/generate.ts'
      import { isKemLoaded } from './src/hpke/registry.ts'
      const before = isKemLoaded(0x647a)
      const key = await generateEchKey({ kem: 'x-wing' })
      console.log(JSON.stringify({ before, after: isKemLoaded(0x647a), kem: key.config.kemId }))
    `)
    expect(generated).to.deep.equal({ before: false, after: true, kem: 0x647a })
  })

  it('loadKem: an unknown KEM is InvalidParametersError', async () => {
    expect((await importKem(0x0020)).id).to.equal(0x0020)
    expect(await importKem('x-wing')).to.equal(getKem(0x647a))
    expect(await loadKem('x-wing')).to.equal(undefined)
    for (const unknown of [0x1234, 'nope']) {
      const err = await loadKem(unknown).then(() => undefined, (e: Error) => e)
      expect(err?.name).to.equal('InvalidParametersError')
    }
  })

  it('a failed import is HpkeKemLoadError, and the next call tries again (concurrent calls share one load)', async () => {
    // a KEM registered for this test only, in its own process so the registry here stays as shipped
    const got = await fresh(`
      import { getKem, importKem, registerLazyKem } from './src/hpke/registry.ts'
      const info = { id: 0xfe01, name: 'test-lazy', publicKeyLength: 1, encLength: 1, privateKeyLength: 1, sharedSecretLength: 1, importPublicKey: () => ({ kemId: 0xfe01, bytes: new Uint8Array(1) }), validatePublicKey: () => {} }
      let attempts = 0
      registerLazyKem(info, async () => {
        attempts++
        if (attempts === 1) { throw new Error('chunk fetch failed') }
        return { ...info, loaded: true }
      })
      const name = (fn) => { try { fn(); return 'none' } catch (err) { return err.name } }
      const before = name(() => getKem(0xfe01).generateKeyPair())
      const failed = await importKem(0xfe01).then(() => undefined, (e) => e)
      const [a, b] = await Promise.all([importKem('test-lazy'), importKem(0xfe01)])
      console.log(JSON.stringify({ before, failed: failed?.name, cause: failed?.cause?.message, same: a === b, loaded: a.loaded, attempts, registered: getKem(0xfe01) === a }))
    `)
    expect(got).to.deep.equal({ before: 'HpkeKemNotLoadedError', failed: 'HpkeKemLoadError', cause: 'chunk fetch failed', same: true, loaded: true, attempts: 2, registered: true })
  })
})
