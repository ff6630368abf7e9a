/**
 * ECHConfigList codec (RFC 9849 §4): named wire cases, copying and freezing,
 * and byte-exact re-encoding.
 */
import { expect } from 'aegir/chai'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { ECH_CONFIG_VERSION, EchConfigError, createEchConfig, echConfigSkipReason, encodeEchConfigList, parseEchConfigList } from '../../src/config/index.js'
import type { EchConfig, EchConfigFields } from '../../src/config/index.js'

const u8 = (n: number): string => n.toString(16).padStart(2, '0')
const u16 = (n: number): string => n.toString(16).padStart(4, '0')
const ascii = (s: string): string => toString(fromString(s), 'base16')
const bytes = (hex: string): Uint8Array => fromString(hex, 'base16')

interface Parts {
  version?: string
  length?: number
  configId?: string
  kem?: string
  pk?: string
  pkLen?: number
  suites?: string
  suitesLen?: number
  maxName?: string
  pn?: string
  pnLen?: number
  exts?: string
  extsLen?: number
  /** Bytes after the extensions, inside the contents */
  trailing?: string
  /** Cut the contents after this many hex characters */
  cut?: number
}

/** One ECHConfig in hex; lengths are computed unless given */
function config (p: Parts = {}): string {
  const pk = p.pk ?? '11'.repeat(32)
  const suites = p.suites ?? '00010001'
  const pn = p.pn ?? ascii('example.com')
  const exts = p.exts ?? ''
  let contents = (p.configId ?? '01') + (p.kem ?? '0020') + u16(p.pkLen ?? pk.length / 2) + pk +
    u16(p.suitesLen ?? suites.length / 2) + suites + (p.maxName ?? '00') + u8(p.pnLen ?? pn.length / 2) + pn +
    u16(p.extsLen ?? exts.length / 2) + exts + (p.trailing ?? '')
  contents = contents.slice(0, p.cut)
  return (p.version ?? 'fe0d') + u16(p.length ?? contents.length / 2) + contents
}

const ext = (type: number, data = ''): string => u16(type) + u16(data.length / 2) + data

/** An ECHConfigList: u16 length, then the configs */
const list = (...configs: string[]): string => u16(configs.join('').length / 2) + configs.join('')

const MALFORMED: Array<[name: string, hex: string, field: string]> = [
  ['empty input', '', 'ECHConfigList.length'],
  ['one byte', '00', 'ECHConfigList.length'],
  ['list length 0 (ECHConfigList<4..2^16-1>)', '0000', 'ECHConfigList.length'],
  ['list length 3, consistent but < 4', '0003abcdef', 'ECHConfigList.length'],
  ['list length one short of the bytes present', u16(config().length / 2 - 1) + config(), 'ECHConfigList.length'],
  ['list length one more than the bytes present', u16(config().length / 2 + 1) + config(), 'ECHConfigList.length'],
  ['bytes after the list', list(config()) + '00', 'ECHConfigList.length'],
  ['one stray byte after the last config', list(config(), '00'), 'ECHConfig.version'],
  ['three stray bytes after the last config', list(config(), 'fe0d00'), 'ECHConfig.length'],
  ['ECHConfig.length beyond the list', list(config({ length: 0x100 })), 'ECHConfig.length'],
  ['unknown version whose length overruns the list', list('abcd0010' + '00'.repeat(8)), 'ECHConfig.length'],
  ['contents end before config_id', list(config({ cut: 0 })), 'config_id'],
  ['contents end inside kem_id', list(config({ cut: 4 })), 'kem_id'],
  ['public_key<1..2^16-1> of length 0', list(config({ pk: '' })), 'public_key'],
  ['public_key length overruns contents', list(config({ pkLen: 0x100 })), 'public_key'],
  ['cipher_suites length 0', list(config({ suites: '' })), 'cipher_suites'],
  ['cipher_suites length 2', list(config({ suites: '0001' })), 'cipher_suites'],
  ['cipher_suites length 6 (not a multiple of 4)', list(config({ suites: '000100010001' })), 'cipher_suites'],
  ['cipher_suites length overruns contents', list(config({ suitesLen: 0x40 })), 'cipher_suites'],
  ['contents end before maximum_name_length', list(config({ cut: 2 + 4 + 4 + 64 + 4 + 8 })), 'maximum_name_length'],
  ['public_name<1..255> of length 0', list(config({ pn: '' })), 'public_name'],
  ['public_name length overruns contents', list(config({ pnLen: 0x20 })), 'public_name'],
  ['contents end before extensions', list(config({ cut: 2 + 4 + 4 + 64 + 4 + 8 + 2 + 2 + 22 })), 'extensions'],
  ['extensions length overruns contents', list(config({ extsLen: 4 })), 'extensions'],
  ['extension cut inside its type', list(config({ exts: '0a' })), 'extension.type'],
  ['extension cut inside its data length', list(config({ exts: '0a0b00' })), 'extension.data'],
  ['extension data overruns the extensions block', list(config({ exts: '0a0b0002ff' })), 'extension.data'],
  ['duplicate extension types', list(config({ exts: ext(0x0a0b) + ext(0x0a0b, 'ff') })), 'extensions'],
  ['trailing byte inside the contents', list(config({ trailing: '00' })), 'ECHConfig.length'],
  ['a good config, then a malformed one', list(config(), config({ pk: '' })), 'public_key']
]

