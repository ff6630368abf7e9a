/**
 * Every ECHConfigList vector in test/fixtures/vectors/ech parses to exactly what
 * manifest.json says, adjusted for the narrower algorithm set we implement.
 */
import fs from 'node:fs'
import { x25519 } from '@noble/curves/ed25519.js'
import { expect } from 'aegir/chai'
import { toString } from 'uint8arrays/to-string'
import { EchConfigError, echConfigListFromBase64, encodeEchConfigList, parseEchConfigList, parseEchPem } from '../../src/config/index.js'
import { getKem, isSupportedCipherSuite, supportedKems } from '../../src/hpke/registry.js'
import { listVectors, readVector, readVectorJson, vectorPath } from '../fixtures/vectors.js'
import type { EchConfigList, EchConfigSkipCode, EchPem } from '../../src/config/index.js'

interface ManifestSuite { kdf_id: string, aead_id: string }
interface ManifestExtension { type: string, len: number, mandatory: boolean }
interface ManifestConfig {
  version: string
  length: number
  config_id?: number
  kem_id?: string
  public_key_len?: number
  cipher_suites?: ManifestSuite[]
  maximum_name_length?: number
  public_name?: string
  public_name_hex?: string
  extensions?: ManifestExtension[]
  supported: boolean
  ignore_reason?: string
}
interface ManifestEntry {
  file: string
  bytes: number
  verdict: 'valid' | 'valid-partial' | 'parses-none-usable' | 'malformed'
  format?: string
  has_private_key?: boolean
  usable_indices?: number[]
  configs?: ManifestConfig[]
}

const manifest = readVectorJson<ManifestEntry[]>('ech', 'manifest.json')

/** Files in the folder that are not ECHConfigLists: the manifest itself and case tables (see public-name.spec.ts) */
const NOT_CONFIG_LISTS = new Set([
  'manifest.json',
  'public-name-cases.json',
  // ECHClientHello extension bodies (RFC 9849 §5): for the handshake layer, not configs
  'go-echclienthello-ext-cases.json'
])

/** The first bad field we report for each malformed vector (the manifest's WHY, in our field names) */
const MALFORMED_FIELD: Record<string, string> = {
  'go-overflow-65538.bin': 'ECHConfigList.length',
  'rustls-trailing-byte-in-contents.bin': 'ECHConfig.length',
  'openssl-bin-bad-olen.bin': 'ECHConfigList.length',
  'openssl-bin-bad-ilen.bin': 'ECHConfig.length',
  'openssl-bin-bad-pklen.bin': 'public_key',
  'openssl-bin-bad-cslen.bin': 'cipher_suites',
  'openssl-bin-bad-pnlen.bin': 'public_name',
  'openssl-bin-bad-extlen.bin': 'extensions',
  'openssl-bin-bad-inner-extlen.bin': 'extension.data',
  'openssl-bin-good-then-bad.bin': 'ECHConfig.length',
  'openssl-bin-short.bin': 'kem_id',
  'openssl-bin-empty.bin': 'ECHConfigList.length',
  'openssl-bin-ver-short.bin': 'ECHConfigList.length',
  'openssl-b64-bad-cs.bin': 'ECHConfigList.length',
  'defo-bad-kp2-zero-length-config.bin': 'config_id',
  'openssl-echconfig_bad_fuzz1.pem': 'ECHConfigList.length',
  // strict base64 refuses the 87-character typo before any list parsing
  'pemesni-fig2-typo.b64': 'base64'
}

/** The manifest's ignore reasons, in our codes */
const REASON_CODES: Array<[string, EchConfigSkipCode]> = [
  ['unsupported version', 'unsupported-version'],
  ['unknown KEM', 'unsupported-kem'],
  ['no usable HPKE suite', 'no-supported-cipher-suite'],
  ['unsupported mandatory extension', 'mandatory-extension'],
  ['invalid public_name', 'invalid-public-name']
]

function mapReason (reason: string): EchConfigSkipCode {
  const found = REASON_CODES.find(([prefix]) => reason.startsWith(prefix))
  if (found === undefined) { throw new Error(`unmapped manifest ignore_reason: ${reason}`) }
  return found[1]
}

const num = (hex: string): number => parseInt(hex, 16)

