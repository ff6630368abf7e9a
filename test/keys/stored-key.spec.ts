import { expect } from 'aegir/chai'
import { encodeEchConfigList } from '../../src/config/codec.js'
import { generateEchKey } from '../../src/keys/generate.js'
import { decodeStoredEchKey, decodeStoredEchKeyRecord, encodeStoredEchKey } from '../../src/keys/stored-key.js'

function expectThrows (fn: () => unknown, name: string, why: string): void {
  try {
    fn()
  } catch (err: any) {
    expect(err.name).to.equal(name, why)
    return
  }
  expect.fail(`expected ${name}: ${why}`)
}

describe('keys/stored-key', () => {
  it('round-trips a key with its creation time', async () => {
    const key = await generateEchKey({ createdAt: 1_700_000_000_123 })
    const back = decodeStoredEchKey(encodeStoredEchKey(key))
    expect(back.createdAt).to.equal(1_700_000_000_123)
    expect(back.configList).to.equalBytes(key.configList)
    expect(back.privateKey.exportSecret()).to.equalBytes(key.privateKey.exportSecret())
  })

  it('round-trips a retired key\'s explicit expiry as version 2, and reads version 1 without one', async () => {
    const key = await generateEchKey({ createdAt: 1_700_000_000_123 })
    const v2 = encodeStoredEchKey(key, { expiresAt: 1_700_000_999_000 })
    expect(v2[0]).to.equal(2)
    const back = decodeStoredEchKeyRecord(v2)
    expect(back.expiresAt).to.equal(1_700_000_999_000)
    expect(back.key.createdAt).to.equal(1_700_000_000_123)
    expect(back.key.privateKey.exportSecret()).to.equalBytes(key.privateKey.exportSecret())
    expect(decodeStoredEchKey(v2).config.raw).to.equalBytes(key.config.raw)
    const v1 = encodeStoredEchKey(key)
    expect(v1[0]).to.equal(1)
    expect(decodeStoredEchKeyRecord(v1)).to.not.have.property('expiresAt')
    for (const expiresAt of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expectThrows(() => encodeStoredEchKey(key, { expiresAt }), 'EchKeyOptionsError', String(expiresAt))
    }
    expectThrows(() => encodeStoredEchKey({ ...key, createdAt: -1 }), 'EchKeyOptionsError', 'negative createdAt')
    const oversized = { ...key, privateKey: { ...key.privateKey, exportSecret: () => new Uint8Array(0x10000) } }
    expectThrows(() => encodeStoredEchKey(oversized), 'EchKeyOptionsError', 'a secret over the uint16 length')
    const hugeExpiry = v2.slice()
    hugeExpiry.fill(0xff, 9, 17)
    expectThrows(() => decodeStoredEchKeyRecord(hugeExpiry), 'EchKeyDecodeError', 'expiry beyond 2^53')
    expectThrows(() => decodeStoredEchKeyRecord(v2.subarray(0, 18)), 'EchKeyDecodeError', 'truncated version 2')
    expectThrows(() => decodeStoredEchKeyRecord(v1.subarray(0, 1)), 'EchKeyDecodeError', 'version byte only')
  })

  it('reads from a subarray of a larger buffer', async () => {
    const key = await generateEchKey()
    const stored = encodeStoredEchKey(key)
    const big = new Uint8Array(stored.length + 10)
    big.set(stored, 5)
    expect(decodeStoredEchKey(big.subarray(5, 5 + stored.length)).config.raw).to.equalBytes(key.config.raw)
  })

  it('refuses malformed records', async () => {
    const key = await generateEchKey()
    const other = await generateEchKey()
    const good = encodeStoredEchKey(key)
    const mutate = (f: (b: Uint8Array) => void): Uint8Array => { const b = good.slice(); f(b); return b }
    const twoConfigs = new Uint8Array([...good.subarray(0, 11 + 32), ...encodeEchConfigList([key.config, other.config])])
    const cases: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      truncated: good.subarray(0, 10),
      version: mutate(b => { b[0] = 9 }),
      createdAt: mutate(b => { b.fill(0xff, 1, 9) }),
      zeroSecret: mutate(b => { b[9] = 0; b[10] = 0 }),
      longSecret: mutate(b => { b[9] = 0xff }),
      shortSecret: mutate(b => { b[10] = 31 }),
      list: good.subarray(0, good.length - 1),
      // byte 11 is the first secret byte, whose low bits X25519 clamps away (RFC 7748 §5)
      wrongSecret: mutate(b => { b[12] ^= 1 }),
      twoConfigs
    }
    for (const [why, bytes] of Object.entries(cases)) {
      expectThrows(() => decodeStoredEchKey(bytes), 'EchKeyDecodeError', why)
    }
    expectThrows(() => decodeStoredEchKey('x' as any), 'EchKeyDecodeError', 'not bytes')
  })
})