type Code = ReturnType<typeof echConfigSkipReason> extends infer R ? (R extends { code: infer C } ? C : never) : never
const PARSED: Array<[name: string, hex: string, decisions: Array<Code | 'usable'>]> = [
  ['minimal X25519 config', list(config()), ['usable']],
  ['unknown version with length 0 is skipped', list('abcd0000'), ['unsupported-version']],
  ['draft version 0xfe0c is skipped, whatever its contents', list(config({ version: 'fe0c', pk: '' })), ['unsupported-version']],
  ['unknown version, then a usable config', list('ffff0001ff', config()), ['unsupported-version', 'usable']],
  ['unknown KEM 0x6666 with a 4-byte key', list(config({ kem: '6666', pk: '01020304' })), ['unsupported-kem']],
  ['X25519 with a 31-byte key', list(config({ pk: '11'.repeat(31) })), ['bad-public-key-length']],
  ['X25519 with a 33-byte key', list(config({ pk: '11'.repeat(33) })), ['bad-public-key-length']],
  ['only export-only AEAD 0xffff', list(config({ suites: '0001ffff' })), ['no-supported-cipher-suite']],
  ['only HKDF-SHA384 (not implemented)', list(config({ suites: '00020001' })), ['no-supported-cipher-suite']],
  ['only AES-256-GCM (not implemented)', list(config({ suites: '00010002' })), ['no-supported-cipher-suite']],
  ['an unusable suite before a usable one', list(config({ suites: '11112222' + '00010003' })), ['usable']],
  ['mandatory extension 0x8000', list(config({ exts: ext(0x8000) })), ['mandatory-extension']],
  ['non-mandatory extension 0x7fff with data', list(config({ exts: ext(0x7fff, 'abcd') })), ['usable']],
  ['public_name 127.0.0.1', list(config({ pn: ascii('127.0.0.1') })), ['invalid-public-name']],
  ['public_name with a NUL byte', list(config({ pn: ascii('exampl') + '00' + ascii('.com') })), ['invalid-public-name']],
  ['public_name of 255 characters', list(config({ pn: ascii(Array(4).fill('x'.repeat(63)).join('.')) })), ['usable']],
  ['maximum_name_length 255', list(config({ maxName: 'ff' })), ['usable']],
  ['all-zero X25519 key parses (HPKE Encap rejects it later)', list(config({ pk: '00'.repeat(32) })), ['usable']]
]

describe('config/codec: malformed lists are rejected whole', () => {
  for (const [name, hex, field] of MALFORMED) {
    it(`${name} → ${field}`, () => {
      expect(() => parseEchConfigList(bytes(hex))).to.throw(EchConfigError).with.property('field', field)
    })
  }

  it('errors are EchConfigError by name', () => {
    const err = (() => { try { parseEchConfigList(bytes('00')) } catch (e) { return e } })()
    expect(err).to.have.property('name', 'EchConfigError')
    expect(EchConfigError.name).to.equal('EchConfigError')
  })

  it('refuses non-Uint8Array input', () => {
    expect(() => parseEchConfigList('0004abcd0000' as any)).to.throw(EchConfigError).with.property('field', 'ECHConfigList')
  })

  it('rejects 65536 bytes behind a list length of 0 (go-overflow-65538 shape)', () => {
    // A parser that keeps the remaining count in a uint16 sees 65536 as 0,
    // accepts the list length, then reads an inner ECHConfig of length 0xfffc.
    const input = new Uint8Array(65538)
    input.set([0xfe, 0x0d, 0xff, 0xfc], 2)
    expect(() => parseEchConfigList(input)).to.throw(EchConfigError).with.property('field', 'ECHConfigList.length')
  })
})