/**
 * The manifest counts a config usable when its KEM is any of P-256, P-384,
 * P-521, X25519, X448 (0x0010-0x0012, 0x0020, 0x0021) and one suite has KDF
 * 1-3 and AEAD 1-3. We implement fewer (today X25519 with HKDF-SHA256 and
 * AES-128-GCM or ChaCha20-Poly1305; the registry is the source of truth), so a
 * manifest-usable config can be skipped here, in this order of checks.
 * Returns undefined when the narrower set does not reject it.
 */
function narrowerSetRejects (cfg: ManifestConfig): EchConfigSkipCode | undefined {
  if (cfg.version !== '0xfe0d') { return undefined }
  const kem = getKem(num(cfg.kem_id ?? ''))
  if (kem === undefined) { return 'unsupported-kem' }
  if (cfg.public_key_len !== kem.publicKeyLength) { return 'bad-public-key-length' }
  const suites = (cfg.cipher_suites ?? []).map(s => ({ kdfId: num(s.kdf_id), aeadId: num(s.aead_id) }))
  if (!suites.some(s => isSupportedCipherSuite(s))) { return 'no-supported-cipher-suite' }
  return undefined
}

/** What we should decide for a manifest config: usable (undefined) or a skip code */
function expectedCode (cfg: ManifestConfig): EchConfigSkipCode | undefined {
  if (cfg.version !== '0xfe0d') { return 'unsupported-version' }
  return narrowerSetRejects(cfg) ?? (cfg.supported ? undefined : mapReason(cfg.ignore_reason ?? ''))
}

function verdictOf (usable: number, total: number): ManifestEntry['verdict'] {
  if (usable === 0) { return 'parses-none-usable' }
  return usable === total ? 'valid' : 'valid-partial'
}

function readText (file: string): string {
  return fs.readFileSync(vectorPath('ech', file), 'utf8')
}

/** Parse a vector in its own format: raw list, PEM, or bare base64 */
function load (entry: ManifestEntry): { list: EchConfigList, pem?: EchPem } {
  if (entry.file.endsWith('.bin')) { return { list: parseEchConfigList(readVector('ech', entry.file)) } }
  if (entry.format?.startsWith('PEM') === true) {
    const pem = parseEchPem(readText(entry.file))
    return { list: pem.parsed, pem }
  }
  return { list: parseEchConfigList(echConfigListFromBase64(readText(entry.file))) }
}

function checkConfigs (entry: ManifestEntry, list: EchConfigList): void {
  const configs = entry.configs ?? []
  expect(list.entries).to.have.lengthOf(configs.length)
  configs.forEach((cfg, i) => {
    const got = list.entries[i]
    const where = `${entry.file} config ${i}`
    expect(got.index, where).to.equal(i)
    expect(got.version, where).to.equal(num(cfg.version))
    expect(got.length, where).to.equal(cfg.length)
    expect(got.raw, where).to.have.lengthOf(4 + cfg.length)
    const code = expectedCode(cfg)
    expect(got.usable, where).to.equal(code === undefined)
    expect(got.skipReason?.code, where).to.equal(code)
    if (cfg.version !== '0xfe0d') {
      expect(got.config, where).to.be.undefined()
      return
    }
    const config = got.config
    if (config === undefined) { throw new Error(`${where}: no config`) }
    expect(config.configId, where).to.equal(cfg.config_id)
    expect(config.kemId, where).to.equal(num(cfg.kem_id ?? ''))
    expect(config.publicKey, where).to.have.lengthOf(cfg.public_key_len ?? -1)
    expect(config.cipherSuites, where).to.deep.equal((cfg.cipher_suites ?? []).map(s => ({ kdfId: num(s.kdf_id), aeadId: num(s.aead_id) })))
    expect(config.maximumNameLength, where).to.equal(cfg.maximum_name_length)
    expect(toString(Uint8Array.from(config.publicName, c => c.charCodeAt(0)), 'base16'), where).to.equal(cfg.public_name_hex)
    expect(config.publicName, where).to.equal(cfg.public_name)
    expect(config.extensions.map(e => ({ type: e.type, len: e.data.length, mandatory: (e.type & 0x8000) !== 0 })), where)
      .to.deep.equal((cfg.extensions ?? []).map(e => ({ type: num(e.type), len: e.len, mandatory: e.mandatory })))
    // serialized from its fields, a parsed config is its raw bytes again
    expect(encodeEchConfigList([config]).subarray(2), where).to.equalBytes(got.raw)
  })
}

