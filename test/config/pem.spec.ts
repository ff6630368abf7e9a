/**
 * ECH PEM files (draft-farrell-tls-pemesni), base64 and the X25519 PKCS#8
 * key (RFC 8410 §7). The vector files' contents are checked in
 * vectors.spec.ts; this pins down the formats' edges.
 */
import fs from 'node:fs'
import { expect } from 'aegir/chai'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import {
  EchConfigError, echConfigListFromBase64, echConfigListToBase64, encodeEchPem, parseEchPem,
  pkcs8ToX25519PrivateKey, x25519PrivateKeyToPkcs8
} from '../../src/config/index.js'
import { readVector, vectorPath } from '../fixtures/vectors.js'

const readText = (file: string): string => fs.readFileSync(vectorPath('ech', file), 'utf8')
const bytes = (hex: string): Uint8Array => fromString(hex, 'base16')

const EG_PEM = readText('openssl-ech-eg.pem')
const EG_LIST = parseEchPem(EG_PEM).configList
const EG_KEY_B64 = 'MC4CAQAwBQYDK2VuBCIEIKBC3rocwIF5tGY+/TaYQrCxY+ULsch94ja9DojkcvlT'
const listB64 = echConfigListToBase64(EG_LIST)
const pemBlock = (label: string, body: string): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`

describe('config/pem: parseEchPem', () => {
  it('reads the X25519 key and the config list (openssl-ech-eg.pem)', () => {
    const pem = parseEchPem(EG_PEM)
    expect(pem.privateKeyAlgorithm).to.equal('1.3.101.110')
    expect(toString(pem.privateKey ?? new Uint8Array(), 'base16')).to.equal('a042deba1cc08179b4663efd369842b0b163e50bb1c87de236bd0e88e472f953')
    expect(pem.privateKeyPkcs8).to.equalBytes(fromString(EG_KEY_B64, 'base64pad'))
    expect(pem.parsed.usable.map(c => c.publicName)).to.deep.equal(['eg.com'])
    expect(Object.isFrozen(pem)).to.be.true()
  })

  it('round-trips openssl-ech-eg.pem byte for byte', () => {
    const pem = parseEchPem(EG_PEM)
    expect(encodeEchPem({ privateKeyPkcs8: pem.privateKeyPkcs8, configList: pem.configList })).to.equal(EG_PEM)
  })

  it('writes an ECHCONFIG-only file when there is no key, wrapped at 64 columns', () => {
    const list = parseEchPem(readText('openssl-ech-big.pem')).configList
    const text = encodeEchPem({ configList: list })
    expect(text.split('\n').every(line => line.length <= 64)).to.be.true()
    const pem = parseEchPem(text)
    expect(pem.privateKeyPkcs8).to.be.undefined()
    expect(pem.configList).to.equalBytes(list)
  })

  it('accepts CRLF lines, text around the blocks and trailing text on the END line', () => {
    const text = 'explanatory text\r\n' + pemBlock('ECHCONFIG', listB64).replace(/\n/g, '\r\n').replace('-----END ECHCONFIG-----', '-----END ECHCONFIG-----`') + 'more\n'
    expect(parseEchPem(text).configList).to.equalBytes(EG_LIST)
  })

  it('agrees with the draft\'s Figure 1 (openssl-echconfig.pem), whose Figure 2 copy is a typo', () => {
    const fig1 = parseEchPem(readText('openssl-echconfig.pem')).configList
    expect(() => echConfigListFromBase64(readText('pemesni-fig2-typo.b64'))).to.throw(EchConfigError).with.property('field', 'base64')
    expect(fig1).to.have.lengthOf(64)
  })

  const bad: Array<[string, string, string]> = [
    ['no blocks at all', listB64, 'pem'],
    ['only a private key', pemBlock('PRIVATE KEY', EG_KEY_B64), 'pem'],
    ['an unterminated block', `-----BEGIN ECHCONFIG-----\n${listB64}\n`, 'pem'],
    ['an END line for another label', `-----BEGIN ECHCONFIG-----\n${listB64}\n-----END PRIVATE KEY-----\n`, 'pem'],
    ['two ECHCONFIG blocks', pemBlock('ECHCONFIG', listB64) + pemBlock('ECHCONFIG', listB64), 'pem'],
    ['a block with an empty label', pemBlock('', listB64) + pemBlock('ECHCONFIG', listB64), 'pem'],
    ['an unexpected label', pemBlock('CERTIFICATE', listB64) + pemBlock('ECHCONFIG', listB64), 'pem'],
    ['a body that is not base64', pemBlock('ECHCONFIG', listB64.replace('A', '*')), 'pem'],
    ['a PEM header line in the body', pemBlock('ECHCONFIG', 'Proc-Type: 4,ENCRYPTED\n' + listB64), 'pem'],
    ['a malformed config list', pemBlock('ECHCONFIG', 'AAA='), 'ECHConfigList.length'],
    ['a private key that is not PKCS#8', pemBlock('PRIVATE KEY', 'AAAA') + pemBlock('ECHCONFIG', listB64), 'private_key']
  ]
  for (const [name, text, field] of bad) {
    it(`refuses ${name} → ${field}`, () => {
      expect(() => parseEchPem(text)).to.throw(EchConfigError).with.property('field', field)
    })
  }

  it('refuses non-string input', () => {
    expect(() => parseEchPem(5 as any)).to.throw(EchConfigError).with.property('field', 'pem')
  })

  it('encodeEchPem checks what it writes', () => {
    expect(() => encodeEchPem({ configList: bytes('0000') })).to.throw(EchConfigError).with.property('field', 'ECHConfigList.length')
    expect(() => encodeEchPem({ configList: EG_LIST, privateKeyPkcs8: bytes('3000') })).to.throw(EchConfigError).with.property('field', 'private_key')
  })
})

