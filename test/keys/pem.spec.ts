import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'aegir/chai'
import { encodeEchConfigList } from '../../src/config/codec.js'
import { createEchConfig } from '../../src/config/create.js'
import { encodeEchPem } from '../../src/config/pem.js'
import { OID_XWING, parsePkcs8, pkcs8ToXWingPrivateKey, x25519PrivateKeyToPkcs8, xwingPrivateKeyToPkcs8 } from '../../src/config/pkcs8.js'
import { createEchKey, echKeyFromSecret, generateEchKey } from '../../src/keys/generate.js'
import { echKeyFromPem, echKeyToPem } from '../../src/keys/pem.js'

function expectThrows (fn: () => unknown, name: string): void {
  try {
    fn()
  } catch (err: any) {
    expect(err.name).to.equal(name)
    return
  }
  expect.fail(`expected ${name}`)
}

describe('keys/pem', () => {
  it('round-trips a key through PEM', async () => {
    const key = await generateEchKey({ publicName: 'pem.example.com' })
    const pem = echKeyToPem(key)
    expect(pem).to.match(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(pem).to.include('-----BEGIN ECHCONFIG-----')
    const back = echKeyFromPem(pem, { createdAt: 99 })
    expect(back.config.raw).to.equalBytes(key.config.raw)
    expect(back.configList).to.equalBytes(key.configList)
    expect(back.privateKey.publicKey).to.equalBytes(key.privateKey.publicKey)
    expect(back.createdAt).to.equal(99)
    const secret = back.privateKey.exportSecret()
    expect(secret).to.equalBytes(key.privateKey.exportSecret())
  })

  it('picks the config that matches the private key from a multi-config file', async () => {
    const key = await generateEchKey({ configId: 1 })
    const other = await generateEchKey({ configId: 2 })
    const secret = key.privateKey.exportSecret()
    const pem = encodeEchPem({
      privateKeyPkcs8: x25519PrivateKeyToPkcs8(secret),
      configList: encodeEchConfigList([other.config, key.config])
    })
    const back = echKeyFromPem(pem)
    expect(back.config.configId).to.equal(1)
    expect(back.configList).to.equalBytes(key.configList)
    expect(back.createdAt).to.be.closeTo(Date.now(), 5000)
  })

  it('refuses a file whose private key belongs to no config', async () => {
    const key = await generateEchKey()
    const other = await generateEchKey()
    const pem = encodeEchPem({
      privateKeyPkcs8: x25519PrivateKeyToPkcs8(other.privateKey.exportSecret()),
      configList: key.configList
    })
    expectThrows(() => echKeyFromPem(pem), 'EchKeyDecodeError')
  })

  it('refuses a file without a private key', async () => {
    const key = await generateEchKey()
    expectThrows(() => echKeyFromPem(encodeEchPem({ configList: key.configList })), 'EchKeyDecodeError')
  })

  it('refuses a file with a private key that is neither X25519 nor X-Wing', async () => {
    const key = await generateEchKey()
    // an Ed25519 PKCS#8 key (RFC 8410 §10.3)
    const ed25519 = Uint8Array.from([
      0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
      ...new Uint8Array(32).fill(1)
    ])
    expectThrows(() => echKeyFromPem(encodeEchPem({ privateKeyPkcs8: ed25519, configList: key.configList })), 'EchKeyDecodeError')
  })

  it('refuses malformed PEM', () => {
    for (const text of ['', 'hello', '-----BEGIN ECHCONFIG-----\n!!!\n-----END ECHCONFIG-----\n']) {
      expectThrows(() => echKeyFromPem(text), 'EchKeyDecodeError')
    }
  })

  it('refuses PEM export of a KEM without a PKCS#8 form', async () => {
    const key = await generateEchKey()
    // DHKEM(P-256): not implemented here, so no PKCS#8 form
    const config = createEchConfig({
      configId: 3, kemId: 0x0010, publicKey: new Uint8Array(65), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'a.invalid'
    })
    const fake = createEchKey(config, key.privateKey, 0)
    expectThrows(() => echKeyToPem(fake), 'EchUnsupportedKemError')
  })

  it('refuses PEM export of a key whose private key belongs to another KEM', async () => {
    const key = await generateEchKey()
    const config = createEchConfig({
      configId: 3, kemId: 0x647a, publicKey: new Uint8Array(1216), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'a.invalid'
    })
    expectThrows(() => echKeyToPem(createEchKey(config, key.privateKey, 0)), 'EchKeyDecodeError')
  })

  it('echKeyFromSecret checks the KEM, the key and the match', async () => {
    const key = await generateEchKey()
    const secret = key.privateKey.exportSecret()
    expect(echKeyFromSecret(key.config, secret, 5).privateKey.publicKey).to.equalBytes(key.config.publicKey)
    const unknownKem = createEchConfig({
      configId: 3, kemId: 0x0999, publicKey: new Uint8Array(32), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'a.invalid'
    })
    expectThrows(() => echKeyFromSecret(unknownKem, secret, 0), 'EchKeyDecodeError')
    expectThrows(() => echKeyFromSecret(key.config, new Uint8Array(5), 0), 'EchKeyDecodeError')
    const other = await generateEchKey()
    expectThrows(() => echKeyFromSecret(key.config, other.privateKey.exportSecret(), 0), 'EchKeyDecodeError')
  })
})

describe('keys/pem X-Wing', () => {
  const FIXTURE = JSON.parse(readFileSync(path.resolve(process.cwd(), 'test/fixtures/xwing-vectors.json'), 'utf8'))

  it('writes the PKCS#8 of draft-connolly-cfrg-xwing-kem Appendix D, and reads it back', () => {
    const seed = Uint8Array.from(Buffer.from(FIXTURE.pkcs8Example.privateKey, 'hex'))
    const der = xwingPrivateKeyToPkcs8(seed)
    expect(Buffer.from(der).toString('base64')).to.equal(FIXTURE.pkcs8Example.pkcs8Base64)
    expect(parsePkcs8(der).algorithm).to.equal(OID_XWING)
    expect(OID_XWING).to.equal('1.3.6.1.4.1.62253.25722')
    expect(pkcs8ToXWingPrivateKey(der)).to.equalBytes(seed)
  })

  it('refuses malformed X-Wing PKCS#8 and seeds', () => {
    expectThrows(() => xwingPrivateKeyToPkcs8(new Uint8Array(31)), 'EchConfigError')
    expectThrows(() => xwingPrivateKeyToPkcs8('seed' as any), 'EchConfigError')
    expectThrows(() => pkcs8ToXWingPrivateKey(x25519PrivateKeyToPkcs8(new Uint8Array(32))), 'EchConfigError')
    // the X-Wing OID around a 33-byte key
    const long = Uint8Array.from([0x30, 0x35, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe6, 0x2d, 0x81, 0xc8, 0x7a, 0x04, 0x21, ...new Uint8Array(33)])
    expectThrows(() => pkcs8ToXWingPrivateKey(long), 'EchConfigError')
  })

  it('round-trips an X-Wing key through PEM', async () => {
    const key = await generateEchKey({ kem: 'x-wing', publicName: 'pq.example.com' })
    const pem = echKeyToPem(key)
    expect(pem).to.match(/^-----BEGIN PRIVATE KEY-----\nMDQCAQAwDQYLKwYBBAGD5i2ByHoEI/)
    const back = echKeyFromPem(pem, { createdAt: 7 })
    expect(back.config.kemId).to.equal(0x647a)
    expect(back.config.raw).to.equalBytes(key.config.raw)
    expect(back.privateKey.publicKey).to.equalBytes(key.privateKey.publicKey)
    expect(back.privateKey.exportSecret()).to.equalBytes(key.privateKey.exportSecret())
  })

  it('picks the X-Wing config from a file that also lists an X25519 one', async () => {
    const key = await generateEchKey({ kem: 'x-wing', configId: 2 })
    const other = await generateEchKey({ configId: 1 })
    const pem = encodeEchPem({
      privateKeyPkcs8: xwingPrivateKeyToPkcs8(key.privateKey.exportSecret()),
      configList: encodeEchConfigList([other.config, key.config])
    })
    expect(echKeyFromPem(pem).config.configId).to.equal(2)
  })

  it('refuses an X-Wing file whose key matches no config, or is malformed', async () => {
    const key = await generateEchKey({ kem: 'x-wing' })
    const other = await generateEchKey({ kem: 'x-wing' })
    expectThrows(() => echKeyFromPem(encodeEchPem({
      privateKeyPkcs8: xwingPrivateKeyToPkcs8(other.privateKey.exportSecret()),
      configList: key.configList
    })), 'EchKeyDecodeError')
    // an X-Wing seed never matches an X25519 config, nor the reverse
    const x25519 = await generateEchKey()
    expectThrows(() => echKeyFromPem(encodeEchPem({
      privateKeyPkcs8: xwingPrivateKeyToPkcs8(key.privateKey.exportSecret()),
      configList: x25519.configList
    })), 'EchKeyDecodeError')
    expectThrows(() => echKeyFromPem(encodeEchPem({
      privateKeyPkcs8: x25519PrivateKeyToPkcs8(x25519.privateKey.exportSecret()),
      configList: key.configList
    })), 'EchKeyDecodeError')
    const long = Uint8Array.from([0x30, 0x35, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe6, 0x2d, 0x81, 0xc8, 0x7a, 0x04, 0x21, ...new Uint8Array(33)])
    expectThrows(() => echKeyFromPem(encodeEchPem({ privateKeyPkcs8: long, configList: key.configList })), 'EchKeyDecodeError')
  })
})