describe('config/vectors: manifest.json', () => {
  it('covers every file in the vectors folder', () => {
    const listed = new Set(manifest.map(e => e.file))
    const onDisk = listVectors('ech')
    expect(onDisk.filter(f => !listed.has(f) && !NOT_CONFIG_LISTS.has(f)), 'files without a manifest entry').to.deep.equal([])
    expect([...listed].filter(f => !onDisk.includes(f)), 'manifest entries without a file').to.deep.equal([])
    expect(Object.keys(MALFORMED_FIELD).sort()).to.deep.equal(manifest.filter(e => e.verdict === 'malformed').map(e => e.file).sort())
  })

  it('registers X25519, the KEM the expectations below assume', () => {
    expect(supportedKems().map(k => k.id)).to.include(0x0020)
  })

  it('decides the verdict of as many files as the manifest lists', () => {
    let checked = 0
    for (const entry of manifest) {
      let usable = -1
      try {
        const { list } = load(entry)
        usable = list.usable.length
      } catch (err: any) {
        expect(err.name, entry.file).to.equal('EchConfigError')
      }
      expect(usable === -1, entry.file).to.equal(entry.verdict === 'malformed')
      checked++
    }
    expect(checked).to.equal(manifest.length).and.to.equal(72)
  })

  for (const entry of manifest) {
    it(`${entry.file}: ${entry.verdict}`, () => {
      if (entry.file.endsWith('.bin')) { expect(readVector('ech', entry.file)).to.have.lengthOf(entry.bytes) }
      if (entry.verdict === 'malformed') {
        expect(() => load(entry)).to.throw(EchConfigError).with.property('field', MALFORMED_FIELD[entry.file])
        return
      }
      const { list, pem } = load(entry)
      checkConfigs(entry, list)

      // the manifest's own verdict follows from its usable indices
      const configs = entry.configs ?? []
      expect(entry.verdict).to.equal(verdictOf(entry.usable_indices?.length ?? 0, configs.length))
      // ours: the manifest's usable configs minus those our narrower algorithm set rejects
      const expectedUsable = (entry.usable_indices ?? []).filter(i => narrowerSetRejects(configs[i]) === undefined)
      const gotUsable = list.entries.filter(e => e.usable).map(e => e.index)
      expect(gotUsable).to.deep.equal(expectedUsable)
      expect(verdictOf(gotUsable.length, configs.length)).to.equal(verdictOf(expectedUsable.length, configs.length))
      expect(list.usable).to.deep.equal(gotUsable.map(i => list.entries[i].config))

      if (pem !== undefined) {
        expect(pem.privateKeyPkcs8 !== undefined).to.equal(entry.has_private_key)
      }
    })
  }
})

/** Non-X25519 keys in the PEM vectors: kept as DER, not KEM keys we can read */
const OTHER_KEY_ALGORITHMS: Record<string, string> = {
  // openssl test/certs/ech-rsa.pem
  'openssl-ech-rsa.pem': '1.2.840.113549.1.1.1',
  // id-ecPublicKey: a P-256 key for a draft-10 (0xfe0a) config
  'openssl-echconfig-256.pem': '1.2.840.10045.2.1'
}

describe('config/vectors: PEM private keys', () => {
  for (const entry of manifest.filter(e => e.has_private_key === true)) {
    it(`${entry.file}: the key belongs to the file's configs`, () => {
      const pem = parseEchPem(readText(entry.file))
      if (entry.file in OTHER_KEY_ALGORITHMS) {
        expect(pem.privateKeyAlgorithm).to.equal(OTHER_KEY_ALGORITHMS[entry.file])
        expect(pem.privateKey).to.be.undefined()
        return
      }
      expect(pem.privateKeyAlgorithm).to.equal('1.3.101.110')
      if (pem.privateKey === undefined) { throw new Error('no X25519 key') }
      // matched inside `raw`, so draft-version configs (echconfig-10.pem) count too
      const publicKey = toString(x25519.getPublicKey(pem.privateKey), 'base16')
      const owned = pem.parsed.entries.filter(e => toString(e.raw, 'base16').includes(publicKey))
      expect(owned.length, 'configs holding the key\'s public half').to.be.greaterThan(0)
    })
  }
})