describe('config/codec: well-formed configs are kept or skipped', () => {
  for (const [name, hex, decisions] of PARSED) {
    it(`${name} → ${decisions.join(', ')}`, () => {
      const parsed = parseEchConfigList(bytes(hex))
      expect(parsed.entries.map(e => e.usable ? 'usable' : e.skipReason?.code)).to.deep.equal(decisions)
      expect(parsed.entries.every(e => typeof (e.skipReason?.detail ?? '') === 'string')).to.be.true()
      expect(parsed.usable).to.deep.equal(parsed.entries.filter(e => e.usable).map(e => e.config))
      // every parsed config, usable or not, re-encodes to its raw bytes
      for (const entry of parsed.entries) {
        if (entry.config !== undefined) {
          expect(encodeEchConfigList([entry.config]).subarray(2)).to.equalBytes(entry.raw)
        }
      }
      expect(toString(Uint8Array.from(parsed.entries.flatMap(e => [...e.raw])), 'base16')).to.equal(hex.slice(4))
    })
  }
})

describe('config/codec: results', () => {
  const hex = list('abcd0001ff', config({ exts: ext(0x0a0b, 'cafe') }), config({ configId: '02', kem: '6666', pk: '0102' }))

  it('freezes every object it returns', () => {
    const parsed = parseEchConfigList(bytes(hex))
    const config = parsed.entries[1].config as EchConfig
    for (const value of [parsed, parsed.entries, parsed.usable, ...parsed.entries, config, config.cipherSuites,
      config.cipherSuites[0], config.extensions, config.extensions[0], parsed.entries[2].skipReason]) {
      expect(Object.isFrozen(value)).to.be.true()
    }
  })

  it('never aliases the input: mutating it after parsing changes nothing', () => {
    const input = bytes(hex)
    const parsed = parseEchConfigList(input)
    const before = JSON.stringify(parsed.entries.map(e => [toString(e.raw, 'base16'), e.config?.publicKey, e.config?.extensions]))
    input.fill(0xee)
    const after = JSON.stringify(parsed.entries.map(e => [toString(e.raw, 'base16'), e.config?.publicKey, e.config?.extensions]))
    expect(after).to.equal(before)
    const config = parsed.entries[1].config as EchConfig
    expect(config.raw.buffer).to.not.equal(input.buffer)
    expect(config.publicKey.buffer).to.not.equal(config.raw.buffer)
    expect(config.extensions[0].data.buffer).to.not.equal(config.raw.buffer)
  })

  it('reports index, version and length for every entry', () => {
    const parsed = parseEchConfigList(bytes(hex))
    expect(parsed.entries.map(e => [e.index, e.version, e.length, e.raw.length]))
      .to.deep.equal([[0, 0xabcd, 1, 5], [1, ECH_CONFIG_VERSION, 64, 68], [2, ECH_CONFIG_VERSION, 28, 32]])
    expect(parsed.usable.map(c => c.configId)).to.deep.equal([1])
  })
})

describe('config/codec: encodeEchConfigList', () => {
  const base: EchConfigFields = {
    configId: 7, kemId: 0x20, publicKey: new Uint8Array(32).fill(5), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'example.com'
  }

  it('encodes several configs in order, as the parser reads them back', () => {
    const a = createEchConfig(base)
    const b = createEchConfig({ ...base, configId: 8, maximumNameLength: 64, extensions: [{ type: 0x0fca, data: bytes('00') }] })
    const wire = encodeEchConfigList([a, b])
    expect(toString(wire.subarray(2), 'base16')).to.equal(toString(a.raw, 'base16') + toString(b.raw, 'base16'))
    expect(parseEchConfigList(wire).usable).to.deep.equal([a, b])
  })

  const bad: Array<[string, () => unknown, string]> = [
    ['an empty list (ECHConfigList<4..2^16-1>)', () => encodeEchConfigList([]), 'ECHConfigList.length'],
    ['a non-array', () => encodeEchConfigList('x' as any), 'ECHConfigList'],
    ['a config of another version', () => encodeEchConfigList([{ ...createEchConfig(base), version: 0xfe0c } as any]), 'ECHConfig.version'],
    ['a public_name outside one byte per character', () => encodeEchConfigList([{ ...createEchConfig(base), publicName: 'ä€.com' }]), 'public_name'],
    ['more than 65535 bytes of configs', () => {
      const big = createEchConfig({ ...base, kemId: 0x6666, publicKey: new Uint8Array(40000) })
      return encodeEchConfigList([big, big])
    }, 'ECHConfigList.length']
  ]
  for (const [name, fn, field] of bad) {
    it(`refuses ${name} → ${field}`, () => {
      expect(fn).to.throw(EchConfigError).with.property('field', field)
    })
  }
})