describe('config/pem: X25519 PKCS#8', () => {
  const secret = bytes('a042deba1cc08179b4663efd369842b0b163e50bb1c87de236bd0e88e472f953')
  const der = x25519PrivateKeyToPkcs8(secret)

  it('matches the RFC 8410 §7 encoding OpenSSL writes', () => {
    expect(toString(der, 'base64pad')).to.equal(EG_KEY_B64)
    expect(pkcs8ToX25519PrivateKey(der)).to.equalBytes(secret)
  })

  it('reads a v2 OneAsymmetricKey carrying the public key (RFC 8410 §7)', () => {
    const v2 = bytes('3051020101300506032b656e04220420' + toString(secret, 'base16') + '812100' + '00'.repeat(31) + '01')
    expect(pkcs8ToX25519PrivateKey(v2)).to.equalBytes(secret)
  })

  const hexDer = toString(der, 'base16')
  const bad: Array<[string, () => unknown]> = [
    ['a 31-byte secret', () => x25519PrivateKeyToPkcs8(new Uint8Array(31))],
    ['a non-Uint8Array secret', () => x25519PrivateKeyToPkcs8('x' as any)],
    ['non-Uint8Array DER', () => pkcs8ToX25519PrivateKey('x' as any)],
    ['empty DER', () => pkcs8ToX25519PrivateKey(new Uint8Array(0))],
    ['trailing bytes', () => pkcs8ToX25519PrivateKey(bytes(hexDer + '00'))],
    ['a truncated key', () => pkcs8ToX25519PrivateKey(der.subarray(0, 40))],
    ['version 2', () => pkcs8ToX25519PrivateKey(bytes(hexDer.replace('020100', '020102')))],
    ['a wrong outer tag', () => pkcs8ToX25519PrivateKey(bytes('31' + hexDer.slice(2)))],
    ['an X448 OID', () => pkcs8ToX25519PrivateKey(bytes(hexDer.replace('2b656e', '2b656f')))],
    ['a 31-byte CurvePrivateKey', () => pkcs8ToX25519PrivateKey(bytes('302d020100300506032b656e0421041f' + '00'.repeat(31)))],
    ['a non-minimal long-form length', () => pkcs8ToX25519PrivateKey(bytes('30812e' + hexDer.slice(4)))],
    ['a 4-byte length', () => pkcs8ToX25519PrivateKey(bytes('3084' + '0000002e' + hexDer.slice(4)))],
    ['an indefinite length', () => pkcs8ToX25519PrivateKey(bytes('3080' + hexDer.slice(4)))],
    ['an empty OID', () => pkcs8ToX25519PrivateKey(bytes('3011' + '020100' + '30020600' + '04080406000000000000'))],
    ['a truncated OID', () => pkcs8ToX25519PrivateKey(bytes('3012' + '020100' + '3003060181' + '04080406000000000000'))]
  ]
  for (const [name, fn] of bad) {
    it(`refuses ${name} → private_key`, () => {
      expect(fn).to.throw(EchConfigError).with.property('field', 'private_key')
    })
  }

  it('reads the RSA key of ech-rsa.pem as DER only (long-form lengths)', () => {
    const pem = parseEchPem(readText('openssl-ech-rsa.pem'))
    expect(pem.privateKeyAlgorithm).to.equal('1.2.840.113549.1.1.1')
    expect(pem.privateKey).to.be.undefined()
    expect(() => pkcs8ToX25519PrivateKey(pem.privateKeyPkcs8 as Uint8Array)).to.throw(EchConfigError).with.property('field', 'private_key')
  })
})

describe('config/pem: base64', () => {
  const wire = readVector('ech', 'go-cloudflare-ech-com.bin')

  it('round-trips a config list and tolerates whitespace', () => {
    const b64 = echConfigListToBase64(wire)
    expect(echConfigListFromBase64(b64)).to.equalBytes(wire)
    expect(echConfigListFromBase64(` ${b64.slice(0, 10)}\n\t${b64.slice(10)}\r\n`)).to.equalBytes(wire)
  })

  const bad: Array<[string, unknown]> = [
    ['a missing pad', 'AAA'],
    ['a stray character', 'AA*A'],
    ['base64url characters', 'AA-_'],
    ['padding in the middle', 'AA==AAAA'],
    ['non-zero unused bits (non-canonical)', 'AB=='],
    ['non-zero unused bits after two bytes', 'AAB='],
    ['a non-string', 42]
  ]
  for (const [name, input] of bad) {
    it(`refuses ${name} → base64`, () => {
      expect(() => echConfigListFromBase64(input as string)).to.throw(EchConfigError).with.property('field', 'base64')
    })
  }

  it('refuses to encode a non-Uint8Array', () => {
    expect(() => echConfigListToBase64([1, 2] as any)).to.throw(EchConfigError).with.property('field', 'ECHConfigList')
  })
})
