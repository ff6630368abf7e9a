/**
 * public_name validation (RFC 9849 §4, §6.1.7) against BoringSSL's
 * ECHPublicName cases, plus the label-length bound BoringSSL does not test.
 */
import { expect } from 'aegir/chai'
import { fromString } from 'uint8arrays/from-string'
import { isValidPublicName, parseEchConfigList, publicNameProblem } from '../../src/config/index.js'
import { readVectorJson } from '../fixtures/vectors.js'

interface PublicNameCases { rule: string, cases: Array<{ name_hex: string, name: string, valid: boolean }> }

const { cases } = readVectorJson<PublicNameCases>('ech', 'public-name-cases.json')

/** One wire byte per character, as the parser decodes public_name */
const fromHex = (hex: string): string => String.fromCharCode(...fromString(hex, 'base16'))

/** A one-config list (X25519, HKDF-SHA256/AES-128-GCM) with this public_name */
function listWithName (nameHex: string): Uint8Array {
  const contents = '01' + '0020' + '0020' + '11'.repeat(32) + '0004' + '00010001' + '00' +
    (nameHex.length / 2).toString(16).padStart(2, '0') + nameHex + '0000'
  const config = 'fe0d' + (contents.length / 2).toString(16).padStart(4, '0') + contents
  return fromString((config.length / 2).toString(16).padStart(4, '0') + config, 'base16')
}

describe('config/public-name', () => {
  it(`decides all ${cases.length} BoringSSL cases as listed`, () => {
    expect(cases).to.have.lengthOf(33)
    const wrong = cases.filter(c => isValidPublicName(fromHex(c.name_hex)) !== c.valid).map(c => c.name)
    expect(wrong).to.deep.equal([])
  })

  for (const c of cases.filter(c => c.name_hex !== '')) {
    it(`a config named ${JSON.stringify(c.name)} is ${c.valid ? 'usable' : 'skipped (invalid-public-name)'}`, () => {
      const entry = parseEchConfigList(listWithName(c.name_hex)).entries[0]
      expect(entry.usable).to.equal(c.valid)
      expect(entry.skipReason?.code).to.equal(c.valid ? undefined : 'invalid-public-name')
      expect(entry.config?.publicName).to.equal(fromHex(c.name_hex))
    })
  }

  const extra: Array<[string, boolean]> = [
    ['a', true],
    ['a-b.c', true],
    ['x'.repeat(63) + '.example', true],
    ['x'.repeat(64) + '.example', false],
    [Array(4).fill('x'.repeat(63)).join('.'), true],
    ['example.0x', false],
    ['example.0X', false],
    ['0x1.example', true],
    ['example.com-', false],
    ['exa mple.com', false],
    ['example.c', true],
    ['EXAMPLE.COM', true]
  ]
  for (const [name, valid] of extra) {
    it(`${JSON.stringify(name.length > 40 ? name.slice(0, 20) + '…' : name)} is ${valid ? 'valid' : 'invalid'}`, () => {
      expect(isValidPublicName(name)).to.equal(valid)
      expect(publicNameProblem(name) === undefined).to.equal(valid)
    })
  }

  it('refuses names longer than public_name<1..255> allows', () => {
    expect(isValidPublicName(Array(5).fill('x'.repeat(63)).join('.'))).to.be.false()
  })
})