describe('config/codec: createEchConfig', () => {
  const base: EchConfigFields = {
    configId: 0, kemId: 0x20, publicKey: new Uint8Array(32), cipherSuites: [{ kdfId: 1, aeadId: 3 }], publicName: 'a.example'
  }

  it('builds a frozen config whose raw bytes parse back to it', () => {
    const publicKey = new Uint8Array(32).fill(9)
    const config = createEchConfig({ ...base, publicKey, maximumNameLength: 255, extensions: [{ type: 0xfe00, data: bytes('01') }] })
    publicKey.fill(0)
    expect(config.publicKey).to.equalBytes(new Uint8Array(32).fill(9))
    expect(Object.isFrozen(config)).to.be.true()
    const entry = parseEchConfigList(encodeEchConfigList([config])).entries[0]
    expect(entry.config).to.deep.equal(config)
    expect(entry.skipReason?.code).to.equal('mandatory-extension')
  })

  it('defaults maximum_name_length to 0 and extensions to none', () => {
    const config = createEchConfig(base)
    expect(config.maximumNameLength).to.equal(0)
    expect(config.extensions).to.deep.equal([])
    expect(config.raw).to.have.lengthOf(4 + 1 + 2 + 2 + 32 + 2 + 4 + 1 + 1 + 9 + 2)
  })

  it('accepts a KEM it does not implement, with any key length', () => {
    expect(createEchConfig({ ...base, kemId: 0x647a, publicKey: new Uint8Array(1216) }).kemId).to.equal(0x647a)
  })

  const bad: Array<[string, Partial<EchConfigFields> | null, string]> = [
    ['fields that are not an object', null, 'ECHConfig'],
    ['config_id 256', { configId: 256 }, 'config_id'],
    ['config_id -1', { configId: -1 }, 'config_id'],
    ['config_id 1.5', { configId: 1.5 }, 'config_id'],
    ['kem_id 0x10000', { kemId: 0x10000 }, 'kem_id'],
    ['an empty public key', { kemId: 0x6666, publicKey: new Uint8Array(0) }, 'public_key'],
    ['a public key that is not bytes', { publicKey: [1, 2] as any }, 'public_key'],
    ['a 31-byte X25519 key', { publicKey: new Uint8Array(31) }, 'public_key'],
    ['no cipher suites', { cipherSuites: [] }, 'cipher_suites'],
    ['a suite id above 0xffff', { cipherSuites: [{ kdfId: 0x10000, aeadId: 1 }] }, 'cipher_suites'],
    ['a missing suite', { cipherSuites: [null as any] }, 'cipher_suites'],
    ['maximum_name_length 256', { maximumNameLength: 256 }, 'maximum_name_length'],
    ['an empty public_name', { publicName: '' }, 'public_name'],
    ['a public_name that is not a string', { publicName: 5 as any }, 'public_name'],
    ['an IPv4 public_name', { publicName: '10.0.0.1' }, 'public_name'],
    ['a public_name with a space', { publicName: 'a b.example' }, 'public_name'],
    ['a 256-character public_name', { publicName: 'a'.repeat(256) }, 'public_name'],
    ['extensions that are not an array', { extensions: 5 as any }, 'extensions'],
    ['an extension type above 0xffff', { extensions: [{ type: 0x10000, data: new Uint8Array(0) }] }, 'extension.type'],
    ['extension data that is not bytes', { extensions: [{ type: 1, data: 'x' as any }] }, 'extension.data'],
    ['duplicate extension types', { extensions: [{ type: 1, data: new Uint8Array(0) }, { type: 1, data: new Uint8Array(1) }] }, 'extensions'],
    ['more than 65535 bytes of extensions', { extensions: [{ type: 1, data: new Uint8Array(40000) }, { type: 2, data: new Uint8Array(40000) }] }, 'extensions'],
    ['contents over 65535 bytes', { kemId: 0x6666, publicKey: new Uint8Array(0xffff) }, 'ECHConfig.length']
  ]
  for (const [name, fields, field] of bad) {
    it(`refuses ${name} → ${field}`, () => {
      const input = fields === null ? null : { ...base, ...fields }
      expect(() => createEchConfig(input as any)).to.throw(EchConfigError).with.property('field', field)
    })
  }
})
